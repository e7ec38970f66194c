"""Waiting for background work instead of sleeping: poll a condition up to a deadline, or wait
until what the adapters acknowledged has run and the outbox has sent what it queued."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.outbox.models import OutboxMessage, OutboxStatus
from core.services import Services
from integrations.web.background import Background


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``condition`` (plain or async) until it gives something truthy; what it gave."""
    deadline = time.monotonic() + timeout
    while not (result := await _value(condition())):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {condition}"
        await asyncio.sleep(0.02)
    return result


async def _value(result: Any) -> Any:
    return await result if asyncio.iscoroutine(result) else result


def background_work(app: web.Application) -> set[asyncio.Task[Any]]:
    """The tasks the app's adapters acknowledged and are still working on."""
    return {task for value in app.values() if isinstance(value, Background) for task in value.tasks}


async def unsent(services: Services) -> int:
    async with services.sessions() as session:
        return await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )


async def settled(app: web.Application, services: Services, timeout: float = 10.0) -> None:
    """Wait until the adapters' background work has finished and the outbox holds nothing unsent,
    so that what a test asserts next is what that work did (or did not do)."""
    deadline = time.monotonic() + timeout
    while True:
        if work := background_work(app):
            await asyncio.wait(work, timeout=max(0.0, deadline - time.monotonic()))
        elif not await unsent(services):
            return
        else:
            await asyncio.sleep(0.02)
        assert time.monotonic() < deadline, f"still working after {timeout}s"
