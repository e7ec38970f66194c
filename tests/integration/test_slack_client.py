"""The outbox client against the fake Slack: where messages land, and Slack's refusals as the
dispatcher's exceptions (429 → Throttled, 5xx → DeliveryError, ok:false → Rejected)."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.clients import DeliveryError, Rejected, Throttled
from bot.views import Attachment
from integrations.slack.client import SlackClient
from tests.fakes.slack import BOT_TOKEN, FakeSlack

CARD = {
    "card_id": 7,
    "kind": "approval",
    "title": "Approval needed: SO-1",
    "fields": [{"label": "Customer", "value": "杭州茶社"}],
    "notes": [],
    "buttons": [{"label": "Approve", "action": "ap:7:1", "style": "primary"}],
    "outcome": None,
    "state": "open",
    "version": 1,
}


@pytest.fixture
async def slack():
    fake = await FakeSlack().start()
    yield fake, SlackClient(AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url))
    await fake.stop()


async def test_a_card_to_a_user_lands_in_the_direct_chat_and_is_edited_there(slack):
    fake, client = slack
    message_id = await client.send("U0WANG", {"card": CARD, "locale": "en"}, "k1")
    channel, ts = message_id.split(":")
    assert channel == fake.dm("U0WANG") and fake.messages(channel)[0]["ts"] == ts
    assert fake.messages(channel)[0]["blocks"][-1]["type"] == "actions"
    closed = {**CARD, "buttons": [], "outcome": "Approved by 王芳 at 14:03", "state": "closed"}
    await client.edit("U0WANG", message_id, {"card": closed, "locale": "en"}, "k2")
    [copy] = fake.messages(channel)
    assert copy["edited"] and all(b["type"] != "actions" for b in copy["blocks"])
    assert fake.methods("chat.update")[0]["channel"] == channel  # the D… channel, not the user id


async def test_rate_limit_is_throttled_with_slacks_retry_after(slack):
    fake, client = slack
    fake.script["chat.postMessage"] = [429]
    with pytest.raises(Throttled) as raised:
        await client.send("C1", {"text": "hi", "locale": "en"}, "k")
    assert raised.value.retry_after == 1.0
    assert await client.send("C1", {"text": "hi", "locale": "en"}, "k")


async def test_server_errors_are_transient(slack):
    fake, client = slack
    fake.script["chat.postMessage"] = [503]
    with pytest.raises(DeliveryError) as raised:
        await client.send("C1", {"text": "hi", "locale": "en"}, "k")
    assert not isinstance(raised.value, Throttled)


async def test_permanent_refusals_are_rejected(slack):
    fake, client = slack
    fake.missing.add("C0GONE")
    with pytest.raises(Rejected, match="channel_not_found"):
        await client.send("C0GONE", {"text": "hi", "locale": "en"}, "k")
    with pytest.raises(Rejected, match="message_not_found"):
        await client.edit("C1", "C1:1700000000.000100", {"card": CARD, "locale": "en"}, "k")
    with pytest.raises(Rejected, match="invalid_auth"):
        await SlackClient(AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)).send("C1", {"text": "x"}, "k")


async def test_unreachable_slack_is_transient():
    client = SlackClient(AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", timeout=2))
    with pytest.raises(DeliveryError):
        await client.send("C1", {"text": "hi", "locale": "en"}, "k")


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the bytes only travel; nothing decodes them


async def test_an_image_is_uploaded_and_shared_into_the_channel_with_its_caption(slack):
    fake, client = slack
    chart = Attachment(filename="sales.png", media_type="image/png", data=PNG, kind="image")
    message_id = await client.send_attachment("C0SALES", chart, {"text": "Sales <today>", "locale": "en"}, "k1")
    [share] = fake.messages("C0SALES")
    assert share["subtype"] == "file_share" and share["text"] == "Sales &lt;today&gt;"
    [file] = share["files"]
    assert message_id == f"C0SALES:file:{file['id']}" and file["name"] == "sales.png"
    assert fake.file_data(file["id"]) == PNG
    [asked] = fake.methods("files.getUploadURLExternal")
    assert int(asked["length"]) == len(PNG) and asked["alt_txt"] == "Sales <today>"


async def test_a_file_to_a_user_goes_to_the_direct_chat_opened_for_it(slack):
    fake, client = slack
    pdf = Attachment(filename="pick.pdf", media_type="application/pdf", data=b"%PDF-1.7 fake", kind="file")
    await client.send_attachment("U0ZHANG", pdf, {"text": "Pick list", "locale": "en"}, "k1")
    await client.send_attachment("U0ZHANG", pdf, {"text": "Again", "locale": "en"}, "k2")
    channel = fake.dm("U0ZHANG")
    assert [m["text"] for m in fake.messages(channel)] == ["Pick list", "Again"]
    assert [m["files"][0]["name"] for m in fake.messages(channel)] == ["pick.pdf", "pick.pdf"]
    assert len(fake.methods("conversations.open")) == 1  # remembered
    assert fake.methods("files.completeUploadExternal")[0]["channel_id"] == channel


async def test_a_workspace_that_restricts_file_size_rejects_the_upload(slack):
    fake, client = slack
    fake.max_upload = 100
    chart = Attachment(filename="sales.png", media_type="image/png", data=PNG, kind="image")
    with pytest.raises(Rejected, match="file_upload_size_restricted"):
        await client.send_attachment("C0SALES", chart, {"text": "x", "locale": "en"}, "k")
    assert fake.messages("C0SALES") == []


async def test_slack_throttling_an_upload_is_throttled(slack):
    fake, client = slack
    fake.script["files.completeUploadExternal"] = [429]
    chart = Attachment(filename="sales.png", media_type="image/png", data=PNG, kind="image")
    with pytest.raises(Throttled):
        await client.send_attachment("C0SALES", chart, {"text": "x", "locale": "en"}, "k")
