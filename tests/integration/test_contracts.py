"""Project contracts through the chat layer: a contract whose milestones are invoiced in order and
paid, costs logged against it (labour and material), the margin; an overdue milestone reminded and
escalated on the durable timers; and refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from bot import gateway
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.models import ChatMessage
from bot.scheduler import tick
from core.audit.models import AuditRecord
from core.contracts.models import Milestone, ProjectCost
from core.customers.models import Customer
from core.inventory.models import MovementKind, StockMovement
from core.masterdata.loader import load_master_data
from core.masterdata.schema import parse_document
from core.orders.models import Order
from core.timers.models import Timer, TimerStatus
from core.users.models import User
from tests.support.clock import Clock
from tests.support.master_data import SYSTEM, seed
from tests.support.service_calls import detail, place, stock
from tests.support.workflow_rules import rules

MASTER_DATA = """
products:
  - {sku: CABLE-01, name: 六类网线 (米), price: 25, cost: 12.35}
stock:
  - {sku: CABLE-01, warehouse: SH, on_hand: 500}
labour_rates:
  - {name: 张工, rate: 180}
  - {name: 电工, rate: 95.5}
"""

CONTRACT_RULES = """
- name: contracts-by-manager
  on: order.received
  when: order.kind == "contract"
  approve: {role: manager}
- name: large-milestone-invoice
  on: milestone.accepted
  when: milestone.amount > 100000
  approve: {role: finance}
"""


async def say(services, who: str, text: str, *, locale: str | None = None) -> str:
    if locale is not None:
        async with services.sessions() as session, session.begin():
            await session.execute(update(User).where(User.name == who).values(locale=locale))
    answer = await gateway.message(services, Inbound("console", who, who), text)
    return "\n".join(answer.texts)


async def said_to(services, name: str) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(ChatMessage.text)
            .join(User, User.id == ChatMessage.user_id)
            .where(User.name == name, ChatMessage.text.is_not(None), ChatMessage.direction == "out")
            .order_by(ChatMessage.id)
        )
        return list(rows)


async def project_shop(services) -> None:
    await seed(services)
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_data(ctx, parse_document(MASTER_DATA))


async def newest_order(services) -> str:
    async with services.sessions() as session:
        return await session.scalar(select(Order.order_no).order_by(Order.id.desc()).limit(1))


async def counts(services) -> dict[str, int]:
    async with services.sessions() as session:
        return {
            "orders": await session.scalar(select(func.count(Order.id))),
            "milestones": await session.scalar(select(func.count(Milestone.id))),
            "costs": await session.scalar(select(func.count(ProjectCost.id))),
            "movements": await session.scalar(select(func.count(StockMovement.id))),
            "audit": await session.scalar(select(func.count(AuditRecord.id))),
        }


async def outstanding(services, code: str = "C001") -> Decimal:
    async with services.sessions() as session:
        return await session.scalar(select(Customer.outstanding_balance).where(Customer.code == code))


async def test_a_contract_is_invoiced_milestone_by_milestone_with_its_costs_and_margin(services):
    await contract_story(services)


@pytest.mark.pg
async def test_the_contract_story_on_postgres(pg_services):
    await contract_story(pg_services)


async def contract_story(services) -> None:
    # Given a project firm's master data (labour rates, a cable at cost) and rules that send
    # contracts to a manager and large milestone invoices to finance
    await project_shop(services)
    await rules(services, CONTRACT_RULES)

    # When sales enters the contract with its first milestone, the rule on order.kind reviews it
    reply = await say(services, "李雷", '/contract C001 "机房改造" 280000 设计:30%:2026-12-20')
    no = await newest_order(services)
    assert f"*{no}*" in reply and "Project: 机房改造" in reply
    order = await detail(services, no)
    assert (order["kind"], order["status"], order["total"]) == ("contract", "pending_approval", "280000.00")
    assert order["review_reason"] == 'rule contracts-by-manager: order.kind == "contract"'
    await say(services, "经理", f"/approve {no}")
    assert (await detail(services, no))["status"] == "confirmed"

    # Two more milestones by command: a percentage and a fixed amount, 100 % in all
    assert "Milestone 2 (施工, 140,000.00) added" in await say(
        services, "李雷", f"/milestone {no} add 施工 50% 2027-01-31"
    )
    await say(services, "李雷", f'/milestone {no} add "验收 交付" 56000 2027-02-28')

    # Milestone 1 (84,000 ≤ 100,000) is invoiced on acceptance: a receivable on the customer
    reply = await say(services, "李雷", f"/milestone {no} 1 accept")
    assert f"Milestone 1 of {no} is invoiced: {no}-M1 for 84,000.00." in reply
    assert await outstanding(services) == Decimal("84000.00")

    # Milestone 2 needs finance's approval by rule; sales may not give it
    reply = await say(services, "李雷", f"/milestone {no} 2 accept")
    assert "waits for approval" in reply
    await deliver_pending(services)
    assert [t for t in await said_to(services, "王芳") if f"{no} milestone 2 (施工, 140,000.00) was accepted" in t]
    assert "may not approve" in await say(services, "李雷", f"/milestone {no} 2 approve")
    reply = await say(services, "王芳", f"/milestone {no} 2 approve")
    assert f"is invoiced: {no}-M2 for 140,000.00" in reply

    # Finance confirms the first invoice's payment
    await say(services, "王芳", f"/pay {no} bank 8801")
    assert await outstanding(services) == Decimal("140000.00")

    # Costs: 8 hours of 张工 at 180.00, 2.5 hours of an electrician at 95.50, 20 m cable at 12.35
    assert "张工 8h × 180.00 = 1,440.00" in await say(services, "李雷", f"/log {no} 工时 8h 张工")
    assert "= 238.75" in await say(services, "李雷", f"/log {no} 工时 2.5h 电工")
    assert "CABLE-01 ×20 × 12.35 = 247.00" in await say(services, "李雷", f"/log {no} CABLE-01*20")
    assert await stock(services, "CABLE-01", "SH") == (480, 0)
    async with services.sessions() as session:
        moved = (
            await session.execute(
                select(StockMovement.kind, StockMovement.on_hand_delta).where(
                    StockMovement.order_id == (await session.scalar(select(Order.id).where(Order.order_no == no)))
                )
            )
        ).all()
    assert moved == [(MovementKind.CONSUME, -20)]

    # The last milestone goes in order too
    assert f"{no}-M3 for 56,000.00" in await say(services, "李雷", f"/milestone {no} 3 accept")

    contract = (await detail(services, no))["contract"]
    assert [(m["seq"], m["amount"], m["status"]) for m in contract["milestones"]] == [
        (1, "84000.00", "paid"),
        (2, "140000.00", "invoiced"),
        (3, "56000.00", "invoiced"),
    ]
    cost = Decimal("1440.00") + Decimal("238.75") + Decimal("247.00")
    assert (contract["value"], contract["invoiced"], contract["received"]) == ("280000.00", "280000.00", "84000.00")
    assert (contract["labour_cost"], contract["material_cost"], contract["cost"]) == ("1678.75", "247.00", str(cost))
    assert contract["margin"] == str(Decimal("280000.00") - cost) == "278074.25"
    assert contract["margin_percent"] == "99.3"

    # /order and /projects show the figures
    expected = "Value 280,000.00 · invoiced 280,000.00 · received 84,000.00 · cost 1,925.75 · margin 278,074.25 (99.3%)"
    assert expected in await say(services, "李雷", f"/order {no}")
    report = await say(services, "经理", "/projects")
    assert f"{no} 机房改造 (C001)" in report and expected in report
    assert "项目：机房改造" in await say(services, "经理", f"/order {no}", locale="zh-CN")

    # The two remaining invoices paid: the contract is complete and the customer owes nothing
    await say(services, "王芳", f"/pay {no}")
    await say(services, "王芳", f"/pay {no}")
    final = await detail(services, no)
    assert (final["status"], final["payment_status"], final["paid_amount"]) == ("completed", "paid", "280000.00")
    assert await outstanding(services) == Decimal("0.00")


T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def test_an_overdue_milestone_reminds_sales_then_escalates_to_the_manager(services):
    clock = Clock(T0)
    services.clock = clock
    await project_shop(services)
    await say(services, "李雷", '/contract C001 "机房改造" 100000 设计:40%:2026-12-02 施工:60%:2026-12-20')
    no = await newest_order(services)
    await say(services, "王芳", f"/approve {no}")  # over the approval threshold, like any order
    assert (await detail(services, no))["status"] == "confirmed"

    # Due on 2 December: nothing on the due day itself
    clock.advance(days=1, hours=23)
    assert await tick(services) == 0
    # The morning after, the salesperson is reminded, and nobody else
    clock.advance(hours=2)
    assert await tick(services) == 1
    await deliver_pending(services)
    reminder = f"Reminder: {no} milestone 1 (设计, 40,000.00) was due 2026-12-02 and is not accepted yet."
    assert reminder in await said_to(services, "李雷")
    assert not [t for t in await said_to(services, "经理") if no in t]
    # Three days later it is escalated to the managers
    clock.advance(days=3)
    assert await tick(services) == 1
    await deliver_pending(services)
    assert [t for t in await said_to(services, "经理") if t.startswith(f"Escalated to you: {no} milestone 1 (设计")]
    assert await tick(services) == 0

    # Accepting milestone 2's predecessor in time cancels its clocks: nothing fires for it later
    await say(services, "李雷", f"/milestone {no} 1 accept")
    await say(services, "王芳", f"/milestone {no} 1 approve")  # 40,000 is over the threshold
    await say(services, "李雷", f"/milestone {no} 2 accept")
    clock.advance(days=30)
    assert await tick(services) == 0
    async with services.sessions() as session:
        left = set(await session.scalars(select(Timer.status).where(Timer.key.startswith(f"milestone:{no}:2:"))))
    assert left == {TimerStatus.CANCELLED}


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        (
            '/contract C001 "机房改造" 280000 设计:60%:2026-12-20 施工:50%:2027-01-31',
            "Milestone 施工 (140000.00) would take the milestones over the contract value 280000.00: "
            "168000.00 is already given to milestones, 112000.00 is left.",
        ),
        ('/contract C001 "机房改造" 280000 设计:130%:2026-12-20', "not 130%"),
        ('/contract C001 "机房改造" 280000 设计:30%:2026-13-20', "2026-13-20 is not a date"),
        ('/contract C001 "机房改造" -5', "above 0"),
    ],
)
async def test_a_contract_with_shares_over_the_value_is_refused_and_nothing_stored(services, command, answer):
    await project_shop(services)
    before = await counts(services)
    assert answer in await say(services, "李雷", command)
    assert await counts(services) == before


async def test_refusals_on_a_running_contract_change_nothing(services):
    await project_shop(services)
    await say(services, "李雷", '/contract C001 "机房改造" 280000 设计:30%:2026-12-20 施工:50%:2027-01-31')
    no = await newest_order(services)
    await say(services, "王芳", f"/approve {no}")
    standard = await place(services)
    before, cable = await counts(services), await stock(services, "CABLE-01", "SH")

    refusals = {
        f"/milestone {standard} 1 accept": f"{standard} is not a project contract.",
        f"/log {standard} 工时 8h 张工": f"{standard} is not a project contract.",
        f"/milestone {no} add 验收 30% 2027-02-28": "would take the milestones over the contract value 280000.00",
        f"/milestone {no} add 验收 56000.01 2027-02-28": "56000.00 is left",
        f"/milestone {no} 2 accept": f"Milestone 2 of {no} cannot be accepted before milestone 1 (设计) is invoiced.",
        f"/milestone {no} 4 accept": f"{no} has no milestone 4; it has 2.",
        f"/log {no} CABLE-1*20": "Unknown SKU CABLE-1. Did you mean CABLE-01?",
        f"/log {no} CABLE-01*999": "Cannot take 999 CABLE-01 for the project: 500 free in SH.",
        f"/log {no} 工时 8h 王工": "No labour rate for 王工; the master data's labour_rates name: 张工, 电工.",
        f"/log {no} 工时 eight 张工": "eight is not a number of hours",
        f"/pay {no}": f"{no} has no unpaid milestone invoice.",
    }
    for command, answer in refusals.items():
        assert answer in await say(services, "李雷" if not command.startswith("/pay") else "王芳", command), command
    assert await counts(services) == before
    assert await stock(services, "CABLE-01", "SH") == cable

    # The refusals read in Chinese too
    zh = await say(services, "李雷", f"/milestone {no} 2 accept", locale="zh-CN")
    assert "里程碑" in zh and "1" in zh
    assert await counts(services) == before


async def test_labour_rates_in_master_data_are_checked_row_by_row(services):
    from core.masterdata.schema import MasterDataError

    with pytest.raises(MasterDataError, match=r"labour_rates row 2 \(李工\): rate: must not be negative"):
        parse_document("labour_rates:\n  - {name: 张工, rate: 180}\n  - {name: 李工, rate: -1}\n")
    with pytest.raises(MasterDataError, match=r"labour_rates row 2 \(张工\): repeats row 1"):
        parse_document("labour_rates:\n  - {name: 张工, rate: 180}\n  - {name: 张工, rate: 200}\n")


async def test_a_rejected_invoice_returns_to_sales_and_the_customer_never_sees_costs(services):
    await project_shop(services)
    await rules(services, CONTRACT_RULES)
    await say(services, "李雷", '/contract C001 "机房改造" 280000 设计:50%:2026-12-20 施工:50%:2027-01-31')
    no = await newest_order(services)
    await say(services, "经理", f"/approve {no}")
    await say(services, "李雷", f"/log {no} 工时 8h 张工")

    # Milestone 1 (140,000) needs finance; finance turns the invoice down with a reason
    await say(services, "李雷", f"/milestone {no} 1 accept")
    assert "Say why" in await say(services, "王芳", f"/milestone {no} 1 reject")
    assert "pending again: 验收单未签字" in await say(services, "王芳", f"/milestone {no} 1 reject 验收单未签字")
    await deliver_pending(services)
    told = f"{no} milestone 1 (设计) was not invoiced: 王芳 rejected it (验收单未签字)."
    assert told in await said_to(services, "李雷")
    assert await outstanding(services) == Decimal("0.00")
    assert "does not wait for an approval" in await say(services, "王芳", f"/milestone {no} 1 approve")

    # Accepted again, approved this time: invoiced once
    await say(services, "李雷", f"/milestone {no} 1 accept")
    assert f"{no}-M1 for 140,000.00" in await say(services, "王芳", f"/milestone {no} 1 approve")
    assert await outstanding(services) == Decimal("140000.00")

    # The customer sees value, invoiced and received, not our costs or margin
    mine = await say(services, "杭州茶社", f"/order {no}")
    assert "Value 280,000.00 · invoiced 140,000.00 · received 0.00" in mine
    assert "margin" not in mine and "1,440.00" not in mine and "labour" not in mine
    assert "may not view reports" in await say(services, "杭州茶社", "/projects")

    # A contract is not edited line by line; cancelled once its invoice is paid, its clocks stop
    assert "changes through its milestones" in await say(services, "李雷", f"/edit {no} TEA-001*1")
    await say(services, "王芳", f"/pay {no}")
    await say(services, "李雷", f"/cancel {no} 客户终止项目")
    cancelled = await detail(services, no)
    assert (cancelled["status"], cancelled["refunded_amount"]) == ("cancelled", "0.00")
    assert await outstanding(services) == Decimal("0.00")
    async with services.sessions() as session:
        pending = list(
            await session.scalars(
                select(Timer.key).where(Timer.key.startswith(f"milestone:{no}:"), Timer.status == TimerStatus.PENDING)
            )
        )
    assert pending == []


async def test_a_milestone_invoice_can_need_several_approval_steps_in_turn(services):
    await project_shop(services)
    await rules(
        services,
        """
- name: two-step-invoices
  on: milestone.accepted
  when: order.kind == "contract" && milestone.seq == 1
  approve: [{role: finance}, {role: manager}]
""",
    )
    await say(services, "李雷", '/contract C001 "机房改造" 50000 设计:100%:2026-12-20')
    no = await newest_order(services)
    await say(services, "王芳", f"/approve {no}")  # no order.received review rule: the threshold decides
    await say(services, "李雷", f"/milestone {no} 1 accept")
    assert "waits for approval" in await say(services, "王芳", f"/milestone {no} 1 approve")
    again = await say(services, "王芳", f"/milestone {no} 1 approve")
    assert f"You may not approve step 2 of {no} M1: it waits for manager." in again
    await deliver_pending(services)
    assert [t for t in await said_to(services, "经理") if f"{no} milestone 1 (设计, 50,000.00)" in t]
    assert (await detail(services, no))["contract"]["invoiced"] == "0.00"
    assert f"{no}-M1 for 50,000.00" in await say(services, "经理", f"/milestone {no} 1 approve")


async def test_a_contract_with_an_unpaid_invoice_is_not_cancelled_and_a_cancelled_one_is_not_paid(services):
    await project_shop(services)
    await say(services, "李雷", '/contract C001 "机房改造" 4000 设计:50%:2026-12-20 施工:50%:2027-01-31')
    no = await newest_order(services)
    assert (await detail(services, no))["status"] == "confirmed"  # under the approval threshold
    await say(services, "李雷", f"/milestone {no} 1 accept")
    before = await counts(services)

    # Invoiced and unpaid: the cancellation is refused naming the invoice, nothing changes
    refused = await say(services, "李雷", f"/cancel {no} 客户终止项目")
    assert refused == (f"Cannot cancel {no}: unpaid invoices {no}-M1; finance settles or credits them first.")
    assert "尚未付款" in await say(services, "李雷", f"/cancel {no} 客户终止项目", locale="zh-CN")
    assert (await detail(services, no))["status"] == "confirmed"
    assert await counts(services) == before
    assert await outstanding(services) == Decimal("2000.00")

    # Paid, it may be cancelled: the pending milestone 2 is dropped, never invoiced
    await say(services, "王芳", f"/pay {no}")
    await say(services, "李雷", f"/cancel {no} 客户终止项目", locale="en")
    contract = (await detail(services, no))["contract"]
    assert [(m["seq"], m["status"]) for m in contract["milestones"]] == [(1, "paid"), (2, "cancelled")]
    assert (contract["invoiced"], contract["received"]) == ("2000.00", "2000.00")
    assert "dropped: the contract was cancelled" in await say(services, "李雷", f"/order {no}")
    assert await outstanding(services) == Decimal("0.00")
    assert "is cancelled; milestones and costs" in await say(services, "李雷", f"/milestone {no} 2 accept")

    # A cancelled contract takes no payment
    before = await counts(services)
    assert await say(services, "王芳", f"/pay {no}") == f"No payment can be recorded for {no}: it is cancelled."
    assert await counts(services) == before


async def test_the_readmes_sample_master_data_loads_on_its_own(services):
    from pathlib import Path

    from tests.support.loading import load

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    sample = readme.split("## Project contracts", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    report = await load(services, sample)
    assert report.counts["labour_rates"]["created"] == 2, report.counts
    assert report.counts["stock"], report.counts
