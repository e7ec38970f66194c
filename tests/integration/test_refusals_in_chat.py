"""Each command's refusals, as a person reads them in chat, in English and in Chinese.

Drives the commands through ``bot.gateway.message`` (the door every adapter uses) for an
unknown order, a wrong state, a missing permission and bad arguments, and checks every answer the
way a DingTalk user would read it: a sentence in their language naming what is wrong, never an
internal state name, never Python.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from bot import gateway
from bot.gateway import Inbound
from core.orders.status import OrderStatus, PaymentStatus, ReturnStatus, ShipmentStatus
from core.users.models import User
from tests.support.master_data import seed
from tests.support.service_calls import detail, place

STATES = {s.value for enum in (OrderStatus, ReturnStatus, ShipmentStatus, PaymentStatus) for s in enum}
PYTHON = ("<class", "Traceback", "Decimal(", "None", "{", "}", "Error", "[<")
CJK = re.compile(r"[\u4e00-\u9fff]")


async def say(services, who: str, text: str, locale: str) -> str:
    async with services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == who).values(locale=locale))
    answer = await gateway.message(services, Inbound("console", who, who), text)
    return "\n".join(answer.texts)


def unreadable(text: str, *, chinese: bool) -> list[str]:
    found = [f"looks like Python ({marker})" for marker in PYTHON if marker in text]
    prose = re.sub(r"/[a-z]+", "", text)  # a command's name (/delivered) is what people type
    words = re.findall(r"[A-Za-z_]+", prose)
    found += [f"raw state {w}" for w in words if w in STATES and (chinese or "_" in w)]
    if chinese and not CJK.search(text):
        found.append("not Chinese")
    return found


@pytest.fixture
async def shop(services):
    """Seeded data, and orders awaiting payment, pending approval and on hold."""
    await seed(services)
    orders = {
        "unpaid": await place(services),
        "pending": await place(services, items={"TEA-001": 50}),
        "held": await place(services, items={"TEA-0O1": 1}),
    }
    assert [(await detail(services, no))["status"] for no in orders.values()] == [
        "awaiting_payment",
        "pending_approval",
        "on_hold",
    ]
    return services, orders


# (who, command, what the English answer says, what the Chinese answer says); {unpaid},
# {pending} and {held} stand for the orders.
CASES = [
    # unknown things
    ("李雷", "/order SO-999999", "Order SO-999999 does not exist.", "订单 SO-999999 不存在。"),
    ("客服", "/rma RMA-999999 approve", "Return RMA-999999 does not exist.", "退货单 RMA-999999 不存在。"),
    ("李雷", "/neworder C999 TEA-001*1", "Customer C999 does not exist.", "客户 C999 不存在。"),
    ("李雷", "/stock TEA-01", "Unknown SKU TEA-01. Did you mean TEA-001?", "TEA-001"),
    ("李雷", "/neworder C001 TEA-001*1 address=nowhere", "no address labelled nowhere", "没有标签为“nowhere”的地址"),
    ("张仓", "/receive TEA-001 XX 5", "Warehouse XX does not exist.", "仓库 XX 不存在。"),
    # the wrong state
    ("客服", "/return {unpaid} TEA-001*1 broken", "is awaiting payment; only goods that have shipped", "当前为待付款"),
    (
        "张仓",
        "/ship {unpaid} SF 123456",
        "Cannot ship {unpaid}: it is awaiting payment.",
        "无法发货 {unpaid}：当前状态为待付款。",
    ),
    ("李雷", "/complete {unpaid}", "Cannot complete {unpaid}: it is awaiting payment.", "当前状态为待付款"),
    ("王芳", "/approve {unpaid}", "Cannot approve {unpaid}: it is awaiting payment.", "无法批准 {unpaid}"),
    ("王芳", "/pay {held}", "No payment can be recorded for {held}: it is on hold.", "无法为 {held} 登记付款"),
    ("张仓", "/packed {unpaid}", "Cannot pack {unpaid}: it is awaiting payment.", "无法打包"),
    # a permission missing, named for what the command needs
    ("李雷", "/report today", "You may not view reports.", "您无权查看报表。"),
    ("杭州茶社", "/report today", "You may not view reports.", "您无权查看报表。"),
    ("李雷", "/approve {pending}", "You may not approve or reject orders.", "您无权"),
    (
        "杭州茶社",
        "/neworder C002 TEA-001*1",
        "You can only order for your own account (C001).",
        "您只能为自己的账户（C001）下单。",
    ),
    ("杭州茶社", "/neworder C999 TEA-001*1", "You can only order for your own account (C001).", "（C001）"),
    (
        "李雷",
        "/rma RMA-100001 approve",
        "You may not approve, receive and inspect returns or refund returns.",
        "您无权",
    ),
    ("广仓", "/pick {unpaid}", "it is not allocated to your warehouse", "该订单未分配到您负责的仓库"),
    ("张仓", "/receive TEA-001 GZ 5", "You may not receive or adjust stock in GZ: it is not your warehouse.", "GZ"),
    ("杭州茶社", "/pay {unpaid}", "You may not confirm payments.", "您无权"),
    # bad arguments, naming the field and the form it takes
    (
        "李雷",
        "/neworder C001 TEA-001*1 discount=abc",
        "discount must be a number of percent, e.g. discount=5",
        "discount=5",
    ),
    ("李雷", "/neworder C001 TEA-001*1 discount=150", "The discount must be a percentage from 0 to 100", "0 到 100"),
    ("李雷", "/neworder C001 TEA-001*1 pay=cash", "pay must be prepaid, cod or credit, e.g. pay=credit", "pay=credit"),
    ("李雷", "/neworder C001 TEA-001*1 pay=", "pay= needs a value, e.g. pay=credit.", "pay= 需要填写值"),
    ("李雷", "/neworder C001 TEA-001*1 colour=red", "Unknown option colour=", "无法识别的选项 colour="),
    ("李雷", "/neworder C001 TEA-001*0", "TEA-001: the quantity must be at least 1, not 0.", "数量至少为 1"),
    ("李雷", "/neworder C001 x2", "x2 is a quantity with no SKU before it", "前面没有 SKU"),
    ("李雷", "/neworder C001 TEA-001*1 a=", "Unknown option a=", "无法识别的选项"),
    ("李雷", "/edit {pending} pay=cash", "pay must be prepaid, cod or credit", "pay=credit"),
    ("李雷", "/edit {pending} discount=5", "Unknown option discount=; this command takes pay=credit.", "pay=credit"),
    ("李雷", "/cancel {unpaid}", "Say why {unpaid} is cancelled.", "请说明取消 {unpaid} 的原因。"),
    ("王芳", "/reject {pending}", "Say why {pending} is rejected.", "请说明驳回 {pending} 的原因。"),
    ("张仓", "/receive GIFT-01 SH 5", "GIFT-01 is a kit; receive or adjust its components instead.", "套装"),
    ("张仓", "/receive TEA-001 SH 0", "A receipt must add at least 1 unit, not 0.", "入库数量至少为 1"),
    ("张仓", "/ship {unpaid}", "Usage: /ship SO-100001 SF 1234567890", "用法：/ship SO-100001 SF 1234567890"),
    ("王芳", "/reject", "Usage: /reject SO-100001 reason", "用法：/reject SO-100001 原因"),
    ("李雷", "/lang", "Usage: /lang en|zh", "用法："),
    (
        "经理",
        "/report yesterday",
        "Usage: /report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [by line|region|sales|channel] | stalls [days]",
        "用法：/report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [按 产品线|地区|销售|渠道] | stalls [天数]",
    ),
    (
        "经理",
        "/report stalls x",
        "Usage: /report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [by line|region|sales|channel] | stalls [days]",
        "[天数]",
    ),
    ("李雷", "/nosuchthing", "Unknown command /nosuchthing.", "/nosuchthing"),
]


@pytest.mark.parametrize("who, command, english, chinese", CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_a_refusal_reads_well_in_both_languages(shop, who, command, english, chinese):
    services, orders = shop
    command, english, chinese = (s.format(**orders) for s in (command, english, chinese))
    before = {no: (await detail(services, no))["version"] for no in orders.values()}

    said_en = await say(services, who, command, "en")
    said_zh = await say(services, who, command, "zh-CN")

    assert english in said_en and unreadable(said_en, chinese=False) == [], said_en
    assert chinese in said_zh and unreadable(said_zh, chinese=True) == [], said_zh
    assert {no: (await detail(services, no))["version"] for no in orders.values()} == before  # nothing changed


async def test_people_who_read_reports_get_them(shop):
    services, _ = shop
    for who in ("经理", "王芳", "管理员"):
        assert "Today: " in await say(services, who, "/report today", "en")
    assert "今日" in await say(services, "经理", "/report today", "zh-CN")


async def test_the_dingtalk_users_story_from_the_issue(shop):
    """A Chinese user returning an unshipped order, and typing a discount wrong."""
    services, orders = shop
    unpaid = orders["unpaid"]

    returned = await say(services, "客服", f"/return {unpaid} TEA-001*1 坏了", "zh-CN")
    discounted = await say(services, "李雷", "/neworder C001 TEA-001*1 discount=abc", "zh-CN")

    assert returned == f"{unpaid} 当前为待付款，只有已发货的商品才能退货。"
    assert discounted == "折扣（discount）须为百分比数字，例如 discount=5（而不是 abc）。"
