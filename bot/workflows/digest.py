"""The daily digest: today's figures and where orders wait, to the configured roles, with today's
sales chart (by hour) attached, drawn once per language.

It is a durable timer like any other, one per day (keyed by date), so a restart neither skips
nor repeats it; each run schedules the next.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery import enqueue, locale_for, tell, users_with_role
from bot.handlers.general import stall_text, today_text
from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.reports import digest_chart
from bot.views import Attachment
from core.auth import Actor
from core.context import Context
from core.reports.daily import DailyFigures, today
from core.reports.stages import StallReport, stall_report
from core.services import Services
from core.timers.service import schedule

KIND = "digest.daily"


def next_occurrence(now: datetime, at: str, zone: str) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(ZoneInfo(zone))
    candidate = datetime.combine(local.date(), time(hour, minute), ZoneInfo(zone))
    return candidate if candidate > local else candidate + timedelta(days=1)


async def ensure_scheduled(services: Services) -> None:
    """Make sure the next digest has its timer (idempotent: the key is the date)."""
    if not (services.settings.digest_roles or services.settings.digest_chat):
        return
    async with services.unit_of_work(Actor.system("digest")) as ctx:
        await _schedule_next(ctx)


async def _schedule_next(ctx: Context) -> None:
    due = next_occurrence(ctx.now(), ctx.settings.digest_time, ctx.settings.timezone)
    await schedule(ctx, KIND, f"{KIND}:{due.date().isoformat()}", due)


def compose(_: Translator, figures: DailyFigures, stalls: StallReport, timezone: str) -> str:
    return "\n".join([_("Daily digest"), today_text(_, figures), stall_text(_, stalls, 1, timezone)])


async def send(ctx: Context, payload: dict[str, Any]) -> None:
    reader = Actor.system("digest")
    as_reader = Context(ctx.session, reader, ctx.settings, ctx.clock)
    figures = await today(as_reader)
    stalls = await stall_report(as_reader, days=1, top=3)
    charts: dict[str, Attachment] = {}

    async def chart(_: Translator) -> Attachment:
        if _.locale not in charts:
            charts[_.locale] = await digest_chart(as_reader, _)
        return charts[_.locale]

    for user in await users_with_role(ctx, *ctx.settings.digest_roles) if ctx.settings.digest_roles else []:
        for identity in user.identities:  # composed in each reader's language, then delivered as is
            _ = Translator(locale_for(user, identity.platform))
            text = compose(_, figures, stalls, ctx.settings.timezone)
            tell(ctx, [user], text, platforms={identity.platform}, attachment=await chart(_))
    if ctx.settings.digest_chat:
        platform, chat_id = ctx.settings.digest_chat.split(":", 1)
        _ = Translator(DEFAULT_BY_PLATFORM.get(platform, "en"))
        text = compose(_, figures, stalls, ctx.settings.timezone)
        enqueue(ctx, platform, chat_id, "send", {"text": text}, attachment=await chart(_))
    await _schedule_next(ctx)
