"""The DingTalk outbox client against the fake OpenAPI: what it sends and how it reads refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.dingtalk.client import DingTalkClient
from tests.fakes.dingtalk import FakeDingTalk
from tests.support.images import png

CARD = {
    "card_id": 7,
    "kind": "approval",
    "title": "Approval needed: SO-100007",
    "fields": [{"label": "Customer", "value": "广州茶馆"}],
    "notes": [],
    "buttons": [{"label": "Approve", "action": "ap:7:1", "style": "primary", "command": "/approve SO-100007"}],
    "outcome": None,
    "state": "open",
    "version": 1,
}
CLOSED = {**CARD, "buttons": [], "outcome": "Approved by 王芳 at 14:03", "state": "closed", "version": 2}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    platform = await FakeDingTalk().start()
    yield platform
    await platform.stop()


@pytest.fixture
async def client(fake) -> AsyncIterator[DingTalkClient]:
    dingtalk = DingTalkClient(
        client_id=fake.client_id, client_secret=fake.client_secret, card_template_id="tpl", api_url=fake.url
    )
    yield dingtalk
    await dingtalk.close()


async def test_card_to_a_group_and_its_update(client, fake):
    track = await client.send("cidGroup==", {"card": CARD, "locale": "en"}, "0123456789abcdef-extra")
    assert track == "oms-7-0123456789abcdef"
    create = fake.cards[track]["create"]
    assert create["openSpaceId"] == "dtv1.card//IM_GROUP.cidGroup=="
    assert create["imGroupOpenDeliverModel"] == {"robotCode": fake.client_id}
    await client.edit("cidGroup==", track, {"card": CLOSED, "locale": "en"}, "k2")
    assert fake.cards[track]["params"]["outcome"] == "Approved by 王芳 at 14:03"
    assert fake.cards[track]["params"]["btn1_visible"] == "false"


async def test_one_token_for_many_concurrent_sends(client, fake):
    await asyncio.gather(*(client.send(f"staff_{n}", {"text": f"hi {n}"}, f"k{n}") for n in range(10)))
    assert fake.token_calls == 1
    assert fake.texts("staff_3") == ["hi 3"]


async def test_a_revoked_token_is_fetched_again_after_401(client, fake):
    await client.send("staff_a", {"text": "one"}, "k1")
    fake.tokens.clear()
    with pytest.raises(DeliveryError):  # retried by the dispatcher
        await client.send("staff_a", {"text": "two"}, "k2")
    await client.send("staff_a", {"text": "two"}, "k2")
    assert fake.token_calls == 2 and fake.texts("staff_a") == ["one", "two"]


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (429, {"code": "Throttling", "message": "slow down"}, Throttled),
        (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}, Throttled),
        (200, {"errcode": 90018, "errmsg": "too many calls"}, Throttled),
        (500, {"code": "ServiceUnavailable"}, DeliveryError),
        (400, {"code": "InvalidParameter", "message": "userId invalid"}, Rejected),
    ],
)
async def test_refusals_are_read_as_throttling_transient_or_permanent(client, fake, status, body, expected):
    fake.script.append((status, body))
    with pytest.raises(expected) as raised:
        await client.send("staff_a", {"text": "x"}, "k")
    assert type(raised.value) is expected
    assert fake.texts("staff_a") == []
    if expected is Throttled:
        assert 0 < raised.value.retry_after <= 60


async def test_flow_controlled_and_invalid_staff_ids(client, fake):
    fake.script.append((200, {"processQueryKey": "q", "flowControlledStaffIdList": ["staff_a"]}))
    with pytest.raises(Throttled):
        await client.send("staff_a", {"text": "x"}, "k")
    fake.script.append((200, {"processQueryKey": "q", "invalidStaffIdList": ["staff_gone"]}))
    with pytest.raises(Rejected):
        await client.send("staff_gone", {"text": "x"}, "k")


async def test_without_a_template_cards_are_markdown_and_edits_are_new_messages(fake):
    plain = DingTalkClient(client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.url)
    try:
        message_id = await plain.send("staff_a", {"card": CARD, "locale": "en"}, "k1")
        assert message_id.startswith("md:") and not fake.cards
        [sent] = fake.robot["staff_a"]
        assert sent["msgKey"] == "sampleMarkdown" and "Approve: `/approve SO-100007`" in sent["text"]
        await plain.edit("staff_a", message_id, {"card": CLOSED, "locale": "en"}, "k2")
        assert "Approved by 王芳" in fake.robot["staff_a"][-1]["text"]
        body = [b for _, path, b in fake.calls if path.endswith("batchSend")][0]
        assert json.loads(body["msgParam"])["title"] == "Approval needed: SO-100007"
    finally:
        await plain.close()


async def test_with_an_agent_id_texts_to_one_person_are_work_notifications(fake):
    notifier = DingTalkClient(
        client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.url, oapi_url=fake.url, agent_id="42"
    )
    try:
        message_id = await notifier.send("staff_a", {"text": "SO-100001 已确认"}, "k1")
        assert message_id.startswith("wn:")
        assert fake.notices["staff_a"] == [{"msgtype": "text", "text": {"content": "SO-100001 已确认"}}]
        assert not fake.robot  # not a robot message
        await notifier.send("cidGroup==", {"text": "to the group"}, "k2")  # groups still get the robot
        assert fake.texts("cidGroup==") == ["to the group"]
        await notifier.send("staff_a", {"text": "/help output", "reply": True}, "k5")  # a reply: the robot
        assert fake.texts("staff_a") == ["/help output"] and len(fake.notices["staff_a"]) == 1
        fake.notice_script.append({"errcode": 90018, "errmsg": "too many calls"})
        with pytest.raises(Throttled):
            await notifier.send("staff_a", {"text": "again"}, "k3")
        fake.notice_script.append({"errcode": 60121, "errmsg": "user not found"})
        with pytest.raises(Rejected):
            await notifier.send("staff_gone", {"text": "x"}, "k4")
    finally:
        await notifier.close()


async def test_wrong_app_credentials_are_retried_not_dropped(fake):
    wrong = DingTalkClient(client_id=fake.client_id, client_secret="not-the-secret", api_url=fake.url)
    try:
        with pytest.raises(DeliveryError):  # the outbox retries it: fixing the secret is enough
            await wrong.send("staff_a", {"text": "hello"}, "k1")
    finally:
        await wrong.close()


@pytest.fixture
async def media_client(fake) -> AsyncIterator[DingTalkClient]:
    dingtalk = DingTalkClient(
        client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.url, oapi_url=fake.url
    )
    yield dingtalk
    await dingtalk.close()


CHART = Attachment(filename="今日销售.png", media_type="image/png", data=png(80, 50), kind="image")
PDF = Attachment(filename="pick-SH.pdf", media_type="application/pdf", data=b"%PDF-1.7 " + bytes(3000), kind="file")


async def test_an_image_is_uploaded_then_sent_as_a_robot_image_after_its_caption(media_client, fake):
    key = await media_client.send_attachment("manager1", CHART, {"text": "今日销售", "locale": "zh_CN"}, "k1")
    caption, image = fake.robot["manager1"]
    assert caption == {"msgKey": "sampleText", "content": "今日销售"}
    [sent] = fake.attachments("manager1")
    assert sent["msgKey"] == "sampleImageMsg" and sent["media"]["data"] == CHART.data
    assert sent["media"]["type"] == "image" and sent["media"]["filename"] == "今日销售.png"
    assert key.startswith("pqk-")


async def test_a_file_to_a_group_is_a_sample_file_message(media_client, fake):
    await media_client.send_attachment("cidGroup==", PDF, {"text": "Pick list SH", "locale": "en"}, "k1")
    [sent] = fake.attachments("cidGroup==")
    assert sent["msgKey"] == "sampleFile" and sent["fileName"] == "pick-SH.pdf" and sent["fileType"] == "pdf"
    assert sent["media"]["data"] == PDF.data and sent["media"]["type"] == "file"
    assert fake.texts("cidGroup==")[0] == "Pick list SH"


async def test_a_retry_reuses_the_upload_and_does_not_repeat_the_caption(media_client, fake):
    fake.script.append((429, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}))
    fake.script.append((200, {"processQueryKey": "pqk-caption"}))  # the caption goes...
    fake.script.append((429, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}))  # ...the image not
    with pytest.raises(Throttled):
        await media_client.send_attachment("manager1", CHART, {"text": "Sales", "locale": "en"}, "k1")
    with pytest.raises(Throttled):
        await media_client.send_attachment("manager1", CHART, {"text": "Sales", "locale": "en"}, "k1")
    await media_client.send_attachment("manager1", CHART, {"text": "Sales", "locale": "en"}, "k1")
    assert len(fake.media) == 1 and len(fake.attachments("manager1")) == 1
    assert [path for _, path, _ in fake.calls].count("/media/upload") == 1


async def test_refused_uploads_are_rejected_and_nothing_is_said(media_client, fake):
    fake.media_script.append({"errcode": 40006, "errmsg": "不合法的文件长度"})
    with pytest.raises(Rejected, match="40006"):
        await media_client.send_attachment("manager1", CHART, {"text": "Sales", "locale": "en"}, "k1")
    huge = Attachment(filename="big.pdf", media_type="application/pdf", data=bytes(20 * 1024 * 1024 + 1), kind="file")
    with pytest.raises(Rejected, match="20 MB"):
        await media_client.send_attachment("manager1", huge, {"text": "x", "locale": "en"}, "k2")
    assert fake.robot["manager1"] == [] and fake.media == {}
    fake.media_script.append({"errcode": 90018, "errmsg": "api freq out of limit"})
    with pytest.raises(Throttled):
        await media_client.send_attachment("manager1", CHART, {"text": "Sales", "locale": "en"}, "k3")
