"""Sales-channel commands: how each channel is doing, and teaching a channel one of our SKUs."""

from __future__ import annotations

from bot.handlers.orders import order_no_arg, show
from bot.i18n import N_, Translator
from bot.labels import clock
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.channels import fixes
from core.channels.status import ChannelHealth, health


@command(
    "channels",
    "渠道",
    usage=N_("/channels"),
    summary=N_("How each sales channel is doing"),
    permission=Permission.CHANNEL_VIEW,
)
async def channels(chat: Chat, args: list[str]) -> list[Reply]:
    if args:
        raise chat.usage()
    rows = await chat.services.query(chat.actor, health)
    if not rows:
        return chat.say("No sales channels yet: add a channels: section to the master-data file and run `oms load`.")
    return [Reply(text=channels_text(chat._, rows, chat.services.settings.timezone))]


def channels_text(_: Translator, rows: list[ChannelHealth], timezone: str) -> str:
    never = _("never")
    lines = [_("Sales channels:")]
    for c in rows:
        lines.append(
            _(
                "{code} ({kind}, {name}): last delivery {delivery}, last poll {poll}; waiting {backlog}, failed {dead}",
                code=c.code,
                kind=c.kind,
                name=c.name,
                delivery=clock(c.last_delivery_at, timezone) if c.last_delivery_at else never,
                poll=clock(c.last_poll_at, timezone) if c.last_poll_at else never,
                backlog=c.backlog,
                dead=c.dead,
            )
        )
        if c.missing:
            variable = ", ".join(c.missing)
            lines.append("  " + _("no secret set: deliveries are refused until {variable} is set", variable=variable))
        if not c.active:
            lines.append("  " + _("switched off in the master data"))
        if c.last_poll_error:
            lines.append("  " + _("the last poll failed: {error}", error=c.last_poll_error))
    return "\n".join(lines)


@command(
    "mapsku",
    "映射",
    usage=N_("/mapsku SO-100001 CHANNEL-SKU TEA-001"),
    summary=N_("Map a channel's SKU to ours on a held order (remembered)"),
    permission=Permission.ORDER_EDIT,
)
async def mapsku(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    if len(args) != 3:
        raise chat.usage()
    channel_sku, sku = args[1], args[2]
    await chat.services.run(chat.actor, lambda ctx: fixes.map_sku(ctx, no, channel_sku, sku))
    return chat.say(
        "{channel_sku} is now {sku} for this channel; {order_no} was checked again.",
        channel_sku=channel_sku.upper(),
        sku=sku.upper(),
        order_no=no,
    ) + await show(chat, no)
