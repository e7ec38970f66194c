"""Work an adapter has acknowledged and finishes after its answer went out.

Platforms want an answer within seconds (Slack 3 s, WeCom 5 s) and retry when it is late, so every
adapter answers first and acts after. The tasks are kept referenced (a bare ``create_task`` may be
collected mid-way), their failures logged, and on shutdown they get a grace period to finish
before they are cancelled, so a deploy does not cut an approval in half.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)
DRAIN_SECONDS = 5.0


class Background:
    def __init__(self, name: str) -> None:
        self.name = name
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s work failed", self.name, exc_info=task.exception())

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Let what is running finish for ``seconds``, then cancel the rest."""
        if not self.tasks:
            return
        _, late = await asyncio.wait(set(self.tasks), timeout=seconds)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task
