"""The message bus for domain events: every handler registered for an event's type, in order.

Each handler runs in a savepoint of its own, so one that fails is rolled back and logged with the
event's id and type, and the others still run (the cosmicpython message bus, asynchronously).
An event type with no handler is a wiring mistake: it is logged as an error here, and a unit test
makes it a failure long before production.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from core.context import Context
from core.events.catalogue import Event

log = logging.getLogger(__name__)
Handler = Callable[[Context, Any], Awaitable[None]]


class EventBus:
    def __init__(self, handlers: Mapping[type[Event], Sequence[Handler]]) -> None:
        self.handlers = {kind: tuple(found) for kind, found in handlers.items()}

    def handlers_for(self, kind: type[Event]) -> tuple[Handler, ...]:
        return self.handlers.get(kind, ())

    async def publish(self, ctx: Context, event: Event, *, event_id: int | None = None) -> int:
        """Run every handler of ``event``; returns how many failed."""
        handlers = self.handlers_for(type(event))
        if not handlers:
            log.error("event %s %s has no handler; nothing hears it", event_id, event.name)
        failed = 0
        for handler in handlers:
            try:
                async with ctx.session.begin_nested():
                    await handler(ctx, event)
            except Exception:
                failed += 1
                log.exception(
                    "event %s %s: handler %s failed; the others still run",
                    event_id,
                    event.name,
                    getattr(handler, "__qualname__", repr(handler)),
                )
        return failed
