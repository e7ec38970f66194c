"""Help, identity, language and the day's figures."""

from __future__ import annotations

from datetime import timedelta

from bot import reports
from bot.i18n import N_, Translator, normalise
from bot.labels import ROLES, moment, money, status
from bot.router import Chat, command, visible_commands
from bot.views import Reply
from core.access import signin
from core.auth import Permission
from core.reports.daily import DailyFigures
from core.reports.stages import StallReport, stall_report
from core.users.preferences import set_locale

MAX_REPORT_DAYS = 3660  # /report stalls looks back at most ten years


@command("help", "帮助", usage=N_("/help"), summary=N_("What you can do here"), reads_only=True)
async def help_(chat: Chat, args: list[str]) -> list[Reply]:
    lines = [chat._("What you can do:")]
    for cmd in visible_commands(chat.actor):
        alias = f" ({' '.join('/' + a for a in cmd.aliases)})" if cmd.aliases else ""
        lines.append(f"{chat._(cmd.usage)}{alias}")
    return [Reply(text="\n".join(lines))]


@command("whoami", "我是谁", usage=N_("/whoami"), summary=N_("Who the bot thinks you are"), reads_only=True)
async def whoami(chat: Chat, args: list[str]) -> list[Reply]:
    roles = ", ".join(chat._(ROLES.get(r.value, r.value)) for r in sorted(chat.actor.roles))
    where = f" · {', '.join(sorted(chat.actor.warehouses))}" if chat.actor.warehouses else ""
    return chat.say("You are {name} ({roles}{where}).", name=chat.actor.name, roles=roles, where=where)


@command("lang", "语言", usage=N_("/lang en|zh"), summary=N_("Switch language (en or zh)"))
async def lang(chat: Chat, args: list[str]) -> list[Reply]:
    if not args:
        raise chat.usage()
    locale = normalise(args[0])
    await chat.services.run(chat.actor, lambda ctx: set_locale(ctx, chat.user_id, locale))
    chat.locale = locale
    chat.__post_init__()
    return chat.say("Language set to English.") if locale == "en" else chat.say("Language set to Chinese.")


@command("console", "控制台", usage=N_("/console"), summary=N_("A sign-in link for the web console"))
async def console(chat: Chat, args: list[str]) -> list[Reply]:
    """Sent privately: whoever holds the link can act as this person for the next few minutes."""
    if not chat.services.settings.public_url:
        return chat.say(
            "The web console's address is not set up (OMS_PUBLIC_URL). Ask an admin for a sign-in link: "
            "`oms console link {name}`.",
            name=chat.actor.name,
        )
    link = await _signin_link(chat, "")
    minutes = chat.services.settings.signin_link_minutes
    return [Reply(text=chat._(CONSOLE_LINK, minutes=minutes, link=link), private=True)]


@command(
    "dashboard",
    "看板",
    usage=N_("/dashboard"),
    summary=N_("A link to the live dashboard"),
    permission=Permission.REPORT_VIEW,
)
async def dashboard(chat: Chat, args: list[str]) -> list[Reply]:
    """The console's sign-in link, leading to the dashboard once used; in the open demo console
    (loopback, nobody signs in) simply its address."""
    settings = chat.services.settings
    if settings.console_mode == "open":
        base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        return chat.say("The live dashboard: {link}", link=f"{base}/dashboard")
    if not settings.public_url:
        return chat.say(
            "The dashboard's address is not set up (OMS_PUBLIC_URL). Ask an admin for a sign-in link: "
            "`oms console link {name}`, then open /dashboard.",
            name=chat.actor.name,
        )
    link = await _signin_link(chat, "&next=dashboard")
    minutes = settings.signin_link_minutes
    return [Reply(text=chat._(DASHBOARD_LINK, minutes=minutes, link=link), private=True)]


CONSOLE_LINK = N_(
    "Your sign-in link for the web console. It works once, for {minutes} minutes; do not pass it on:\n{link}"
)
DASHBOARD_LINK = N_("Your link to the live dashboard. It works once, for {minutes} minutes; do not pass it on:\n{link}")


async def _signin_link(chat: Chat, then: str) -> str:
    token = await chat.services.run(chat.actor, lambda ctx: signin.issue_link(ctx, chat.user_id, chat.platform))
    return f"{chat.services.settings.public_url.rstrip('/')}/console/signin?token={token}{then}"


@command(
    "report",
    "报表",
    usage=N_("/report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [by line|region|sales|channel] | stalls [days]"),
    summary=N_("Sales figures with a chart, or stalled orders"),
    permission=Permission.REPORT_VIEW,
    reads_only=True,  # a year's figures take a second: read (and drawn) off SQLite's one writer
)
async def report(chat: Chat, args: list[str]) -> list[Reply]:
    """Sales for today, 7 or 30 days or a date range (``2026-11-01..2026-11-30``), over time or by
    a breakdown. Sales are accepted goods orders (``core.reports.figures``); project contracts are
    not sales here and have their own report, ``/projects``."""
    which = args[0].lower() if args else "today"
    if which in ("stalls", "卡点", "stall"):
        if len(args) > 2 or (len(args) == 2 and not args[1].isdecimal()):
            raise chat.usage()
        days = int(args[1]) if len(args) == 2 else 7
        if not 1 <= days <= MAX_REPORT_DAYS:
            raise chat.usage()
        stalls = await chat.services.query(chat.actor, lambda ctx: stall_report(ctx, days=days))
        return [Reply(text=stall_text(chat._, stalls, days, chat.services.settings.timezone))]
    request = reports.parse(args)
    if request is None:
        raise chat.usage()
    return await chat.services.query(chat.actor, lambda ctx: reports.report(ctx, chat._, request))


def today_text(_: Translator, figures: DailyFigures) -> str:
    lines = [_("Today: {count} orders, sales {sales}", count=figures.orders, sales=money(figures.sales))]
    if figures.by_status:  # what came in, sales or not yet (on hold, for approval) or no longer
        lines.append(_("Entered today, by status:"))
    return "\n".join(lines + [f"  {status(_, s)}: {n}" for s, n in figures.by_status])


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"


def stall_text(_: Translator, report: StallReport, days: int, timezone: str) -> str:
    lines = [_("Where orders waited, last {days} days (average / 90th percentile):", days=days)]
    lines += [f"  {status(_, s.status)}: {_hours(s.average)} / {_hours(s.p90)} ({s.stays})" for s in report.stages]
    if report.longest:
        lines.append(_("Waiting longest:"))
        lines += [f"  {w.order_no} · {status(_, w.status)} · {_hours(w.waited)}" for w in report.longest]
    if report.parcels:
        lines.append(_("Parcels with no news from the carrier:"))
        lines += [
            "  "
            + _(
                "{order_no} · {carrier} {tracking_no} · quiet since {time}",
                order_no=p.order_no,
                carrier=p.carrier,
                tracking_no=p.tracking_no,
                time=moment(p.quiet_since, timezone),
            )
            for p in report.parcels
        ]
    return "\n".join(lines)
