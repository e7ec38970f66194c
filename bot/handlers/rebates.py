"""Rebate commands: where a customer stands (``/rebate C001``), settling a period, deciding a credit note."""

from __future__ import annotations

from bot.i18n import N_
from bot.labels import money
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.rebates import settlement
from core.rebates.status import RebateStatus, rebate_status


def percent(value: object) -> str:
    text = f"{value}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def status_text(chat: Chat, s: RebateStatus) -> str:
    _ = chat._
    out = [
        _("*{customer}* {name} · rebate {agreement}", customer=s.customer, name=s.customer_name, agreement=s.agreement),
        _("Period: {period}", period=s.period)
        + (" · " + _("product line {line}", line=s.product_line) if s.product_line else ""),
        _("Net sales: {net}", net=money(s.net_sales)),
    ]
    if s.step is None:
        out.append(_("Step: none reached yet (rate 0%)"))
    else:
        out.append(
            _(
                "Step {step} of {steps}: {rate} on the whole volume",
                step=s.step,
                steps=len(s.steps),
                rate=percent(s.rate),
            )
        )
    out.append(_("Accrued: {accrued}", accrued=money(s.accrued)))
    if s.reversed:
        out.append(_("Of which returns took back: {amount}", amount=money(s.reversed)))
    if s.next_step is not None:
        out.append(
            _(
                "Next step: {rate} from {above}, {left} to go",
                rate=percent(s.next_step.rate),
                above=money(s.next_step.above),
                left=money(s.to_next),
            )
        )
    else:
        out.append(_("Top step reached."))
    out.append(_("Rebate credit to use: {credit}", credit=money(s.credit_available)))
    if s.pending_notes:
        out.append(_("Waiting for finance: {notes}", notes=", ".join(s.pending_notes)))
    return "\n".join(out)


@command(
    "rebate",
    "返点",
    usage=N_("/rebate C001 [settle [2026-Q4]]"),
    summary=N_("A customer's rebate this period; finance settles it as a credit note"),
    permission=(Permission.ORDER_VIEW, Permission.PAYMENT_CONFIRM),
)
async def rebate(chat: Chat, args: list[str]) -> list[Reply]:
    if not args or len(args) > 3:
        raise chat.usage()
    code = args[0]
    if len(args) == 1:
        found = await chat.services.query(chat.actor, lambda ctx: rebate_status(ctx, code))
        return [Reply(text=status_text(chat, found))]
    if args[1].lower() not in ("settle", "结算"):
        raise chat.usage()
    period = args[2] if len(args) == 3 else None
    note = await chat.services.run(chat.actor, lambda ctx: settlement.settle(ctx, code, period))
    return chat.say(
        "Credit note {note_no} for {amount} sent to finance for approval.",
        note_no=note.note_no,
        amount=money(note.amount),
    )


@command(
    "creditnote",
    "贷项",
    usage=N_("/creditnote CN-100001 approve|reject reason"),
    summary=N_("Approve or reject a rebate credit note"),
    permission=Permission.PAYMENT_CONFIRM,
)
async def creditnote(chat: Chat, args: list[str]) -> list[Reply]:
    if len(args) < 2 or not args[0].upper().startswith("CN-") or args[1].lower() not in ("approve", "reject"):
        raise chat.usage()
    no, approve, reason = args[0].upper(), args[1].lower() == "approve", " ".join(args[2:]) or None
    await chat.services.run(chat.actor, lambda ctx: settlement.decide(ctx, no, approve=approve, reason=reason))
    if approve:
        return chat.say("Approved credit note {note_no}.", note_no=no)
    return chat.say("Rejected credit note {note_no}.", note_no=no)
