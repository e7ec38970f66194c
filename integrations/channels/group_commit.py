"""Storing deliveries as they arrive, many requests to one transaction.

A flash sale sends dozens of deliveries at once, and each is answered only once it is committed.
One transaction per request would make them queue for the database's one writer (SQLite) one by
one; instead, whatever arrives while a commit is under way is stored together in the next one,
and each request is answered when the transaction holding its delivery commits. Nothing is
acknowledged before it is durable, and a failed commit fails every request in it (the channels
send those again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from core.auth import Actor
from core.channels import inbox
from core.services import Services

Waiting = tuple[int, Sequence[inbox.Received], "asyncio.Future[None]"]


class InboxWriter:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.waiting: list[Waiting] = []
        self.flushing: asyncio.Task[None] | None = None

    async def quiet(self, longest: float = 0.5) -> None:
        """Wait (at most ``longest`` seconds) until no delivery is waiting to be stored: the worker
        asks before each order it makes, so a channel waiting for its answer goes first."""
        if self.flushing is not None and not self.flushing.done():
            await asyncio.wait({self.flushing}, timeout=longest)

    async def store(self, channel_id: int, deliveries: Sequence[inbox.Received]) -> None:
        """Return once ``deliveries`` are committed (raise if their transaction failed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((channel_id, deliveries, done))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        await asyncio.shield(done)  # a client hanging up must not cancel the others' commit

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                await self.services.run(
                    Actor.system("channels"), lambda ctx, b=batch: inbox.store_many(ctx, [(c, d) for c, d, _ in b])
                )
            except Exception as error:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)
