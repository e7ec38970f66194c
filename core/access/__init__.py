"""Who may use the web console: single-use sign-in links and the sessions they open."""
