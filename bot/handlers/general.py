"""Help, identity, language and the day's figures."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.i18n import normalise
from bot.labels import ROLES, money, status
from bot.router import Chat, command, visible_commands
from bot.views import Reply
from core.auth import Permission
from core.orders.models import Order
from core.users.models import User


@command("help", "帮助", usage="/help")
async def help_(chat: Chat, args: list[str]) -> list[Reply]:
    lines = [chat._("What you can do:")]
    for cmd in visible_commands(chat.actor):
        alias = f" ({' '.join('/' + a for a in cmd.aliases)})" if cmd.aliases else ""
        lines.append(f"{cmd.usage}{alias}")
    return [Reply(text="\n".join(lines))]


@command("whoami", "我是谁", usage="/whoami")
async def whoami(chat: Chat, args: list[str]) -> list[Reply]:
    roles = ", ".join(chat._(ROLES.get(r.value, r.value)) for r in sorted(chat.actor.roles))
    where = f" · {', '.join(sorted(chat.actor.warehouses))}" if chat.actor.warehouses else ""
    return chat.say("You are {name} ({roles}{where}).", name=chat.actor.name, roles=roles, where=where)


@command("lang", "语言", usage="/lang en|zh")
async def lang(chat: Chat, args: list[str]) -> list[Reply]:
    if not args:
        return chat.say("Usage: {usage}", usage="/lang en|zh")
    locale = normalise(args[0])

    async def store(ctx: Any) -> None:
        user = await ctx.session.get(User, chat.user_id)
        user.locale = locale

    await chat.services.run(chat.actor, store)
    chat.locale = locale
    chat.__post_init__()
    return chat.say("Language set to English.") if locale == "en" else chat.say("Language set to Chinese.")


@command("report", "报表", usage="/report today", permission=Permission.ORDER_APPROVE)
async def report(chat: Chat, args: list[str]) -> list[Reply]:
    zone = ZoneInfo(chat.services.settings.timezone)
    start = datetime.combine(datetime.now(zone).date(), time.min, zone)
    excluded = ("cancelled", "rejected")

    async def figures(ctx: Any) -> tuple[list[tuple[str, int]], Decimal, int]:
        by_status = list(
            (
                await ctx.session.execute(
                    select(Order.status, func.count()).where(Order.created_at >= start).group_by(Order.status)
                )
            ).all()
        )
        sales = await ctx.session.scalar(
            select(func.coalesce(func.sum(Order.total), 0)).where(
                Order.created_at >= start, Order.status.not_in(excluded)
            )
        )
        return by_status, Decimal(str(sales)), sum(n for _, n in by_status)

    by_status, sales, count = await chat.services.query(chat.actor, figures)
    lines = [chat._("Today: {count} orders, sales {sales}", count=count, sales=money(sales))]
    lines += [f"  {status(chat._, s)}: {n}" for s, n in sorted(by_status, key=lambda r: -r[1])]
    return [Reply(text="\n".join(lines))]
