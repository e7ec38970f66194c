"""Hostile input to the console's HTTP API on a running server: a clear 4xx, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.models import ChatMessage, Direction
from core.orders.models import Order

JSON = {"Content-Type": "application/json"}


async def rows(services) -> tuple[int, int]:
    """Orders, and what people said on timelines: any request the chat layer took writes the
    latter (notifications of the demo's own events reach timelines meanwhile, so not those)."""
    async with services.sessions() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        said = await session.scalar(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.direction == Direction.IN)
        )
    return orders, said


async def refused(response, status: int, says: str) -> None:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    assert says in (await response.json())["error"]


async def test_a_lone_surrogate_in_the_text_is_400_and_nothing_is_kept(console_app):
    chat, services = console_app
    before = await rows(services)
    body = '{"user": "lilei", "text": "/neworder C001 TEA-001*1 note=\\ud800"}'

    response = await chat.client.post("/console/api/messages", data=body, headers=JSON)

    await refused(response, 400, "lone surrogate")
    assert await rows(services) == before


@pytest.mark.parametrize("path", ["/console/api/inbox", "/console/api/stream"])
@pytest.mark.parametrize("after", ["9" * 30, "2147483648", "-1", "1e9"])
async def test_a_cursor_out_of_range_is_400(console_app, path, after):
    chat, services = console_app
    before = await rows(services)

    response = await chat.client.get(path, params={"user": "lilei", "after": after})

    await refused(response, 400, "'after' must be a whole number from 0 to 2147483647")
    assert await rows(services) == before


@pytest.mark.parametrize(
    ("depth", "status", "says"),
    [
        (100_000, 413, "larger than 65,536 bytes"),  # the body: over the size bound first
        (30_000, 400, "nests deeper than 32 levels"),  # within the size bound: json.loads would recurse
    ],
)
async def test_deeply_nested_json_is_refused_without_recursing(console_app, depth, status, says):
    chat, services = console_app
    before = await rows(services)

    response = await chat.client.post("/console/api/messages", data="[" * depth + "]" * depth, headers=JSON)

    await refused(response, status, says)
    assert await rows(services) == before


async def test_a_body_streamed_without_a_length_is_cut_off_at_the_bound(console_app):
    chat, services = console_app

    async def chunks():
        yield b'{"user": "lilei", "text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = await chat.client.post("/console/api/messages", data=chunks(), headers=JSON)

    await refused(response, 413, "larger than 65,536 bytes")
    assert (await rows(services))[1] == 0


async def test_a_huge_quantity_is_refused_by_name_in_chat_and_no_order_is_written(console_app):
    chat, services = console_app

    replies = await chat.say("lilei", "/neworder C001 TEA-001*100000000000000000000000")

    assert replies == ["TEA-001: a quantity can be at most 1,000,000."]
    assert (await rows(services))[0] == 0


async def test_a_card_id_beyond_the_id_columns_is_400(console_app):
    chat, services = console_app
    for card_id in (10**30, True, -1):
        response = await chat.client.post(
            "/console/api/actions", json={"user": "wangfang", "card_id": card_id, "action": "ap:1:1"}
        )
        await refused(response, 400, "'card_id' (a number)")
    assert await rows(services) == (0, 0)


async def test_control_characters_are_stripped_from_the_timeline_and_the_replies(console_app):
    chat, _ = console_app

    replies = await chat.say("lilei", "/frob\x1b[2J\x00\x9b\x7f")

    assert replies == ["Unknown command /frob[2j. Send /help to see what you can do."]
    said = [e["text"] for e in await chat.inbox("lilei") if e["direction"] == "in"]
    assert said == ["/frob[2J"]


async def test_a_message_over_the_text_limit_gets_the_refusal_not_the_command(console_app):
    chat, services = console_app

    replies = await chat.say("lilei", "/neworder C001 TEA-001*1 note=" + "x" * 4000)

    assert replies == ["A message can be at most 4,000 characters long; this one has 4,030."]
    assert (await rows(services))[0] == 0
