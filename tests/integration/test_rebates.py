"""Distributor pricing and rebates through the chat layer: group and customer price lists over
tiers, a rebate crossing a step mid-period and falling back on a return, settled at period end as a
credit note finance approves on a card, the credit used once on the next order; bad rebate master
data refused naming row and field."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import gateway, scheduler
from bot.cards import render
from bot.events.dispatcher import deliver_pending
from bot.gateway import Inbound
from bot.i18n import Translator
from bot.models import Card, CardKind, ChatMessage
from bot.printing.documents import statement_pdf
from bot.printing.pdf import Printer
from bot.workflows.review import WorkflowReview, facts
from bot.workflows.store import save_rules
from core.config import Settings
from core.customers.models import Customer
from core.documents.statement import customer_statement
from core.masterdata.schema import MasterDataError
from core.orders.repository import find_order
from core.rebates.models import CreditNote, RebateEntry
from core.rebates.statement import rebate_summary
from core.rebates.status import current_rate
from core.services import Services
from core.users.models import User
from tests.support.clock import Clock
from tests.support.databases import make_services, sqlite_settings
from tests.support.loading import load, row_counts
from tests.support.master_data import SYSTEM
from tests.support.pdf_text import pdf_text
from tests.support.service_calls import detail

MASTER = """
warehouses:
  - {code: SH, name: 上海仓}
products:
  - {sku: TEA-001, name: 龙井茶, price: "100.00", cost: "40.00", product_line: 茶叶}
  - {sku: CUP-01, name: 青瓷杯, price: "50.00", cost: "10.00", product_line: 茶具}
stock:
  - {sku: TEA-001, warehouse: SH, on_hand: 5000}
  - {sku: CUP-01, warehouse: SH, on_hand: 500}
customers:
  - {code: D001, name: 华东经销, tier: vip, group: 经销商, credit_limit: "1000000", phone: "13800138000",
     addresses: [{province: 浙江, city: 杭州, line: 西湖区1号}]}
  - {code: D002, name: 华南经销, tier: vip, group: 经销商, credit_limit: "1000000", phone: "13800138000",
     addresses: [{province: 浙江, city: 杭州, line: 西湖区1号}]}
  - {code: D003, name: 杭州茶社, tier: vip, credit_limit: "1000000", phone: "13800138000",
     addresses: [{province: 浙江, city: 杭州, line: 西湖区1号}]}
  - {code: D004, name: 散客, credit_limit: "1000000", phone: "13800138000",
     addresses: [{province: 浙江, city: 杭州, line: 西湖区1号}]}
price_lists:
  - {name: 直销, channel: direct, items: [{sku: TEA-001, price: "95.00"}]}
  - {name: VIP, tier: vip, items: [{sku: TEA-001, price: "90.00"}]}
  - {name: 经销商价, group: 经销商, items: [{sku: TEA-001, price: "80.00"}]}
  - {name: D002 专享, customer: D002, items: [{sku: TEA-001, price: "75.00"}]}
rebates:
  - name: 经销商季度返点
    group: 经销商
    period: quarter
    product_line: 茶叶
    steps:
      - {above: "10000", rate: "2"}
      - {above: "30000", rate: "3"}
users:
  - {name: 王芳, roles: [finance], identities: {console: 王芳}}
  - {name: 李雷, roles: [sales], identities: {console: 李雷}}
  - {name: 张仓, roles: [warehouse], warehouses: [SH], identities: {console: 张仓}}
  - {name: 客服, roles: [service], identities: {console: 客服}}
  - {name: 华东, roles: [customer], customer: D001, identities: {console: 华东}}
  - {name: 华南, roles: [customer], customer: D002, identities: {console: 华南}}
"""

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, in Q4 2026


@dataclass
class Shop:
    services: Services
    clock: Clock

    async def say(self, who: str, text: str) -> list[str]:
        return (await gateway.message(self.services, Inbound("console", who, who), text)).texts

    async def order(self, who: str, text: str) -> str:
        [reply] = await self.say(who, text)
        return re.search(r"SO-\d+", reply).group(0)

    async def delivered(self, no: str, tracking: str) -> None:
        for who, text in (
            ("张仓", f"/pick {no}"),
            ("张仓", f"/packed {no}"),
            ("张仓", f"/ship {no} SF {tracking}"),
            ("张仓", f"/delivered {no}"),
        ):
            await self.say(who, text)
        assert (await detail(self.services, no))["status"] == "delivered"

    async def completed(self, text: str, tracking: str) -> str:
        no = await self.order("李雷", text)
        await self.delivered(no, tracking)
        assert await self.say("李雷", f"/complete {no}") == [f"{no} is completed."]
        return no

    async def customer_id(self, code: str) -> int:
        async with self.services.reading() as session:
            return await session.scalar(select(Customer.id).where(Customer.code == code))

    async def cards(self, kind: CardKind) -> list[Card]:
        async with self.services.reading() as session:
            return list(await session.scalars(select(Card).where(Card.kind == kind).order_by(Card.id)))

    async def received_card(self, who: str, card_id: int) -> bool:
        async with self.services.reading() as session:
            user = await session.scalar(select(User.id).where(User.name == who))
            found = await session.scalar(
                select(ChatMessage.id).where(ChatMessage.user_id == user, ChatMessage.card_id == card_id)
            )
            return found is not None

    async def timeline(self, who: str) -> list[str]:
        async with self.services.reading() as session:
            user = await session.scalar(select(User.id).where(User.name == who))
            rows = await session.scalars(
                select(ChatMessage.text).where(ChatMessage.user_id == user, ChatMessage.text.is_not(None))
            )
            return list(rows)


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[Shop]:
    services = await make_services(sqlite_settings(tmp_path / "oms.db", approval_threshold=Decimal("25000")))
    clock = Clock(START)
    services.clock = clock
    await load(services, MASTER)
    yield Shop(services, clock)
    await services.close()


def unit_price(order: dict, sku: str) -> str:
    return next(line["unit_price"] for line in order["lines"] if line["sku"] == sku)


async def test_customer_and_group_lists_win_over_tier_and_channel_lists(shop):
    prices = {}
    for code in ("D001", "D002", "D003", "D004"):
        no = await shop.order("李雷", f"/neworder {code} TEA-001*2 CUP-01*1 pay=credit")
        prices[code] = (await detail(shop.services, no), no)
    # customer > group > tier > channel > catalogue, as README "Distributor pricing and rebates" says
    assert unit_price(prices["D002"][0], "TEA-001") == "75.00"  # D002's own list beats its group's
    assert unit_price(prices["D001"][0], "TEA-001") == "80.00"  # the group's list beats the VIP tier's
    assert unit_price(prices["D003"][0], "TEA-001") == "90.00"  # the tier's list beats the channel's
    assert unit_price(prices["D004"][0], "TEA-001") == "95.00"  # only the channel's list applies
    assert unit_price(prices["D001"][0], "CUP-01") == "50.00"  # no list for cups: the catalogue price
    sources = [line["price_source"] for line in prices["D002"][0]["price_breakdown"]["lines"]]
    assert sources[0] == "price list D002 专享"


async def test_a_rebate_crosses_a_step_falls_back_on_a_return_and_is_settled_used_once(shop):
    # 12,000 of tea (and cups, outside the agreement's product line) completed: the first step, 2 %
    first = await shop.completed("/neworder D001 TEA-001*150 CUP-01*10 pay=credit", "SF1")
    [status] = await shop.say("华东", "/rebate D001")
    assert "Period: 2026-Q4 · product line 茶叶" in status
    assert "Net sales: 12,000.00" in status
    assert "Step 1 of 2: 2% on the whole volume" in status
    assert "Accrued: 240.00" in status
    assert "Next step: 3% from 30,000.00, 18,000.00 to go" in status

    # 20,000 more mid-period: 32,000 reaches 3 %, on the whole volume (960), so this order carries
    # 720: its own 600 and the 120 catch-up on the first order's volume
    second = await shop.completed("/neworder D001 TEA-001*250 pay=credit", "SF2")
    [status] = await shop.say("李雷", "/返点 D001")
    assert "Step 2 of 2: 3% on the whole volume" in status and "Accrued: 960.00" in status
    assert "Top step reached." in status
    async with shop.services.reading() as session:
        rows = list(await session.scalars(select(RebateEntry).order_by(RebateEntry.id)))
    assert [(r.kind, r.net_sales, r.rebate, r.rate) for r in rows] == [
        ("accrual", Decimal("12000.00"), Decimal("240.00"), Decimal("2.00")),
        ("accrual", Decimal("20000.00"), Decimal("720.00"), Decimal("3.00")),
    ]
    assert any("rebate for 2026-Q4 is now 3%" in t for t in await shop.timeline("华东"))
    async with shop.services.unit_of_work(SYSTEM) as ctx:  # what a workflow condition sees
        order = await find_order(ctx, second)
        assert facts(order, rebate_rate=await current_rate(ctx, order.customer))["customer"]["rebate_rate"] == 3.0

    # A return of 30 units (2,400) of the second order drops net sales to 29,600: back to 2 % (592)
    [requested] = await shop.say("华东", f"/return {second} TEA-001*30 damaged")
    rma = re.search(r"RMA-\d+", requested).group(0)
    for who, step in (("客服", "approve"), ("张仓", "receive SH"), ("张仓", "inspect pass"), ("王芳", "refund")):
        await shop.say(who, f"/rma {rma} {step}")
    [status] = await shop.say("华东", "/rebate D001")
    assert "Net sales: 29,600.00" in status and "Step 1 of 2: 2%" in status
    assert "Accrued: 592.00" in status and "Of which returns took back: -368.00" in status
    assert "Next step: 3% from 30,000.00, 400.00 to go" in status

    # The quarter ends: the durable timer settles it as a credit note, and finance gets a card
    shop.clock.now = datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC)  # 2027-01-01 00:00:01 in Shanghai
    assert await scheduler.tick(shop.services) >= 1
    while await deliver_pending(shop.services):
        pass
    [card] = await shop.cards(CardKind.CREDIT_NOTE)
    assert await shop.received_card("王芳", card.id)
    view = render(card, Translator("en"), "Asia/Shanghai")
    assert dict(view.fields)["Amount"] == "592.00 CNY" and dict(view.fields)["Period"] == "2026-Q4"
    assert [b.label for b in view.buttons] == ["Approve", "Reject"]
    assert "Credit note to approve: CN-" in view.title
    # a customer cannot settle, nor see another customer's rebate
    assert await shop.say("华东", "/rebate D001 settle") == ["You may not confirm payments."]
    assert await shop.say("华东", "/rebate D002") == ["You can only see your own account's rebate (D002)."]

    # Finance approves on the card; a second tap is told it is done; the customer hears of it
    tapped = await gateway.tap(shop.services, Inbound("console", "王芳", "王芳"), view.buttons[0].action)
    assert tapped.texts == [f"Approved credit note {card.order_no}."]
    again = await gateway.tap(shop.services, Inbound("console", "王芳", "王芳"), view.buttons[0].action)
    assert again.texts[0].startswith("Already done: Approved by 王芳")
    [card] = await shop.cards(CardKind.CREDIT_NOTE)
    assert card.state == "closed"
    assert any("credit note" in t and "592.00" in t for t in await shop.timeline("华东"))

    # The next order uses the credit: 400 × 80 = 32,000 less 592 (large enough to wait for approval)
    shop.clock.now = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    third = await shop.order("李雷", "/neworder D001 TEA-001*400 pay=credit")
    placed = await detail(shop.services, third)
    assert (placed["subtotal"], placed["total"], placed["status"]) == ("32000.00", "31408.00", "pending_approval")
    assert placed["price_breakdown"]["rebate_credit"] == "592.00"
    # Priced again (an edit while it waits) it still uses the credit once; the order after it gets none
    await shop.say("李雷", f"/edit {third} TEA-001*401")
    assert (await detail(shop.services, third))["total"] == "31488.00"
    fourth = await shop.order("李雷", "/neworder D001 TEA-001*10 pay=credit")
    assert (await detail(shop.services, fourth))["total"] == "800.00"
    [status] = await shop.say("华东", "/rebate D001")
    assert "Rebate credit to use: 0.00" in status and "Period: 2027-Q1" in status

    # The statement's figures for the quarter and the next month
    async with shop.services.unit_of_work(SYSTEM) as ctx:
        d001 = await shop.customer_id("D001")
        q4 = await rebate_summary(ctx, d001, date(2026, 10, 1), date(2026, 12, 31))
        january = await rebate_summary(ctx, d001, date(2027, 1, 1), date(2027, 1, 31))
    assert astuple(q4) == (Decimal("960.00"), Decimal("-368.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    assert (january.settled, january.used, january.balance) == (Decimal("592.00"), Decimal("592.00"), Decimal("0.00"))
    assert first != second

    # The customer's statement (对账单) for January shows the rebate settled and used
    async with shop.services.unit_of_work(SYSTEM) as ctx:
        statement = await customer_statement(ctx, "D001", "2027-01")
    assert statement.rebate == january
    text = pdf_text(statement_pdf(Printer(None, locale="zh-CN", timezone="Asia/Shanghai"), statement).data)
    assert "返点" in text and "结算为贷项通知单" in text and "592.00" in text


async def test_a_cancelled_order_gives_its_credit_back_and_finance_can_settle_early(shop):
    await shop.completed("/neworder D002 TEA-001*200 pay=credit", "SF9")  # 15,000 at 75: 2 % = 300
    await shop.say("华南", "/lang zh")
    [status] = await shop.say("华南", "/返点 D002")
    assert "净销售额：15,000.00" in status and "第 1 档（共 2 档）：全部销售额按 2% 返点" in status
    assert "下一档：满 30,000.00 返 3%，还差 15,000.00" in status
    assert await shop.say("李雷", "/rebate D002 settle") == ["You may not confirm payments."]
    [said] = await shop.say("王芳", "/rebate D002 settle")
    note = re.search(r"CN-\d+", said).group(0)
    assert said == f"Credit note {note} for 300.00 sent to finance for approval."
    assert await shop.say("王芳", "/rebate D002 settle") == [
        f"Credit note {note} for 2026-Q4 already waits for finance."
    ]
    assert await shop.say("王芳", f"/creditnote {note} approve") == [f"Approved credit note {note}."]
    assert await shop.say("王芳", "/rebate D002 settle") == ["D002 has no unsettled rebate for 2026-Q4."]

    no = await shop.order("李雷", "/neworder D002 TEA-001*2 pay=credit")
    assert (await detail(shop.services, no))["total"] == "0.00"  # 150 all paid by the credit
    await shop.say("李雷", f"/cancel {no} changed mind")
    again = await shop.order("李雷", "/neworder D002 TEA-001*2 pay=credit")
    assert (await detail(shop.services, again))["total"] == "0.00"  # the credit came back
    async with shop.services.reading() as session:
        [approved] = list(await session.scalars(select(CreditNote)))
    assert (approved.status, approved.amount, approved.decided_by) == ("approved", Decimal("300.00"), "王芳")


@pytest.mark.parametrize(
    ("rebate", "where", "problem"),
    [
        (
            '{name: 重叠, group: 经销商, steps: [{above: "30000", rate: "3"}, {above: "10000", rate: "2"}]}',
            "rebates row 1 (重叠)",
            "steps.1.above: 10000.00 overlaps the step before it",
        ),
        (
            '{name: 线, group: 经销商, product_line: 茶叶X, steps: [{above: "1", rate: "2"}]}',
            "rebates row 1 (线)",
            "product_line: unknown product line 茶叶X",
        ),
        (
            '{name: 负, customer: D001, steps: [{above: "1", rate: "-2"}]}',
            "rebates row 1 (负)",
            "steps.0.rate: Input should be greater than or equal to 0",
        ),
        (
            '{name: 谁, customer: D999, steps: [{above: "1", rate: "2"}]}',
            "rebates row 1 (谁)",
            "customer: unknown customer D999",
        ),
        (
            '{name: 一, group: 经销商, steps: [{above: "1", rate: "2"}]}\n'
            '  - {name: 二, group: 经销商, steps: [{above: "1", rate: "3"}]}',
            "rebates row 2 (二)",
            "group: group 经销商 already has rebate agreement 一",
        ),
    ],
)
async def test_bad_rebate_master_data_is_refused_naming_row_and_field(tmp_path, rebate, where, problem):
    services = await make_services(sqlite_settings(tmp_path / "oms.db"))
    try:
        head = MASTER.split("rebates:")[0]
        before = await row_counts(services)
        with pytest.raises(MasterDataError) as refused:
            await load(services, head + "rebates:\n  - " + rebate + "\n")
        assert refused.value.where == where
        assert refused.value.problem.startswith(problem), refused.value.problem
        assert await row_counts(services) == before  # all or nothing: not even the products loaded
    finally:
        await services.close()


async def test_the_readmes_sample_master_data_loads(services):
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Distributor pricing and rebates", 1)[1]
    sample = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    report = await load(services, sample)
    assert report.counts["rebates"]["created"] == 1 and report.counts["price_lists"]["created"] == 4


@pytest.mark.pg
async def test_on_postgresql_a_settled_rebate_is_numbered_from_its_sequence_and_used(pg_url):
    services = await make_services(Settings(_env_file=None, database_url=pg_url, approval_threshold=Decimal("25000")))
    services.clock = Clock(START)
    try:
        await load(services, MASTER)
        shop = Shop(services, services.clock)
        await shop.completed("/neworder D001 TEA-001*150 pay=credit", "SF-PG1")  # 12,000 at 80: 2 % = 240
        [said] = await shop.say("王芳", "/rebate D001 settle")
        assert said == "Credit note CN-100001 for 240.00 sent to finance for approval."
        [card] = await shop.cards(CardKind.CREDIT_NOTE)
        view = render(card, Translator("zh-CN"), "Asia/Shanghai")
        assert dict(view.fields)["金额"] == "240.00 CNY" and dict(view.fields)["返点比例"] == "2%"
        tapped = await gateway.tap(services, Inbound("console", "王芳", "王芳"), view.buttons[0].action)
        assert tapped.texts == ["Approved credit note CN-100001."]
        no = await shop.order("李雷", "/neworder D001 TEA-001*5 pay=credit")
        assert (await detail(services, no))["total"] == "160.00"  # 400 less 240
    finally:
        await services.close()


async def test_a_workflow_condition_sees_the_rebate_rate_reached(shop):
    # Distributors at the 3 % step are trusted with large orders; below it a large order is reviewed
    shop.services.review_policy = WorkflowReview()
    rules = [
        "{name: top-distributor, on: order.received, when: customer.rebate_rate >= 3.0, auto_approve: true}",
        "{name: large, on: order.received, when: order.total > 10000, approve: {role: finance}}",
    ]
    async with shop.services.unit_of_work(SYSTEM) as ctx:
        await save_rules(ctx, [yaml.safe_load(rule) for rule in rules])
    first = await shop.order("李雷", "/neworder D001 TEA-001*200 pay=credit")  # 16,000: reviewed
    assert (await detail(shop.services, first))["status"] == "pending_approval"
    await shop.say("王芳", f"/approve {first}")
    await shop.delivered(first, "SF-W1")
    await shop.say("李雷", f"/complete {first}")
    await shop.completed("/neworder D001 TEA-001*5 pay=credit", "SF-W2")  # small: no review
    big = await shop.order("李雷", "/neworder D001 TEA-001*250 pay=credit")  # 20,000 at 2 %: reviewed
    assert (await detail(shop.services, big))["status"] == "pending_approval"
    await shop.say("王芳", f"/approve {big}")
    await shop.delivered(big, "SF-W3")
    await shop.say("李雷", f"/complete {big}")  # 36,400: the 3 % step
    trusted = await shop.order("李雷", "/neworder D001 TEA-001*200 pay=credit")
    order = await detail(shop.services, trusted)
    assert order["status"] != "pending_approval"
    assert any("top-distributor" in (h["reason"] or "") for h in order["history"])
