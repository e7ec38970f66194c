"""The one place a customer's outstanding credit balance changes.

Each change is a single conditional UPDATE computed in the database (``balance = balance + x``,
guarded in the WHERE clause), never read-modify-write in Python: two credit orders confirmed at
the same moment are serialised by the row's write lock, and the second one sees the first's
charge, so together they cannot run the customer past the limit (no oversold credit;
``tests/integration/test_no_oversell.py`` proves the stock side of the same pattern).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from core.context import Context
from core.customers.models import Customer


async def charge(ctx: Context, customer_id: int, amount: Decimal, *, within_limit: bool) -> bool:
    """Add ``amount`` to what the customer owes; with ``within_limit`` only if it stays within the
    credit limit. Returns whether the charge was applied."""
    stmt = update(Customer).where(Customer.id == customer_id)
    if within_limit:
        stmt = stmt.where(Customer.outstanding_balance + amount <= Customer.credit_limit)
    result = await ctx.session.execute(
        stmt.values(outstanding_balance=Customer.outstanding_balance + amount).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount == 1


async def credit(ctx: Context, customer_id: int, amount: Decimal) -> None:
    """The customer owes ``amount`` less (an invoice paid, a credit order cancelled, goods returned)."""
    await ctx.session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(outstanding_balance=Customer.outstanding_balance - amount)
        .execution_options(synchronize_session=False)
    )
