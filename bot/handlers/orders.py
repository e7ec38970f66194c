"""Order commands: enter, look up, approve, reject, pay, cancel, return."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_
from bot.items import counted_item, parse_line_items
from bot.labels import (
    exception_reason,
    moment,
    money,
    payment,
    review_reason,
    shipment_status,
    status,
    work_order_status,
)
from bot.options import discount, payment_terms, split_options
from bot.projects import contract_lines
from bot.queues import approval_cards, exception_cards
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.orders import cancellation, confirmation, fulfilment, payments, returns
from core.orders.brief import order_brief
from core.orders.placement import DraftLine, OrderDraft, OrderEdit, edit_order, place_order
from core.orders.status import PaymentTerms
from core.orders.views import recent_orders, tracking_timeline

ORDER_NO = "SO-"


def shipment_status_text(chat: Chat, s: dict[str, Any]) -> str:
    text = shipment_status(chat._, s["status"])
    if s["status"] == "exception":
        text += f" ({exception_reason(chat._, s.get('exception_reason'))})"
    return text


def scan_line(chat: Chat, at: str, location: str | None, description: str | None) -> str:
    when = moment(at, chat.services.settings.timezone)
    return " ".join(part for part in (when, location or "", description or "") if part)


def order_text(chat: Chat, d: dict[str, Any]) -> str:
    _ = chat._
    head = _("*{order_no}* · {status}", order_no=d["order_no"], status=status(_, d["status"]))
    if d.get("channel_order_no"):
        head += " · " + _(
            "{channel} order {channel_order_no}", channel=d["channel"], channel_order_no=d["channel_order_no"]
        )
    terms = payment(_, d["payment_terms"])
    body = _(
        "Customer: {customer} · Total: {total} {currency} · Payment: {payment} ({terms})",
        customer=d["customer"]["name"],
        total=money(d["total"]),
        currency=d["currency"],
        payment=payment(_, d["payment_status"]),
        terms=terms,
    )
    lines = []
    for line in d["lines"]:
        where = ", ".join(f"{a['warehouse']}×{a['qty']}" for a in line["allocations"])
        lines.append(
            f"{line['sku']} {line['name']} ×{line['qty']} @ {money(line['unit_price'])}"
            + (f" ({where})" if where else "")
        )
    if d.get("contract"):
        lines = contract_lines(_, d["contract"], d["order_no"])
    extra = [_("On hold ({code}): {message}", code=r["code"], message=r["message"]) for r in d["hold_reasons"]]
    if d["status"] == "pending_approval" and d.get("review_reason"):
        extra.append(_("Waiting for approval: {reason}", reason=review_reason(_, d["review_reason"])))
    for w in d.get("work_orders", []):
        extra.append(
            _(
                "Work order {mo_no}: {qty} {sku}, {status}",
                mo_no=w["mo_no"],
                qty=w["qty"],
                sku=w["sku"],
                status=work_order_status(_, w["status"]),
            )
        )
    for s in d["shipments"]:
        extra.append(
            _(
                "Shipment {carrier} {tracking_no}: {status}",
                carrier=s["carrier"],
                tracking_no=s["tracking_no"],
                status=shipment_status_text(chat, s),
            )
        )
        if last := s.get("last_event"):
            extra.append("  " + scan_line(chat, last["at"], last["location"], last["description"]))
    return "\n".join([head, body, *lines, *extra])


async def show(chat: Chat, order_no: str) -> list[Reply]:
    brief = await chat.services.query(chat.actor, lambda ctx: order_brief(ctx, order_no))
    return [Reply(text=order_text(chat, brief))]


def order_no_arg(chat: Chat, args: list[str]) -> str:
    if not args or not args[0].upper().startswith(ORDER_NO):
        raise chat.usage()
    return args[0].upper()


@command(
    "neworder",
    "下单",
    usage=N_("/neworder C001 TEA-001*2 CUP-01*1 pay=credit coupon=SPRING10 discount=5 address=office"),
    summary=N_("Place an order"),
    permission=Permission.ORDER_CREATE,
)
async def neworder(chat: Chat, args: list[str]) -> list[Reply]:
    words, options = split_options(args, ("pay", "coupon", "discount", "address", "note"))
    if len(words) < 2:
        raise chat.usage()
    draft = OrderDraft(
        customer=words[0],
        lines=tuple(DraftLine(sku, qty) for sku, qty in parse_line_items(words[1:])),
        payment_terms=payment_terms(options, PaymentTerms.PREPAID),
        coupon=options.get("coupon"),
        discount_percent=discount(options),
        address_label=options.get("address"),
        note=options.get("note"),
    )
    order = await chat.services.run(chat.actor, lambda ctx: place_order(ctx, draft))
    return await show(chat, order.order_no)


@command(
    "order",
    "查单",
    usage=N_("/order SO-100001"),
    summary=N_("Look up an order"),
    permission=Permission.ORDER_VIEW,
    reads_only=True,
)
async def order(chat: Chat, args: list[str]) -> list[Reply]:
    if args:
        return await show(chat, order_no_arg(chat, args))
    rows = await chat.services.query(chat.actor, recent_orders)
    if not rows:
        return chat.say("No orders yet. Try /neworder or /help.")
    lines = [f"{r.order_no} · {status(chat._, r.status)} · {money(r.total)}" for r in rows]
    return [Reply(text=chat._("Recent orders:") + "\n" + "\n".join(lines))]


@command(
    "track",
    "物流",
    usage=N_("/track SO-100001"),
    summary=N_("Where an order's parcels are: each carrier scan"),
    permission=Permission.ORDER_VIEW,
)
async def track(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    parcels = await chat.services.query(chat.actor, lambda ctx: tracking_timeline(ctx, no))
    if not parcels:
        return chat.say("{order_no} has not shipped yet.", order_no=no)
    _ = chat._
    out = [_("*{order_no}* tracking", order_no=no)]
    for p in parcels:
        out.append(
            _(
                "Shipment {carrier} {tracking_no}: {status}",
                carrier=p["carrier"],
                tracking_no=p["tracking_no"],
                status=shipment_status_text(chat, p),
            )
        )
        if not p["events"]:
            out.append("  " + _("No scans from the carrier yet."))
        for e in reversed(p["events"]):  # newest first, as carriers show it
            words = e["description"] or shipment_status(_, e["status"])
            out.append("  " + scan_line(chat, e["at"], e["location"], words))
    return [Reply(text="\n".join(out))]


@command(
    "approvals",
    "待审批",
    usage=N_("/approvals"),
    summary=N_("Orders waiting for your approval"),
    permission=Permission.ORDER_APPROVE,
)
async def approvals(chat: Chat, args: list[str]) -> list[Reply]:
    ids = await chat.services.run(chat.actor, approval_cards)
    if not ids:
        return chat.say("Nothing waits for approval.")
    return [Reply(text=chat._("Waiting for approval: {count}", count=len(ids)))] + [Reply(card_id=i) for i in ids]


@command(
    "exceptions",
    "异常",
    usage=N_("/exceptions"),
    summary=N_("Parcels with a delivery problem, the longest waiting first"),
    permission=(Permission.ORDER_EDIT, Permission.REPORT_VIEW),
)
async def exception_queue(chat: Chat, args: list[str]) -> list[Reply]:
    ids = await chat.services.run(chat.actor, exception_cards)
    if not ids:
        return chat.say("No parcel has a delivery problem.")
    return [Reply(text=chat._("Delivery problems: {count}", count=len(ids)))] + [Reply(card_id=i) for i in ids]


@command(
    "approve",
    "批准",
    "审批",
    usage=N_("/approve SO-100001"),
    summary=N_("Approve an order"),
    permission=Permission.ORDER_APPROVE,
)
async def approve(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    await chat.services.run(chat.actor, lambda ctx: confirmation.approve(ctx, no, note=" ".join(args[1:]) or None))
    return chat.say("Approved {order_no}.", order_no=no) + await show(chat, no)


@command(
    "reject",
    "驳回",
    usage=N_("/reject SO-100001 reason"),
    summary=N_("Reject an order with a reason"),
    permission=Permission.ORDER_APPROVE,
)
async def reject(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    reason = " ".join(args[1:])
    await chat.services.run(chat.actor, lambda ctx: confirmation.reject(ctx, no, reason))
    return chat.say("Rejected {order_no}: {reason}", order_no=no, reason=reason)


@command(
    "pay",
    "付款",
    usage=N_("/pay SO-100001 [reference]"),
    summary=N_("Record a payment"),
    permission=Permission.PAYMENT_CONFIRM,
)
async def pay(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    await chat.services.run(
        chat.actor, lambda ctx: payments.confirm_payment(ctx, no, reference=" ".join(args[1:]) or None)
    )
    return chat.say("Payment for {order_no} confirmed.", order_no=no) + await show(chat, no)


@command(
    "edit",
    "改单",
    usage=N_("/edit SO-100001 TEA-001*3 CUP-01*1 [pay=credit]"),
    summary=N_("Change an order's lines"),
    permission=Permission.ORDER_EDIT,
)
async def edit(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    words, options = split_options(args[1:], ("pay",))
    lines = tuple(DraftLine(sku, qty) for sku, qty in parse_line_items(words)) if words else None
    terms = payment_terms(options)
    if lines is None and terms is None:
        raise chat.usage()
    await chat.services.run(chat.actor, lambda ctx: edit_order(ctx, no, OrderEdit(lines=lines, payment_terms=terms)))
    return chat.say(
        "{order_no} was changed and checked again; any pending approval is void.", order_no=no
    ) + await show(chat, no)


@command(
    "complete",
    "完成",
    usage=N_("/complete SO-100001"),
    summary=N_("Complete a delivered order"),
    permission=Permission.ORDER_EDIT,
)
async def complete(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    await chat.services.run(chat.actor, lambda ctx: fulfilment.complete(ctx, no))
    return chat.say("{order_no} is completed.", order_no=no)


@command(
    "cancel",
    "取消",
    usage=N_("/cancel SO-100001 reason"),
    summary=N_("Cancel an order with a reason"),
    permission=Permission.ORDER_CANCEL,
)
async def cancel(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    reason = " ".join(args[1:])
    await chat.services.run(chat.actor, lambda ctx: cancellation.cancel(ctx, no, reason))
    return chat.say("Cancelled {order_no}; its stock is released.", order_no=no)


@command(
    "return",
    "退货",
    usage=N_("/return SO-100001 TEA-001*1 reason"),
    summary=N_("Request a return"),
    permission=Permission.RETURN_REQUEST,
)
async def return_(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    items = [a for a in args[1:] if counted_item(a)]
    reason = " ".join(a for a in args[1:] if a not in items) or "-"
    lines = dict(parse_line_items(items)) if items else {}
    rma = await chat.services.run(chat.actor, lambda ctx: returns.request_return(ctx, no, lines, reason))
    return chat.say("Return {rma_no} requested for {order_no}.", rma_no=rma.rma_no, order_no=no)


RMA_STEPS = {"approve": returns.approve_return, "close": returns.close_return, "refund": returns.refund_return}


@command(
    "rma",
    "退货处理",
    usage=N_("/rma RMA-100001 approve|reject reason|receive SH|inspect pass|fail|refund|exchange|close"),
    summary=N_("Handle a return (RMA)"),
    permission=(Permission.RETURN_MANAGE, Permission.REFUND),
)
async def rma(chat: Chat, args: list[str]) -> list[Reply]:
    if len(args) < 2 or not args[0].upper().startswith("RMA-"):
        raise chat.usage()
    rma_no, step, rest = args[0].upper(), args[1].lower(), args[2:]
    if step in RMA_STEPS:
        result = await chat.services.run(chat.actor, lambda ctx: RMA_STEPS[step](ctx, rma_no))
        if step == "refund":
            return chat.say("{rma_no} refunded: {amount}.", rma_no=rma_no, amount=money(result.refund_amount))
    elif step == "reject":
        await chat.services.run(chat.actor, lambda ctx: returns.reject_return(ctx, rma_no, " ".join(rest) or "-"))
    elif step == "receive" and rest:
        await chat.services.run(chat.actor, lambda ctx: returns.receive_return(ctx, rma_no, rest[0]))
    elif step == "inspect" and rest and rest[0].lower() in ("pass", "fail", "通过", "不通过"):
        passed = rest[0].lower() in ("pass", "通过")
        note = " ".join(rest[1:]) or None
        await chat.services.run(chat.actor, lambda ctx: returns.inspect_return(ctx, rma_no, passed=passed, note=note))
    elif step == "exchange":
        _, replacement = await chat.services.run(chat.actor, lambda ctx: returns.exchange_return(ctx, rma_no))
        return chat.say("{rma_no}: replacement order {order_no} created.", rma_no=rma_no, order_no=replacement.order_no)
    else:
        raise chat.usage()
    return chat.say("{rma_no}: {step} done.", rma_no=rma_no, step=step)
