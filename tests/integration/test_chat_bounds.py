"""What the chat layer takes from any platform: bounded, printable text, refused in the reader's language."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import gateway
from bot.gateway import Inbound
from bot.models import ChatMessage, Direction
from core.orders.models import Order
from tests.support.platforms import bind, demo_services


async def timeline(services, platform: str) -> list[tuple[str, str]]:
    """What was said on ``platform`` (the demo data sends low-stock alerts to other timelines)."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(ChatMessage.direction, ChatMessage.text)
            .where(ChatMessage.platform == platform)
            .order_by(ChatMessage.id)
        )
        return [(str(d), t) for d, t in rows]


async def orders(services) -> int:
    async with services.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Order))


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("slack", "A message can be at most 4,000 characters long; this one has 4,016."),
        ("dingtalk", "一条消息最多 4,000 个字符，这条有 4,016 个字符。"),
    ],
)
async def test_a_message_over_the_limit_is_refused_in_the_readers_language_and_does_nothing(
    tmp_path, platform, expected
):
    services = await demo_services(tmp_path)
    await bind(services, platform, {"李雷": "U1"})
    text = "/neworder C001 " + "x" * 4001  # 4,016 characters

    answer = await gateway.message(services, Inbound(platform, "U1", "U1", "m1"), text)

    assert answer.texts == [expected]
    assert await orders(services) == 0
    [(said_dir, said), (reply_dir, reply)] = await timeline(services, platform)
    assert (said_dir, reply_dir) == (Direction.IN, Direction.OUT) and reply == expected
    assert len(said) == 4000 and said.startswith("/neworder C001 xxx") and said.endswith("…")
    await services.close()


async def test_a_message_at_the_limit_is_read(tmp_path):
    services = await demo_services(tmp_path)
    await bind(services, "slack", {"李雷": "U1"})
    text = "/order " + " " * 3980 + "SO-100001"
    assert len(text) > 3990

    answer = await gateway.message(services, Inbound("slack", "U1", "U1", "m1"), text[:4000])

    assert answer.texts == ["Order SO-100001 does not exist."]
    await services.close()


async def test_control_characters_are_stripped_from_what_is_stored_and_echoed(tmp_path):
    services = await demo_services(tmp_path)
    await bind(services, "telegram", {"李雷": "11"})

    answer = await gateway.message(services, Inbound("telegram", "11", "11", "u1"), "/frob\x1b[2J\x00\ud800\x9b x\x07")

    assert answer.texts == ["Unknown command /frob[2j. Send /help to see what you can do."]
    assert await timeline(services, "telegram") == [(Direction.IN, "/frob[2J x"), (Direction.OUT, answer.texts[0])]
    await services.close()


@pytest.mark.parametrize(
    ("platform", "text", "expected"),
    [
        ("slack", "/neworder C001 TEA-001*100000000000000000000000", "TEA-001: a quantity can be at most 1,000,000."),
        ("dingtalk", "/下单 C001 TEA-001*100000000000000000000000", "TEA-001：数量最多为 1,000,000。"),
        ("slack", "/neworder C001 " + "CUP-01 " * 201, "An order can have at most 200 lines; this one has 201."),
        ("dingtalk", "/neworder C001 " + "CUP-01 " * 201, "每个订单最多 200 行，这个订单有 201 行。"),
        ("dingtalk", "/改单 SO-100001 TEA-001*100000000000000000000000", "TEA-001：数量最多为 1,000,000。"),
        ("slack", "/receive TEA-001 SH 100000000000000000000000", "TEA-001: a quantity can be at most 1,000,000."),
        ("slack", "/neworder C001 TEA-001*1 note=" + "n" * 1001, "Note can be at most 1,000 characters long."),
        ("dingtalk", "/neworder C001 TEA-001*1 note=" + "n" * 1001, "备注：最多 1,000 个字符。"),
        ("dingtalk", "/neworder C001 " + "A" * 65, "SKU：最多 64 个字符。"),
    ],
)
async def test_order_bounds_are_refused_by_name_in_the_readers_language(tmp_path, platform, text, expected):
    services = await demo_services(tmp_path)
    await bind(services, platform, {"李雷": "U1", "张仓": "W1"})
    await gateway.message(services, Inbound(platform, "U1", "U1", "m0"), "/neworder C002 TEA-001*45")
    speaker = "W1" if text.startswith("/receive") else "U1"

    answer = await gateway.message(services, Inbound(platform, speaker, speaker, "m1"), text)

    assert answer.texts == [expected]
    assert await orders(services) == 1
    await services.close()


@pytest.mark.parametrize("days", ["99999999999999999999", "0", "3661"])
async def test_a_report_period_out_of_range_gets_the_usage_not_an_apology(tmp_path, days):
    services = await demo_services(tmp_path)
    await bind(services, "slack", {"王芳": "U2"})

    answer = await gateway.message(services, Inbound("slack", "U2", "U2", "m1"), f"/report stalls {days}")

    assert answer.texts == [
        "Usage: /report today|7d|30d|YYYY-MM-DD..YYYY-MM-DD [by line|region|sales|channel] | stalls [days]"
    ]
    await services.close()
