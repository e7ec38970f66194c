"""The outbox's WeCom client against the fake WeCom API over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.wecom.client import WeComClient, with_code
from tests.fakes.wecom import AGENT_ID, CORP_ID, SECRET, FakeWeCom
from tests.support.images import png


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


CHART = Attachment(filename="sales.png", media_type="image/png", data=png(64, 48), kind="image")
SLIP = Attachment(filename="送货单-SO-100001.pdf", media_type="application/pdf", data=b"%PDF-1.7 " + bytes(900))


async def test_an_image_is_uploaded_and_sent_as_an_image_message_after_its_caption(fake, client):
    msgid = await client.send_attachment("WangFang", CHART, {"text": "Sales today", "locale": "en"}, "k1")
    assert fake.texts("WangFang") == ["Sales today"]
    [sent] = fake.attachments("WangFang")
    assert sent["msgtype"] == "image" and sent["agentid"] == AGENT_ID and sent["media"]["data"] == CHART.data
    assert msgid.startswith("msg-")


async def test_a_file_keeps_its_chinese_name_and_goes_to_an_app_chat(fake, client):
    await client.send_attachment("chat:wrkSFfCgAAtMQKg", SLIP, {"text": "送货单", "locale": "zh_CN"}, "k1")
    caption, file = fake.chats["wrkSFfCgAAtMQKg"]
    assert caption["msgtype"] == "text" and caption["text"]["content"] == "送货单"
    [sent] = fake.attachments("chat:wrkSFfCgAAtMQKg")
    assert sent["msgtype"] == "file" and sent["media"]["filename"] == "送货单-SO-100001.pdf"
    assert sent["media"]["data"] == SLIP.data and sent["media"]["type"] == "file"


async def test_an_image_wecom_takes_only_as_a_file_is_uploaded_as_one(fake, client):
    gif = Attachment(filename="chart.gif", media_type="image/gif", data=b"GIF89a" + bytes(100), kind="image")
    await client.send_attachment("WangFang", gif, {"locale": "en"}, "k1")
    [sent] = fake.attachments("WangFang")
    assert sent["msgtype"] == "file" and sent["media"]["filename"] == "chart.gif"
    assert fake.texts("WangFang") == []  # no caption, no text message


async def test_a_retry_reuses_the_media_and_does_not_repeat_the_caption(fake, client):
    original = fake._refusal
    sends = iter(["caption", "throttled"])  # the upload and the caption go; the image message is throttled

    def refusal(request):
        if request.path == "/cgi-bin/message/send" and next(sends, None) == "throttled":
            return fake._refuse(request, 45009, "api freq out of limit")
        return original(request)

    fake._refusal = refusal
    with pytest.raises(Throttled):
        await client.send_attachment("WangFang", CHART, {"text": "Sales", "locale": "en"}, "k1")
    await client.send_attachment("WangFang", CHART, {"text": "Sales", "locale": "en"}, "k1")
    assert len(fake.media) == 1
    assert fake.texts("WangFang") == ["Sales"] and len(fake.attachments("WangFang")) == 1


async def test_refused_uploads_are_rejected(fake, client):
    broken = Attachment(filename="x.png", media_type="image/png", data=b"not a png at all", kind="image")
    with pytest.raises(Rejected, match="40005"):
        await client.send_attachment("WangFang", broken, {"text": "x", "locale": "en"}, "k1")
    huge = Attachment(filename="big.pdf", media_type="application/pdf", data=bytes(20 * 1024 * 1024 + 1))
    with pytest.raises(Rejected, match="20 MB"):
        await client.send_attachment("WangFang", huge, {"text": "x", "locale": "en"}, "k2")
    with pytest.raises(Rejected, match="81013"):  # every recipient unknown
        await client.send_attachment("Nobody", CHART, {"locale": "en"}, "k3")
    assert fake.received["WangFang"] == []


async def test_an_expired_token_during_an_upload_is_fetched_again(fake, client):
    await client.send_attachment("WangFang", CHART, {"locale": "en"}, "k1")
    fake.expire_tokens()
    await client.send_attachment("WangFang", CHART, {"locale": "en"}, "k2")
    assert len(fake.attachments("WangFang")) == 2 and fake.token_calls == 2
