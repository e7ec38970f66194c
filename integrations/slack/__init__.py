"""Slack adapter: Events API, slash commands and interactivity on one URL, or Socket Mode."""
