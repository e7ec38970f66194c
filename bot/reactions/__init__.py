"""What the chat layer does when a domain event is delivered: cards, people told, workflow rules.

Handlers take the context and the typed event; ``bot.events.registry`` says which runs for which.
"""
