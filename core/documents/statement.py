"""A customer's statement (对账单) for one month: opening balance, what happened, closing balance.

The balance is what the customer owes. It is rebuilt from the audit trail, which is append-only
and dated, so a month's statement reads the same whenever it is printed:

- **invoice** (+ the order total): the order was confirmed (approved, or accepted without review);
- **payment** (−): finance confirmed payment (``payment_confirmed``);
- **cancellation** (−): an invoiced order was cancelled (its invoice no longer stands);
- **return** (−): goods came back and a return was refunded (the return's ``refund`` step, for
  the returned lines' share of the order total; for an unpaid credit order this is the credit
  note that lowered the invoice);
- **refund** (+): money paid back to the customer (a cancellation or a return of a paid order).

A project contract (``OrderKind.CONTRACT``) is billed milestone by milestone, never by its value:

- **invoice** (+ the milestone's amount): a milestone was invoiced (``invoice_milestone``, the
  reference its invoice number ``SO-…-M2``);
- **payment** (−): finance confirmed one of those invoices paid (the reference the invoice);
- its confirmation and its cancellation book nothing: a contract is cancelled only once every
  invoice is paid (``core.contracts.service.check_cancellable``), and what was never invoiced
  was never owed.

So a paid order that is returned in part nets to zero (invoice − payment − return + refund),
and so does a paid order that is cancelled. Times are in the business's zone (``OMS_TIMEZONE``).
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from core.audit.models import AuditRecord
from core.auth import Permission
from core.context import Context
from core.customers.models import Customer
from core.documents.errors import BadMonth
from core.errors import CustomerNotFound
from core.orders.models import Order
from core.orders.status import OrderKind
from core.rebates.statement import RebateSummary, rebate_summary

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
ZERO = Decimal("0.00")


class EntryKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CANCELLATION = "cancellation"
    RETURN = "return"
    REFUND = "refund"


@dataclass(frozen=True)
class StatementEntry:
    at: datetime
    kind: EntryKind
    reference: str  # the order (or return) number
    order_no: str
    debit: Decimal  # the customer owes more
    credit: Decimal  # the customer owes less
    balance: Decimal  # after this entry
    note: str | None = None


@dataclass(frozen=True)
class Statement:
    customer_code: str
    customer_name: str
    customer_phone: str | None
    month: str  # YYYY-MM
    period_start: date
    period_end: date  # the last day of the month
    currency: str
    printed_at: datetime
    opening_balance: Decimal
    entries: tuple[StatementEntry, ...]
    closing_balance: Decimal
    # The month's rebate (``core.rebates``): accrued, reversed, settled, used and the credit left;
    # None for a customer with no rebate and no credit, whose statement stays as it was.
    rebate: RebateSummary | None = None

    def total(self, kind: EntryKind) -> Decimal:
        return sum((e.debit + e.credit for e in self.entries if e.kind == kind), ZERO)

    @property
    def invoices(self) -> Decimal:
        return self.total(EntryKind.INVOICE)

    @property
    def payments(self) -> Decimal:
        return self.total(EntryKind.PAYMENT)

    @property
    def credits(self) -> Decimal:
        """Cancellations and returns: what the customer no longer owes for goods."""
        return self.total(EntryKind.CANCELLATION) + self.total(EntryKind.RETURN)

    @property
    def refunds(self) -> Decimal:
        return self.total(EntryKind.REFUND)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``2026-11`` → [1 Nov 00:00, 1 Dec 00:00) in ``zone``."""
    match = _MONTH.match(month.strip())
    if not match:
        raise BadMonth(month=month)
    year, number = int(match[1]), int(match[2])
    start = date(year, number, 1)
    end = date(year + (number == 12), number % 12 + 1, 1)
    return datetime.combine(start, time.min, zone), datetime.combine(end, time.min, zone)


async def customer_statement(ctx: Context, customer_code: str, month: str) -> Statement:
    code = customer_code.strip().upper()
    zone = ZoneInfo(ctx.settings.timezone)
    start, end = month_bounds(month, zone)
    customer = (await ctx.session.scalars(select(Customer).where(Customer.code == code))).one_or_none()
    actor = ctx.actor
    if actor.only_own_orders:
        if customer is None or customer.id != actor.customer_id:
            raise CustomerNotFound(customer=code)  # a customer must not learn which codes exist
    else:
        actor.require_any([Permission.PAYMENT_CONFIRM, Permission.REPORT_VIEW])
    if customer is None:
        raise CustomerNotFound(customer=code)
    rows = await ctx.session.execute(
        select(
            AuditRecord.created_at,
            AuditRecord.entity,
            AuditRecord.entity_key,
            AuditRecord.action,
            AuditRecord.to_state,
            AuditRecord.reason,
            AuditRecord.data,
            Order.order_no,
            Order.total,
            Order.kind,
        )
        .join(Order, Order.id == AuditRecord.order_id)
        .where(Order.customer_id == customer.id, AuditRecord.created_at < end)
        .where(
            or_(
                and_(AuditRecord.entity == "order", AuditRecord.to_state.in_(["confirmed", "cancelled"])),
                and_(
                    AuditRecord.entity == "order",
                    AuditRecord.action.in_(["payment_confirmed", "refund", "invoice_milestone"]),
                ),
                and_(AuditRecord.entity == "return", AuditRecord.action == "refund"),
            )
        )
        .order_by(AuditRecord.created_at, AuditRecord.id)
    )
    invoiced: set[str] = set()
    opening = ZERO
    balance = ZERO
    entries: list[StatementEntry] = []
    for at, entity, key, action, to_state, reason, data, order_no, order_total, order_kind in rows:
        amount = Decimal(str((data or {}).get("amount", "0")))
        kind: EntryKind | None = None
        if order_kind == OrderKind.CONTRACT and entity == "order":
            if action == "invoice_milestone":
                kind, debit, credit, key = EntryKind.INVOICE, amount, ZERO, reason or key
            elif action == "payment_confirmed":
                kind, debit, credit, key = EntryKind.PAYMENT, ZERO, amount, (data or {}).get("invoice") or key
            elif action == "refund":
                kind, debit, credit = EntryKind.REFUND, amount, ZERO
        elif entity == "return":
            kind, debit, credit = EntryKind.RETURN, ZERO, amount
        elif to_state == "confirmed" and order_no not in invoiced:
            invoiced.add(order_no)
            kind, debit, credit = EntryKind.INVOICE, order_total, ZERO
        elif to_state == "cancelled" and order_no in invoiced:
            kind, debit, credit = EntryKind.CANCELLATION, ZERO, order_total
        elif action == "payment_confirmed":
            kind, debit, credit = EntryKind.PAYMENT, ZERO, amount
        elif action == "refund":
            kind, debit, credit = EntryKind.REFUND, amount, ZERO
        if kind is None:
            continue
        balance += debit - credit
        if at < start:
            opening = balance
            continue
        note = reason if kind in (EntryKind.PAYMENT, EntryKind.REFUND) else None
        entries.append(StatementEntry(at, kind, key, order_no, debit, credit, balance, note))
    end_day = date.fromordinal(end.date().toordinal() - 1)
    rebate = await rebate_summary(ctx, customer.id, start.date(), end_day)
    return Statement(
        customer_code=customer.code,
        customer_name=customer.name,
        customer_phone=customer.phone,
        month=month.strip(),
        period_start=start.date(),
        period_end=date.fromordinal(end.date().toordinal() - 1),
        currency=ctx.settings.currency,
        printed_at=ctx.now(),
        opening_balance=opening,
        entries=tuple(entries),
        closing_balance=balance,
        rebate=rebate if any(v != 0 for v in astuple(rebate)) else None,
    )
