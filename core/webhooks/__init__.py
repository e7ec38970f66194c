"""Outbound webhooks: the endpoints that hear the domain events, signed per Standard Webhooks.

The endpoints and their health live here; the fan-out of a delivered event into outbox rows is the
chat layer's reaction (``bot.reactions.webhooks``), and the HTTP call its client
(``integrations.webhooks``)."""
