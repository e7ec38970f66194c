"""The outbox's WeCom client against the fake WeCom API over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.outbox.clients import DeliveryError, Rejected, Throttled
from integrations.wecom.client import WeComClient, with_code
from tests.fakes.wecom import AGENT_ID, CORP_ID, SECRET, FakeWeCom


def approval(**overrides):
    return {
        "card": {
            "card_id": 12,
            "kind": "approval",
            "title": "Approval needed: SO-100001",
            "fields": [{"label": "Customer", "value": "杭州茶社"}],
            "notes": [],
            "buttons": [{"label": "Approve", "action": "ap:12:3", "style": "primary"}],
            "outcome": None,
            "state": "open",
            "version": 3,
        }
        | overrides,
        "locale": "en",
    }


CLOSED = approval(buttons=[], outcome="Approved by 王芳 at 14:03", state="closed")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    fake = await FakeWeCom(users={"WangFang", "ZhaoJL", "LiLei"}).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(fake) -> AsyncIterator[WeComClient]:
    client = WeComClient(fake.url, CORP_ID, SECRET, AGENT_ID)
    yield client
    await client.close()


async def test_every_copy_is_updated_with_its_own_response_code(fake, client):
    ids = {user: await client.send(user, approval(), f"key{user}") for user in ("WangFang", "ZhaoJL")}
    # 王芳 taps: her copy gets a fresh code, which the edit uses first
    task = ids["WangFang"].split("|")[1]
    ids["WangFang"] = with_code(ids["WangFang"], fake.tap_code("WangFang", task))
    for user, message_id in ids.items():
        await client.edit(user, message_id, CLOSED, f"edit{user}")
    for user, message_id in ids.items():
        card = fake.cards[user][message_id.split("|")[1]]
        assert card["replaced_name"] == "Approved by 王芳 at 14:03" and card["button_list"] == []
    assert len(fake.codes) == 1  # 王芳's send code is still unused: one more update is possible


async def test_when_every_code_is_spent_the_outcome_arrives_as_a_new_message(fake, client):
    message_id = await client.send("ZhaoJL", approval(), "k1")
    await client.edit("ZhaoJL", message_id, approval(version=4), "e1")  # spends the send's only code
    updates = len(fake.updates)

    await client.edit("ZhaoJL", message_id, CLOSED, "e2")

    assert len(fake.updates) == updates  # a spent code is not offered to WeCom again
    assert fake.texts("ZhaoJL")[-1] == "Approval needed: SO-100001\nApproved by 王芳 at 14:03"


async def test_a_tap_code_kept_in_the_message_id_updates_the_copy_after_a_restart(fake, client):
    message_id = await client.send("ZhaoJL", approval(), "k1")
    await client.edit("ZhaoJL", message_id, approval(version=4), "e1")  # the send's code is spent
    task = message_id.split("|")[1]
    message_id = with_code(message_id, fake.tap_code("ZhaoJL", task))
    restarted = WeComClient(fake.url, CORP_ID, SECRET, AGENT_ID)  # remembers nothing in memory
    try:
        await restarted.edit("ZhaoJL", message_id, CLOSED, "e2")
    finally:
        await restarted.close()
    assert fake.cards["ZhaoJL"][task]["replaced_name"] == "Approved by 王芳 at 14:03"


def test_message_ids_keep_the_newest_few_codes():
    message_id = "m1|oms-12-k|S"
    for code in ("T1", "T2", "T3", "T4", "T3"):
        message_id = with_code(message_id, code)
    assert message_id == "m1|oms-12-k|T1,T2,T4,T3"
    assert with_code("plain-text-id", "T") == "plain-text-id"


async def test_one_token_for_concurrent_sends_and_a_new_one_when_expired(fake, client):
    await asyncio.gather(*(client.send("LiLei", {"text": f"m{i}"}, f"k{i}") for i in range(5)))
    assert fake.token_calls == 1
    fake.expire_tokens()
    await client.send("LiLei", {"text": "after expiry"}, "k9")
    assert fake.token_calls == 2 and fake.texts("LiLei")[-1] == "after expiry"


async def test_throttling_and_unknown_users(fake, client):
    fake.script = [45009]
    with pytest.raises(Throttled):
        await client.send("LiLei", {"text": "hi"}, "k1")
    assert not fake.texts("LiLei")
    with pytest.raises(Rejected):
        await client.send("Nobody", {"text": "hi"}, "k2")


async def test_wrong_secret_is_retried_not_dead_lettered(fake):
    client = WeComClient(fake.url, CORP_ID, "wrong", AGENT_ID)
    with pytest.raises(DeliveryError) as error:
        await client.send("LiLei", {"text": "hi"}, "k1")
    assert not isinstance(error.value, Throttled)
    await client.close()


async def test_group_chats_get_text_and_cards_as_markdown_and_updates_as_new_messages(fake, client):
    await client.send("chat:ops", {"text": "今日订单 12 单", "locale": "zh-CN"}, "k1")
    card = approval(buttons=[{"label": "Approve", "action": "ap:12:3", "style": "primary", "command": "/approve SO-1"}])
    message_id = await client.send("chat:ops", card, "k2")
    await client.edit("chat:ops", message_id, CLOSED, "k3")

    sent = fake.chats["ops"]
    assert [b["msgtype"] for b in sent] == ["text", "markdown", "text"]
    assert sent[0]["text"]["content"] == "今日订单 12 单"
    assert "Approve: `/approve SO-1`" in sent[1]["markdown"]["content"]
    assert sent[2]["text"]["content"] == "Approval needed: SO-100001\nApproved by 王芳 at 14:03"
