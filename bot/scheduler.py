"""The one periodic job: fire due timers. APScheduler drives it; the timers themselves are rows.

APScheduler's own job store is not used for business timers (it must not be shared between
processes, and its misfire grace would skip reminders that fell due during a restart). It only
runs ``tick`` every second, with ``misfire_grace_time=None`` and coalescing, in each process.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import attachments
from bot.workflows import digest
from bot.workflows.timers import HANDLERS as APPROVAL_TIMERS
from core import idempotency, inbound
from core.access import signin
from core.auth import Actor
from core.channels import inbox as channel_inbox
from core.contracts import overdue as milestones
from core.orders import overdue
from core.rebates import settlement
from core.services import Services
from core.shipping import stalls, tracking
from core.timers.service import run_due

log = logging.getLogger(__name__)
HANDLERS = {
    **APPROVAL_TIMERS,
    digest.KIND: digest.send,
    overdue.KIND: overdue.check,
    stalls.KIND: stalls.sweep,
    settlement.KIND: settlement.on_timer,
    **milestones.HANDLERS,
}


async def tick(services: Services) -> int:
    """Fire the timers that are due; what they record is delivered by the event dispatcher."""
    return await run_due(services, HANDLERS)


async def housekeeping(services: Services) -> int:
    """Hourly: forget inbound event keys older than the de-duplication window, idempotency keys older
    than a day, console links and sessions that ended a day ago, channel deliveries that became
    orders or carrier pushes taken in a month ago, and the bytes of images and files sent into chat
    ``attachment_keep_days`` ago (idempotent, so several processes doing it is harmless)."""
    async with services.unit_of_work(Actor.system("housekeeping")) as ctx:
        pruned = await inbound.prune(ctx) + await idempotency.prune(ctx) + await signin.prune(ctx)
        pruned += await attachments.prune(ctx)
        return pruned + await channel_inbox.prune(ctx) + await tracking.prune(ctx)


def start(services: Services, *, every_seconds: float = 1.0) -> AsyncIOScheduler:
    """Start ticking now: timers that fell due while the server was down fire at once.

    The caller awaits ``digest.ensure_scheduled`` and ``stalls.ensure_scheduled`` first so the next
    digest and the next sweep for stalled parcels have their timers."""
    scheduler = AsyncIOScheduler(job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
    scheduler.add_job(
        tick, "interval", seconds=every_seconds, args=[services], id="timers", next_run_time=datetime.now(UTC)
    )
    scheduler.add_job(
        housekeeping, "interval", hours=1, args=[services], id="housekeeping", next_run_time=datetime.now(UTC)
    )
    scheduler.start()
    return scheduler
