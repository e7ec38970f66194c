"""Translatable names for statuses, roles and actions, and small formatting helpers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator

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
    "admin": N_("admin"),
}
DONE = {
    "approve": N_("Approved"),
    "reject": N_("Rejected"),
    "cancel": N_("Cancelled"),
    "start_picking": N_("Picked"),
    "pack": N_("Packed"),
}


def status(_: Translator, value: str) -> str:
    return _(STATUS.get(value, value))


def payment(_: Translator, value: str) -> str:
    return _(PAYMENT.get(value, value))


def money(value: Decimal | str) -> str:
    return f"{Decimal(value):,.2f}"


def clock(at: datetime | str, timezone: str) -> str:
    """Time of day in the business's zone, as people say it in chat ("14:03")."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


# The services name permissions and actions in English (core knows no languages); these are the
# same strings marked for translation, so a refusal reads naturally in Chinese too.
PERMISSIONS = [
    N_("create orders"),
    N_("view orders"),
    N_("edit or re-validate orders"),
    N_("approve or reject orders"),
    N_("cancel orders"),
    N_("confirm payments"),
    N_("pick, pack and ship orders"),
    N_("request returns"),
    N_("approve, receive and inspect returns"),
    N_("refund returns"),
    N_("view stock"),
    N_("receive or adjust stock"),
    N_("load master data"),
]
ACTIONS = [
    N_("hold"),
    N_("revalidate"),
    N_("request approval"),
    N_("confirm"),
    N_("approve"),
    N_("reject"),
    N_("allocate"),
    N_("backorder"),
    N_("await payment"),
    N_("release to pick"),
    N_("start picking"),
    N_("pack"),
    N_("ship part"),
    N_("ship"),
    N_("deliver"),
    N_("complete"),
    N_("cancel"),
    N_("receive"),
    N_("inspect"),
    N_("refund"),
    N_("exchange"),
    N_("close"),
]
