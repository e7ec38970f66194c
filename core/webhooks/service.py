"""Adding, listing and removing webhook endpoints, and what a replay or a delivery needs of them.

Everything here is the endpoints' own table; writing the outbox rows is the chat layer's
(``bot.reactions.webhooks``), which calls in here for who subscribed. Every delivered event asks
that, so the enabled endpoints are kept as a process-local copy (``core.db.stamp``), read again
once any transaction, in any process, adds, removes, disables or enables one.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from core.audit.models import DomainEvent
from core.auth import Permission
from core.context import Context
from core.db.stamp import Copies
from core.events.catalogue import EVENTS, Event
from core.events.store import UnknownEvent, rebuild
from core.webhooks.envelope import event_id_text
from core.webhooks.errors import (
    WebhookEndpointExists,
    WebhookEndpointNotFound,
    WebhookEventNotFound,
    WebhookEventsMissing,
    WebhookEventUnknown,
    WebhookNameInvalid,
    WebhookUrlInvalid,
)
from core.webhooks.models import WebhookEndpoint

ALL = "*"
SECRET_PREFIX = "whsec_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key: the decoded bytes after ``whsec_``."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise WebhookUrlInvalid(url=url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 1000 or any(c.isspace() for c in url):
        raise WebhookUrlInvalid(url=url)
    return url


def check_events(names: Iterable[str]) -> list[str]:
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        raise WebhookEventsMissing()
    if ALL in wanted:
        return [ALL]
    for name in wanted:
        if name not in EVENTS:
            raise WebhookEventUnknown(event=name, known=sorted(EVENTS))
    return list(dict.fromkeys(wanted))


async def add_endpoint(ctx: Context, name: str, url: str, events: Iterable[str]) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (shown once by the caller; stored for signing)."""
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    if not NAME.fullmatch(name):
        raise WebhookNameInvalid(name=name)
    url, subscribed = check_url(url), check_events(events)
    if await _by_name(ctx, name) is not None:
        raise WebhookEndpointExists(name=name)
    endpoint = WebhookEndpoint(name=name, url=url, events=subscribed, secret=new_secret(), created_at=ctx.now())
    ctx.session.add(endpoint)
    await ctx.session.flush()
    return endpoint


async def list_endpoints(ctx: Context) -> list[WebhookEndpoint]:
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    return list(await ctx.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.name)))


async def remove_endpoint(ctx: Context, name: str) -> None:
    """Gone at once: what is still queued for it is dropped when it comes up (nobody is told)."""
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    endpoint = await _by_name(ctx, name)
    if endpoint is None:
        raise WebhookEndpointNotFound(name=name)
    await ctx.session.delete(endpoint)


async def enable_endpoint(ctx: Context, name: str) -> WebhookEndpoint:
    """Back on after a 410 (or a fix on the receiver's side): new events reach it again."""
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    endpoint = await _by_name(ctx, name)
    if endpoint is None:
        raise WebhookEndpointNotFound(name=name)
    endpoint.disabled_at, endpoint.disabled_reason = None, None
    return endpoint


async def find_endpoint(ctx: Context, name: str) -> WebhookEndpoint | None:
    return await _by_name(ctx, name)


@dataclass(frozen=True)
class Subscriber:
    """An enabled endpoint as a delivery names it (never its secret: the sender reads that)."""

    id: int
    name: str
    created_at: datetime
    events: tuple[str, ...]


_ENABLED = Copies()


def subscribes(endpoint: WebhookEndpoint | Subscriber, event_name: str) -> bool:
    return ALL in endpoint.events or event_name in endpoint.events


async def subscribed(ctx: Context, event_name: str) -> list[Subscriber]:
    """The enabled endpoints that want ``event_name``, in the order they were added."""

    async def load() -> tuple[Subscriber, ...]:
        rows = await ctx.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.name, WebhookEndpoint.created_at, WebhookEndpoint.events)
            .where(WebhookEndpoint.disabled_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
        return tuple(Subscriber(id, name, created_at, tuple(events)) for id, name, created_at, events in rows)

    # Per database (a process may serve more than one: the tests, a second ``Services``).
    key = (str(ctx.session.sync_session.get_bind().url), "enabled")
    return [e for e in await _ENABLED.get(ctx.session, key, load) if subscribes(e, event_name)]


async def event_to_replay(ctx: Context, event_id: int) -> Event:
    """The stored event ``event_id``, rebuilt as it was recorded (refused if there is none)."""
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    row = await ctx.session.get(DomainEvent, event_id)
    if row is None:
        raise WebhookEventNotFound(event_id=event_id_text(event_id))
    try:
        return rebuild(row)
    except UnknownEvent:
        raise WebhookEventNotFound(event_id=event_id_text(event_id)) from None


async def delivered(ctx: Context, name: str, at: datetime) -> None:
    endpoint = await _by_name(ctx, name)
    if endpoint is not None:
        endpoint.last_success_at = at


async def failed(ctx: Context, name: str, at: datetime, error: str, *, disable: bool = False) -> None:
    endpoint = await _by_name(ctx, name)
    if endpoint is None:
        return
    endpoint.last_failure_at, endpoint.last_error = at, error[:500]
    if disable and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = at, error[:500]


async def _by_name(ctx: Context, name: str) -> WebhookEndpoint | None:
    return await ctx.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == name))
