"""Answers to plain words (``bot.intents``): a customer asking where their order is hears its status
and each parcel's last scan; staff typing an order number alone get the ``/order`` view of it.

A customer only ever sees their own orders: ``order_detail`` answers another customer's number as
"does not exist", exactly as ``/order`` does. Staff asking "where is my order" have no order of
their own, so that stays the "Commands start with /" answer.
"""

from __future__ import annotations

from typing import Any

from bot.handlers.orders import scan_line, shipment_status_text, show
from bot.intents import OrderNumber, intent
from bot.labels import status
from bot.router import COMMANDS, Chat
from bot.views import Reply
from core.orders.views import order_detail, recent_orders
from core.shipping.carriers import BY_CODE


async def plain_words(chat: Chat, text: str) -> list[Reply] | None:
    """The answer to ``text`` typed without "/", or ``None`` when it is not something we understand."""
    asked = intent(text)
    if asked is None:
        return None
    if chat.actor.only_own_orders:
        return await _where(chat, asked.order_no)
    if isinstance(asked, OrderNumber):
        COMMANDS["order"].require(chat.actor)  # as if they had typed /order SO-…
        return await show(chat, asked.order_no)
    return None  # staff have no order of their own to ask about


async def _where(chat: Chat, order_no: str | None) -> list[Reply]:
    if order_no is None:
        latest = await chat.services.query(chat.actor, lambda ctx: recent_orders(ctx, limit=1))
        if not latest:
            return chat.say("You have no orders yet.")
        order_no = latest[0].order_no
    detail = await chat.services.query(chat.actor, lambda ctx: order_detail(ctx, order_no))
    return [Reply(text=where_text(chat, detail))]


def where_text(chat: Chat, d: dict[str, Any]) -> str:
    _ = chat._
    lines = [_("Your order *{order_no}*: {status}", order_no=d["order_no"], status=status(_, d["status"]))]
    if not d["shipments"]:
        lines.append(_("It has not shipped yet."))
    for s in d["shipments"]:
        carrier = BY_CODE[s["carrier"]].name(chat.locale) if s["carrier"] in BY_CODE else s["carrier"]
        lines.append(
            _(
                "Shipment {carrier} {tracking_no}: {status}",
                carrier=carrier,
                tracking_no=s["tracking_no"],
                status=shipment_status_text(chat, s),
            )
        )
        last = s.get("last_event")
        scanned = scan_line(chat, last["at"], last["location"], last["description"]) if last else None
        lines.append("  " + (scanned or _("No scans from the carrier yet.")))
    if d["shipments"]:
        lines.append(_("Send /track {order_no} for every scan.", order_no=d["order_no"]))
    return "\n".join(lines)
