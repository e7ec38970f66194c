"""Every delivered domain event goes to the webhook endpoints that subscribed to it, via the outbox.

The event was written in the change's transaction; this reaction runs in the transaction that
delivers it (``bot.events.dispatcher``) and writes one outbox row per subscribed, enabled
endpoint. A crash anywhere leaves either the event undelivered (it is delivered again) or the rows
written (they are sent): at least once, never lost. The dispatcher sends only the oldest unsent
row of each "chat", and an endpoint's chat is one order (``shop-erp:SO-20261201-0001``), so an
endpoint hears an order's events in the order they happened while another order's go on; an
event about no order (``stock.low``) is its own chat (``shop-erp:stock.low``).

The row holds the envelope and the endpoint's name and id, never its secret: the client
(``integrations.webhooks``) reads the endpoint when it sends, signs, and records its health.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from bot.events.bus import current_event_id
from bot.i18n import N_
from bot.outbox.models import OutboxMessage, OutboxStatus
from core.auth import Permission
from core.context import Context
from core.db.bulk_rows import add_in_bulk
from core.events.catalogue import Event
from core.webhooks import service
from core.webhooks.envelope import envelope, event_id_text
from core.webhooks.errors import WebhookEndpointNotFound, WebhookNoEndpointForEvent
from core.webhooks.models import WebhookEndpoint

PLATFORM = "webhook"

DEAD_LETTER = N_(
    "Webhook {endpoint} gave up on event {event_id} ({event}) after {attempts} attempts: {reason}. "
    "Once the receiver is fixed, send it again with: oms webhook replay {event_id} --endpoint {endpoint}"
)


def recipient(endpoint_name: str, event: Event) -> str:
    """The outbox "chat": one per order (in order per order), else one per event type."""
    order_no = getattr(event, "order_no", None)
    return f"{endpoint_name}:{order_no}" if order_no else f"{endpoint_name}:{event.name}"


def _key_prefix(endpoint: WebhookEndpoint | service.Subscriber, event_id: int) -> str:
    # The endpoint's creation time too: SQLite may give a new endpoint a removed one's id.
    return f"webhook:{endpoint.id}.{int(endpoint.created_at.timestamp() * 1_000_000)}:{event_id}:"


def _queue(
    ctx: Context, endpoint: WebhookEndpoint | service.Subscriber, event_id: int, event: Event, copy: str
) -> None:
    """One row; ``copy`` is ``0`` for the event's delivery, ``r1``, ``r2``... for its replays."""
    payload: dict[str, Any] = {
        "endpoint": endpoint.name,
        "endpoint_id": endpoint.id,
        "envelope": envelope(event_id, event),
    }
    row = OutboxMessage(
        platform=PLATFORM,
        recipient=recipient(endpoint.name, event),
        kind="send",
        payload=payload,
        dedupe_key=f"{_key_prefix(endpoint, event_id)}{copy}",
        status=OutboxStatus.PENDING,
        next_attempt_at=ctx.now(),
        created_at=ctx.now(),
    )
    add_in_bulk(ctx.session, row)  # with the batch's other rows in one INSERT; read back by query only


async def fan_out(ctx: Context, event: Event) -> None:
    """The reaction registered for every event (``bot.events.registry``)."""
    event_id = current_event_id()
    if event_id is None:  # published without a stored row: it has no id to send
        return
    for endpoint in await service.subscribed(ctx, event.name):
        _queue(ctx, endpoint, event_id, event, copy="0")


async def replay(ctx: Context, event_id: int, endpoint_name: str | None = None) -> list[str]:
    """Queue stored event ``event_id`` again to its subscribed endpoints (or the one named, which
    gets it even if it did not subscribe); same envelope, same ``webhook-id``. The endpoints' names."""
    event = await service.event_to_replay(ctx, event_id)
    if endpoint_name is not None:
        endpoint = await service.find_endpoint(ctx, endpoint_name)
        if endpoint is None:
            raise WebhookEndpointNotFound(name=endpoint_name)
        if endpoint.disabled_at is not None:
            raise WebhookNoEndpointForEvent(event_id=event_id_text(event_id), event=event.name)
        targets: list[WebhookEndpoint | service.Subscriber] = [endpoint]
    else:
        targets = list(await service.subscribed(ctx, event.name))
    if not targets:
        raise WebhookNoEndpointForEvent(event_id=event_id_text(event_id), event=event.name)
    for endpoint in targets:
        replays = await ctx.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.startswith(f"{_key_prefix(endpoint, event_id)}r", autoescape=True))
        )
        _queue(ctx, endpoint, event_id, event, copy=f"r{(replays or 0) + 1}")
    return [e.name for e in targets]


@dataclass(frozen=True)
class EndpointHealth:
    name: str
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    pending: int  # queued or being sent
    dead: int  # gave up on (the admins were told)
    sent: int


async def health(ctx: Context) -> list[EndpointHealth]:
    ctx.actor.require(Permission.WEBHOOK_MANAGE)
    endpoints = await service.list_endpoints(ctx)
    found = []
    for e in endpoints:
        status = OutboxMessage.status
        counts = (
            await ctx.session.execute(
                select(
                    func.coalesce(func.sum(case((status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)), 1))), 0),
                    func.coalesce(func.sum(case((status == OutboxStatus.DEAD, 1))), 0),
                    func.coalesce(func.sum(case((status == OutboxStatus.SENT, 1))), 0),
                ).where(
                    OutboxMessage.platform == PLATFORM,
                    OutboxMessage.recipient.startswith(f"{e.name}:", autoescape=True),
                    OutboxMessage.payload["endpoint_id"].as_integer() == e.id,
                )
            )
        ).one()
        found.append(
            EndpointHealth(
                name=e.name,
                url=e.url,
                events=list(e.events),
                created_at=e.created_at,
                disabled_at=e.disabled_at,
                disabled_reason=e.disabled_reason,
                last_success_at=e.last_success_at,
                last_failure_at=e.last_failure_at,
                last_error=e.last_error,
                pending=int(counts[0]),
                dead=int(counts[1]),
                sent=int(counts[2]),
            )
        )
    return found
