"""Production commands: the work orders (生产工单) make-to-order lines create, and a lead's steps."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_
from bot.labels import status, work_order_status
from bot.production import open_card_of
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.production import service

MO = "MO-"
STEPS = {
    "release": (service.release, N_("{mo_no} is released to production.")),
    "start": (service.start, N_("{mo_no} is in production.")),
    "done": (service.finish, N_("{mo_no} is done: its goods are in stock for {order_no}.")),
}
PURCHASE_STATUS = {"open": N_("open"), "received": N_("received"), "cancelled": N_("cancelled")}
WORDS = {"下达": "release", "开工": "start", "完工": "done", "取消": "cancel", "查看": "show", "全部": "all"}


def work_order_text(chat: Chat, d: dict[str, Any]) -> str:
    _ = chat._
    lines = [
        _(
            "*{mo_no}* · {status} · {sku} {name} ×{qty} for {order_no} (warehouse {warehouse})",
            mo_no=d["mo_no"],
            status=work_order_status(_, d["status"]),
            sku=d["sku"],
            name=d["name"],
            qty=d["qty"],
            order_no=d["order_no"],
            warehouse=d["warehouse"],
        )
    ]
    for m in d["materials"]:
        text = _(
            "{sku} {name}: {required} needed, {reserved} reserved",
            sku=m["sku"],
            name=m["name"],
            required=m["required"],
            reserved=m["reserved"],
        )
        if m["short"]:
            text += " · " + _("{short} short", short=m["short"])
        if m["made"]:
            text += " · " + _("{made} made here", made=m["made"])
        lines.append(text)
    for r in d["purchase_requests"]:
        shown = _(PURCHASE_STATUS.get(r["status"], r["status"]))
        lines.append(_("Purchase request: {sku} ×{qty} ({status})", sku=r["sku"], qty=r["qty"], status=shown))
    return "\n".join(lines)


def mo_no_arg(chat: Chat, word: str) -> str:
    if not word.upper().startswith(MO):
        raise chat.usage()
    return word.upper()


@command(
    "mo",
    "工单",
    usage=N_("/mo [all] | /mo MO-100001 | /mo release|start|done MO-100001 | /mo cancel MO-100001 reason"),
    summary=N_("Work orders: list, show, release, start, done, cancel"),
    permission=(Permission.PRODUCTION, Permission.STOCK_VIEW),
)
async def mo(chat: Chat, args: list[str]) -> list[Reply]:
    words = [WORDS.get(a, a.lower()) if i == 0 else a for i, a in enumerate(args)]
    if not words or words[0] == "all":
        if len(words) > 1:
            raise chat.usage()
        rows = await chat.services.query(chat.actor, lambda ctx: service.list_work_orders(ctx, all_states=bool(words)))
        if not rows:
            return chat.say("No open work orders.")
        _ = chat._
        lines = [
            f"{r['mo_no']} · {work_order_status(_, r['status'])} · {r['sku']} ×{r['qty']} · {r['order_no']}"
            for r in rows
        ]
        return [Reply(text=_("Work orders:") + "\n" + "\n".join(lines))]
    if words[0].upper().startswith(MO) or words[0] == "show":
        no = mo_no_arg(chat, words[0] if words[0] != "show" else (words[1:] or [""])[0])
        return await show(chat, no)
    if len(words) < 2:
        raise chat.usage()
    step, no = words[0], mo_no_arg(chat, words[1])
    if step == "cancel":
        reason = " ".join(words[2:])
        await chat.services.run(chat.actor, lambda ctx: service.cancel(ctx, no, reason))
        return chat.say("{mo_no} is cancelled; its materials are released.", mo_no=no)
    if step not in STEPS or len(words) != 2:
        raise chat.usage()
    perform, said = STEPS[step]
    await chat.services.run(chat.actor, lambda ctx: perform(ctx, no))
    detail = await chat.services.query(chat.actor, lambda ctx: service.work_order_detail(ctx, no))
    replies = chat.say(said, mo_no=no, order_no=detail["order_no"])
    if step == "done":
        now = status(chat._, detail["order_status"])
        replies += chat.say("{order_no} is now {status}.", order_no=detail["order_no"], status=now)
    return replies


async def show(chat: Chat, no: str) -> list[Reply]:
    detail = await chat.services.query(chat.actor, lambda ctx: service.work_order_detail(ctx, no))
    replies = [Reply(text=work_order_text(chat, detail))]
    card_id = await chat.services.query(chat.actor, lambda ctx: open_card_of(ctx, no))
    if card_id is not None:
        replies.append(Reply(card_id=card_id))
    return replies
