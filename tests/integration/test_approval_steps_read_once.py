"""A tap reads an order's approval steps once: the card's check (``open_level``) and the approval
(``record``) share the read while the transaction that made it is open and nothing of it expired;
after a rolled-back savepoint, or an approval that changed them, they are read again."""

from __future__ import annotations

from core.orders import approvals
from core.orders.repository import load_order
from tests.support.master_data import SYSTEM, seed
from tests.support.service_calls import place
from tests.support.statements import statements
from tests.support.workflow_rules import rules

TWO_LEVELS = """
- name: big-orders-two-levels
  on: order.received
  when: order.total > 5000
  approve: [{role: approver}, {user: 经理}]
"""


def step_reads(sent: list[str]) -> int:
    return len([sql for sql in sent if "FROM approval_step" in sql])


async def test_the_steps_are_read_once_in_a_transaction_and_again_when_it_is_not_the_same(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, TWO_LEVELS)
    no = await place(services, customer="C002", items={"TEA-001": 40})
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await load_order(ctx, no, for_update=True)
        with statements(services) as sent:
            assert await approvals.open_level(ctx, order) == 0
            assert await approvals.open_level(ctx, order) == 0
        assert step_reads(sent) == 1
        savepoint = await ctx.session.begin_nested()
        with statements(services) as sent:
            assert await approvals.open_level(ctx, order) == 0  # within the transaction that read them
        assert step_reads(sent) == 0
        [first, _second] = await approvals._pending_steps(ctx, order)
        first.status = "done"  # changed in the savepoint, then undone with it
        await ctx.session.flush()
        await savepoint.rollback()
        with statements(services) as sent:
            assert await approvals.open_level(ctx, order) == 0  # expired by the rollback: read again
        assert step_reads(sent) == 1
        assert not await approvals.record(ctx, order)  # SYSTEM approves step 1; step 2 opens
        with statements(services) as sent:
            assert await approvals.open_level(ctx, order) == 1  # the approval forgot what was read
        assert step_reads(sent) == 1
