"""Outbound webhooks: the outbox client that POSTs each event, signed per Standard Webhooks."""

from __future__ import annotations

from aiohttp import web

from integrations.web import outbox
from integrations.web.app import SERVICES
from integrations.webhooks.client import WebhookClient


def mount(app: web.Application) -> None:
    """Not an adapter (returns no name): the webhook client joins the outbox (mounted after this).
    With no endpoint added nothing is ever queued for it."""
    outbox.register(app, WebhookClient(app[SERVICES]))
