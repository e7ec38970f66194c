"""Who gets SQLite's one writing connection next: a brief write before the long ones waiting.

A process has one writing connection on SQLite (``core.db.engine``), and its pool hands it to the
waiting in the order they came. A console ``/order`` is answered from a reading connection, then
writes its two timeline rows; queued behind fifty Approve taps (a transition, its allocation and
its notifications each, 20-40 ms) it waited seconds for a millisecond's write. Here a checkout
made inside ``brief()`` waits behind the other brief ones only, ahead of everything else waiting:
the order among waiters changes, nothing else (the connection is taken at the same moment as
before, and a brief write carries no work of its own, so nobody waits long behind them).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.queue import AsyncAdaptedQueue

_BRIEF: ContextVar[bool] = ContextVar("brief_write", default=False)


@contextmanager
def brief() -> Iterator[None]:
    """The writes in this block are brief (a read-only command's exchange on the timeline)."""
    token = _BRIEF.set(True)
    try:
        yield
    finally:
        _BRIEF.reset(token)


def is_brief() -> bool:
    return _BRIEF.get()


class _HandOff:
    """The pool's idle connections, handed straight to those waiting in line: the brief ones first,
    each line in arrival order. (``asyncio.Queue`` puts a returned connection back on the queue
    and wakes the first waiter, and until it runs anyone who asks takes it: under load a turn that
    had waited lost its place again and again.) What SQLAlchemy's ``AsyncAdaptedQueue`` uses of
    ``asyncio.Queue``."""

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._idle: deque[Any] = deque()
        self._brief: deque[asyncio.Future[Any]] = deque()
        self._others: deque[asyncio.Future[Any]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: Any) -> None:
        for line in (self._brief, self._others):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(item)
                    return
        if self.full():
            raise asyncio.QueueFull
        self._idle.append(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._idle:
            raise asyncio.QueueEmpty
        return self._idle.popleft()

    async def get(self) -> Any:
        if self._idle:  # nobody waits while one is idle: it is handed over on its return
            return self._idle.popleft()
        waiter = asyncio.get_running_loop().create_future()
        line = self._brief if _BRIEF.get() else self._others
        line.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed over as it gave up: to the next in line
            else:
                with suppress(ValueError):
                    line.remove(waiter)
            raise


class _BriefFirstAdaptedQueue(AsyncAdaptedQueue):
    @property
    def _queue(self) -> _HandOff:  # type: ignore[override]
        # Made on first use, in the running loop, as SQLAlchemy's own (it memoizes in __dict__).
        queue = self.__dict__.get("_brief_first")
        if queue is None:
            queue = self.__dict__["_brief_first"] = _HandOff(maxsize=self.maxsize)
        return queue


class BriefFirstPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, with ``brief()`` checkouts served first."""

    _queue_class = _BriefFirstAdaptedQueue
