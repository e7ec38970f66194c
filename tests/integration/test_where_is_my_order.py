"""'Where is my order' in plain words through the gateway: a customer hears their latest order's
status and its parcel's last scan in their language, never another customer's order; staff typing
an order number alone get the /order view; anything else still says commands start with /."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot import gateway
from bot.gateway import Inbound
from core.auth import Actor
from core.orders import fulfilment
from core.orders.fulfilment import ShipRequest
from core.services import Services
from core.shipping import tracking
from integrations.carriers.kuaidi100 import push_from
from tests.support import carriers as wire
from tests.support.platforms import bind, demo_services
from tests.support.service_calls import as_user, place


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[Services]:
    services = await demo_services(tmp_path, **wire.SETTINGS)
    # DingTalk speaks Chinese by default, Slack English.
    await bind(services, "dingtalk", {"杭州茶社": "hz", "广州茶馆": "gz", "王芳": "wf"})
    await bind(services, "slack", {"杭州茶社": "U-HZ", "李雷": "U-LL"})
    yield services
    await services.close()


async def shipped(services: Services, tracking_no: str = "SF1001") -> str:
    no = await place(services, payment_terms="credit")  # C001, 杭州茶社
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", tracking_no)))
    return no


async def scanned(services: Services, tracking_no: str, seen: int) -> None:
    param = json.dumps(wire.kuaidi100_param(tracking_no, wire.SF_LIFE[:seen]), ensure_ascii=False)
    await services.run(Actor.system("carrier:kuaidi100"), lambda ctx: tracking.take(ctx, push_from(param)))


async def say(services: Services, platform: str, user: str, text: str) -> list[str]:
    return (await gateway.message(services, Inbound(platform, user=user, chat=user), text)).texts


async def test_a_customer_asking_in_chinese_hears_their_latest_parcels_last_scan(demo):
    no = await shipped(demo)
    await scanned(demo, "SF1001", 4)

    [answer] = await say(demo, "dingtalk", "hz", "我的快递到哪了？")

    lines = answer.splitlines()
    assert no in lines[0] and "已发货" in lines[0], answer
    assert "顺丰 SF1001" in lines[1] and "派送中" in lines[1], answer  # the carrier's name in their language
    assert lines[2] == "  12-02 08:30 上海市 【上海市】快件交给张师傅，正在派送途中（联系电话：13800000000）"
    assert lines[3] == f"发送 /物流 {no} 查看全部轨迹。"
    assert await say(demo, "dingtalk", "hz", "物流") == [answer]
    assert await say(demo, "dingtalk", "hz", no.lower()) == [answer]  # the order number alone, any case


async def test_the_same_question_in_english_on_slack(demo):
    no = await shipped(demo)

    [answer] = await say(demo, "slack", "U-HZ", "Where's my parcel?")

    assert answer.splitlines()[0] == f"Your order *{no}*: shipped"
    assert "SF Express SF1001" in answer and "No scans from the carrier yet." in answer


async def test_a_customer_never_sees_another_customers_order(demo):
    no = await shipped(demo)

    assert await say(demo, "dingtalk", "gz", no) == [f"订单 {no} 不存在。"]
    assert await say(demo, "dingtalk", "gz", f"我的订单{no}到哪了") == [f"订单 {no} 不存在。"]
    assert await say(demo, "dingtalk", "gz", "我的订单到哪了") == ["您还没有订单。"]  # 广州茶馆 has none


async def test_before_shipping_the_customer_hears_it_has_not_shipped(demo):
    no = await place(demo, payment_terms="credit")

    [answer] = await say(demo, "slack", "U-HZ", "where is my order")

    assert answer.splitlines() == [f"Your order *{no}*: ready to pick", "It has not shipped yet."]


async def test_staff_typing_an_order_number_get_the_order_view(demo):
    no = await shipped(demo)

    [view] = await say(demo, "slack", "U-LL", f" {no.lower()} ")
    [typed] = await say(demo, "slack", "U-LL", f"/order {no}")

    assert view == typed and "Customer: 杭州茶社" in view


async def test_anything_else_still_says_commands_start_with_a_slash(demo):
    await shipped(demo)
    hint = ["Commands start with /. Send /help to see what you can do."]

    assert await say(demo, "slack", "U-LL", "where is my order") == hint  # staff have no order of their own
    assert await say(demo, "slack", "U-HZ", "hello there") == hint
    assert await say(demo, "slack", "U-HZ", "cancel SO-100001") == hint
    assert (await say(demo, "dingtalk", "wf", "你好"))[0].startswith("命令以 /")
