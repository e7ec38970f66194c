"""The message bus for domain events: every handler registered for an event's type, in order.

Each handler runs in a savepoint of its own, so one that fails is rolled back and logged with the
event's id and type, and the others still run (the cosmicpython message bus, asynchronously).
A batch of events is first run with no savepoint of its own (``run_batch``): handlers almost never
fail, the caller's transaction or savepoint (the dispatcher's step, which also claimed the events)
is the batch's, and a savepoint pair per handler, then one per batch, was a fifth of an Approve
tap's statements. Only when a handler does fail is that step rolled back, the events claimed again
and run a handler per savepoint (``publish_each``), so the outcome is the same as before: the
failing handler undone alone, the others' work kept. A handler therefore may run twice when another
fails; what it does is in the database, undone in between.
An event type with no handler is a wiring mistake: it is logged as an error here, and a unit test
makes it a failure long before production.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from core.context import Context
from core.events.catalogue import Event

log = logging.getLogger(__name__)
Handler = Callable[[Context, Any], Awaitable[None]]
# The ``domain_event`` row being published, for a handler that names it outside (a webhook's id).
_EVENT_ID: ContextVar[int | None] = ContextVar("event_id", default=None)


def current_event_id() -> int | None:
    """The id of the stored event whose handlers are running (None for one published unstored)."""
    return _EVENT_ID.get()


@contextmanager
def _naming(event_id: int | None) -> Iterator[None]:
    token = _EVENT_ID.set(event_id)
    try:
        yield
    finally:
        _EVENT_ID.reset(token)


class BatchFailed(Exception):
    """A handler failed in a batch run without savepoints: roll the batch back, run it handler by
    handler."""

    def __init__(self, event_id: int | None, name: str) -> None:
        super().__init__(f"a handler of event {event_id} {name} failed in a batch")


class EventBus:
    def __init__(self, handlers: Mapping[type[Event], Sequence[Handler]]) -> None:
        self.handlers = {kind: tuple(found) for kind, found in handlers.items()}

    def handlers_for(self, kind: type[Event]) -> tuple[Handler, ...]:
        return self.handlers.get(kind, ())

    async def publish(self, ctx: Context, event: Event, *, event_id: int | None = None) -> int:
        """Run every handler of ``event``; returns how many failed."""
        with _naming(event_id):
            return await self._run(ctx, event, event_id, self._handlers_or_log(event, event_id))

    async def run_batch(self, ctx: Context, events: Iterable[tuple[Event, int | None]]) -> None:
        """Run every handler of each ``(event, event_id)`` in turn, in the caller's transaction; the
        first failure raises ``BatchFailed``, and the caller rolls back what the batch did."""
        for event, event_id in events:
            with _naming(event_id):
                for handler in self._handlers_or_log(event, event_id):
                    try:
                        await handler(ctx, event)
                    except Exception as error:
                        raise BatchFailed(event_id, event.name) from error

    async def publish_each(self, ctx: Context, events: Iterable[tuple[Event, int | None]]) -> int:
        """Run every handler of each ``(event, event_id)`` in a savepoint of its own; returns how
        many failed."""
        failed = 0
        for event, event_id in events:
            failed += await self.publish(ctx, event, event_id=event_id)
        return failed

    def _handlers_or_log(self, event: Event, event_id: int | None) -> tuple[Handler, ...]:
        handlers = self.handlers_for(type(event))
        if not handlers:
            log.error("event %s %s has no handler; nothing hears it", event_id, event.name)
        return handlers

    async def _run(self, ctx: Context, event: Event, event_id: int | None, handlers: tuple[Handler, ...]) -> int:
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
