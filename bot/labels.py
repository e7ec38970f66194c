"""Translatable names for statuses, roles and actions, and small formatting helpers.

Permissions are not here: their English names are marked for translation where they are declared
(``core.auth.Permission``), and ``_(permission)`` translates them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from core.orders.review import reason_parts
from core.shipping.carriers import BY_CODE

STATUS = {
    "received": N_("received"),
    "on_hold": N_("on hold"),
    "pending_approval": N_("pending approval"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
    "backordered": N_("backordered"),
    "allocated": N_("allocated"),
    "awaiting_payment": N_("awaiting payment"),
    "ready_to_pick": N_("ready to pick"),
    "picking": N_("picking"),
    "packed": N_("packed"),
    "partially_shipped": N_("partially shipped"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
}
PAYMENT = {
    "unpaid": N_("unpaid"),
    "paid": N_("paid"),
    "partially_refunded": N_("partially refunded"),
    "refunded": N_("refunded"),
    "prepaid": N_("prepaid"),
    "cod": N_("cash on delivery"),
    "credit": N_("credit"),
}
ROLES = {
    "sales": N_("sales"),
    "approver": N_("approver"),
    "manager": N_("manager"),
    "warehouse": N_("warehouse"),
    "service": N_("service"),
    "finance": N_("finance"),
    "customer": N_("customer"),
    "production": N_("production"),
    "admin": N_("admin"),
}
WORK_ORDER_STATUS = {
    "planned": N_("planned"),
    "released": N_("released"),
    "in_progress": N_("in production"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}
RETURN_STATUS = {
    "requested": N_("requested"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "received": N_("goods received"),
    "inspected": N_("inspected"),
    "refunded": N_("refunded"),
    "exchanged": N_("exchanged"),
    "closed": N_("closed"),
}
SHIPMENT_STATUS = {
    "label_created": N_("label created"),
    "picked_up": N_("picked up"),
    "in_transit": N_("in transit"),
    "out_for_delivery": N_("out for delivery"),
    "delivered": N_("delivered"),
    "exception": N_("delivery problem"),
}
# Why a parcel is in exception (``core.shipping.tracking.EXCEPTION_REASONS``).
EXCEPTION_REASONS = {
    "failed_attempt": N_("delivery attempt failed"),
    "refused": N_("refused by the recipient"),
    "returned": N_("returned to the sender"),
    "customs": N_("held at customs"),
    "lost": N_("lost"),
    "stalled": N_("no news from the carrier"),
    "problem": N_("a problem the carrier reports"),
}
# Free-text fields a person types, by column, for "… can be at most N characters long".
FIELDS = {
    "sku": N_("SKU"),
    "note": N_("Note"),
    "coupon_code": N_("Coupon"),
    "reason": N_("Reason"),
    "external_ref": N_("Reference"),
    "carrier": N_("Carrier"),
    "tracking_no": N_("Tracking number"),
}
# The triggers of the state machines (core.orders.lifecycle), as a refusal names them
# ("Cannot {action} {key}: it is {state}."); tests/unit/test_label_tables.py keeps them complete.
ACTIONS = {
    "hold": N_("hold"),
    "revalidate": N_("revalidate"),
    "edit": N_("edit"),
    "request_approval": N_("request approval"),
    "confirm": N_("confirm"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "allocate": N_("allocate"),
    "backorder": N_("backorder"),
    "await_payment": N_("await payment"),
    "release_to_pick": N_("release to pick"),
    "start_picking": N_("start picking"),
    "pack": N_("pack"),
    "ship_part": N_("ship part"),
    "ship": N_("ship"),
    "deliver": N_("deliver"),
    "complete": N_("complete"),
    "cancel": N_("cancel"),
    "finish_contract": N_("finish the contract"),
    "receive": N_("receive"),
    "inspect": N_("inspect"),
    "refund": N_("refund"),
    "exchange": N_("exchange"),
    "close": N_("close"),
    # The work order's (core.production.lifecycle).
    "release": N_("release"),
    "start": N_("start"),
    "finish": N_("finish"),
    "adjust": N_("adjust"),
    # Actions that leave the order's state as it is (core.orders.lifecycle.ALLOWED_IN).
    "pay": N_("record a payment for"),
    "request_return": N_("request a return for"),
    "fix_sku": N_("fix a SKU on"),
}
DONE = {
    "approve": N_("Approved"),
    "reject": N_("Rejected"),
    "cancel": N_("Cancelled"),
    "start_picking": N_("Picked"),
    "pack": N_("Packed"),
    "release": N_("Released"),
    "start": N_("Started"),
    "finish": N_("Finished"),
}


def status(_: Translator, value: str) -> str:
    return _(STATUS.get(value, value))


def payment(_: Translator, value: str) -> str:
    return _(PAYMENT.get(value, value))


def return_status(_: Translator, value: str) -> str:
    return _(RETURN_STATUS.get(value, value))


def work_order_status(_: Translator, value: str) -> str:
    return _(WORK_ORDER_STATUS.get(value, value))


def shipment_status(_: Translator, value: str) -> str:
    return _(SHIPMENT_STATUS.get(value, value))


def exception_reason(_: Translator, value: str | None) -> str:
    return _(EXCEPTION_REASONS.get(value or "problem", value or ""))


# Why an order waits for review (``core.orders.review.reason_parts``), as the reader reads it.
REVIEW_REASONS = {
    "rule": N_("rule {rule}: {when}"),
    "total": N_("total {amount} is above the approval threshold {threshold}"),
    "milestone": N_("milestone {amount} is above the approval threshold {threshold}"),
}


def review_reason(_: Translator, value: str | None) -> str:
    """A stored review reason in the reader's language; text of any other shape as it is."""
    parts = reason_parts(value)
    if parts is None:
        return value or ""
    kind, params = parts
    if kind == "rule":
        return _(
            REVIEW_REASONS["rule"],
            rule=params["rule"],
            when=_("always") if params["when"] == "always" else params["when"],
        )
    return _(REVIEW_REASONS[params["what"]], amount=params["amount"], threshold=params["threshold"])


def role(_: Translator, value: str) -> str:
    return _(ROLES.get(value, value))


def field(_: Translator, value: str) -> str:
    return _(FIELDS.get(value, value.replace("_", " ")))


def action(_: Translator, value: str) -> str:
    return _(ACTIONS.get(value, value.replace("_", " ")))


def money(value: Decimal | str) -> str:
    return f"{Decimal(value):,.2f}"


def moment(at: datetime | str, timezone: str) -> str:
    """Date and time in the business's zone ("12-02 08:30"), for a parcel's scans."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")


def clock(at: datetime | str, timezone: str) -> str:
    """Time of day in the business's zone, as people say it in chat ("14:03")."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def carrier_name(_: Translator, code: str) -> str:
    """A carrier in the reader's language (顺丰 / SF Express); an unknown code as it is."""
    known = BY_CODE.get(code)
    return known.name(_.locale) if known else code
