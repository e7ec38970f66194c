"""The outbox's Telegram client against the fake Bot API: what each Telegram answer becomes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.outbox.clients import DeliveryError, Rejected, Throttled
from bot.views import Attachment
from integrations.telegram.client import TelegramClient
from tests.fakes.telegram import TOKEN, FakeBotApi
from tests.support.images import png

CARD = {
    "card_id": 7,
    "kind": "approval",
    "title": "Approval needed: SO-100001",
    "fields": [{"label": "Customer", "value": "A&B <Tea>"}],
    "notes": [],
    "buttons": [{"label": "Approve", "action": "ap:7:1", "style": "primary"}],
    "outcome": None,
    "state": "open",
    "version": 1,
}
CLOSED = {**CARD, "buttons": [], "outcome": "Approved by 王芳 at 14:03", "state": "closed"}


@pytest.fixture
async def api() -> AsyncIterator[tuple[TelegramClient, FakeBotApi]]:
    fake = await FakeBotApi().start()
    bot = Bot(TOKEN, base_url=fake.base_url)
    async with bot:
        yield TelegramClient(bot), fake
    await fake.stop()


async def test_a_card_is_sent_with_its_keyboard_and_edited_to_its_outcome(api):
    client, fake = api
    message_id = await client.send("1002", {"card": CARD, "locale": "en"}, "k1")
    [sent] = fake.messages(1002)
    assert message_id == str(sent["message_id"])
    assert "Customer: A&B <Tea>" in sent["text"] and sent["html"].startswith("<b>Approval needed")
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ap:7:1"

    await client.edit("1002", message_id, {"card": CLOSED, "locale": "en"}, "k2")
    await client.edit("1002", message_id, {"card": CLOSED, "locale": "en"}, "k2")  # "not modified" is success

    [edited] = fake.messages(1002)
    assert "reply_markup" not in edited and "Approved by 王芳 at 14:03" in edited["text"]
    assert [m for m, _ in fake.calls].count("editMessageText") == 2


async def test_a_plain_text_has_no_keyboard(api):
    client, fake = api
    await client.send("-100200300", {"text": "Use `/order SO-1`", "locale": "en"}, "k")
    [sent] = fake.messages(-100200300)
    assert sent["text"] == "Use /order SO-1" and sent["html"] == "Use <code>/order SO-1</code>"
    assert "reply_markup" not in sent and "reply_markup" not in fake.methods("sendMessage")[0]


async def test_throttling_becomes_throttled_with_telegrams_retry_after(api):
    client, fake = api
    fake.script.append(("sendMessage", 3))
    with pytest.raises(Throttled) as slow:
        await client.send("1001", {"text": "hi", "locale": "en"}, "k")
    assert slow.value.retry_after == 3.0 and fake.chats[1001] == {}


async def test_permanent_refusals_become_rejected(api):
    client, fake = api
    fake.blocked.add(1009)
    with pytest.raises(Rejected, match="blocked"):
        await client.send("1009", {"text": "hi", "locale": "en"}, "k")
    with pytest.raises(Rejected, match="(?i)message to edit not found"):
        await client.edit("1001", "424242", {"card": CLOSED, "locale": "en"}, "k")
    with pytest.raises(Rejected, match="cannot render"):
        too_long = [{"label": "Approve", "action": "ap:" + "9" * 62, "style": "primary"}]
        await client.send("1001", {"card": {**CARD, "buttons": too_long}, "locale": "en"}, "k")
    assert fake.chats[1001] == {} and not fake.methods("sendMessage")[1:]


async def test_an_unreachable_api_is_a_transient_failure(api):
    client, fake = api
    await fake.stop()
    with pytest.raises(DeliveryError) as failed:
        await client.send("1001", {"text": "hi", "locale": "en"}, "k")
    assert not isinstance(failed.value, Throttled)


def test_groups_get_a_slower_per_chat_rate_than_private_chats():
    client = TelegramClient(Bot(TOKEN))
    assert client.chat_per_minute("-1001234567890") == 20 and client.chat_per_minute("-4567") == 20
    assert client.chat_per_minute("1001") == 60
    assert client.per_second <= 30


def image(data: bytes, name: str = "sales.png") -> Attachment:
    return Attachment(filename=name, media_type="image/png", data=data, kind="image")


async def test_an_image_goes_as_a_photo_with_its_caption(api):
    client, fake = api
    chart = png(60, 40)
    message_id = await client.send_attachment("1002", image(chart), {"text": "Sales `today`", "locale": "en"}, "k")
    [sent] = fake.messages(1002)
    assert message_id == str(sent["message_id"]) and sent["caption"] == "Sales today"
    assert sent["html"] == "Sales <code>today</code>"
    assert fake.file(sent["photo"][0]["file_id"]) == chart and sent["photo"][0]["width"] == 60
    assert fake.methods("sendPhoto") and not fake.methods("sendDocument")


async def test_a_file_goes_as_a_document_with_its_name(api):
    client, fake = api
    pdf = Attachment(filename="拣货单.pdf", media_type="application/pdf", data=b"%PDF-1.7 " + bytes(2000), kind="file")
    await client.send_attachment("-100200300", pdf, {"text": "Pick list SH", "locale": "en"}, "k")
    [sent] = fake.messages(-100200300)
    assert sent["caption"] == "Pick list SH" and sent["document"]["file_name"] == "拣货单.pdf"
    assert sent["document"]["mime_type"] == "application/pdf" and fake.file(sent["document"]["file_id"]) == pdf.data


async def test_an_image_telegram_refuses_as_a_photo_goes_as_a_document(api):
    client, fake = api
    banner = png(9000, 200)  # an aspect ratio over 20: PHOTO_INVALID_DIMENSIONS
    await client.send_attachment("1002", image(banner, "wide.png"), {"text": "Wide", "locale": "en"}, "k")
    [sent] = fake.messages(1002)
    assert sent["document"]["file_name"] == "wide.png" and fake.file(sent["document"]["file_id"]) == banner
    big = png(50, 50, padding=11 * 1024 * 1024)  # over sendPhoto's 10 MB: not even tried as a photo
    await client.send_attachment("1002", image(big, "big.png"), {"text": "Big", "locale": "en"}, "k2")
    assert len(fake.methods("sendPhoto")) == 1 and fake.messages(1002)[-1]["document"]["file_size"] == len(big)


async def test_a_caption_too_long_for_telegram_goes_first_as_its_own_message_once(api):
    client, fake = api
    long = "Figures: " + "x" * 1100
    fake.script.append(("sendPhoto", 2))
    with pytest.raises(Throttled):
        await client.send_attachment("1002", image(png()), {"text": long, "locale": "en"}, "k")
    await client.send_attachment("1002", image(png()), {"text": long, "locale": "en"}, "k")  # the retry
    text, photo = fake.messages(1002)
    assert text["text"] == long and "caption" not in photo and photo["photo"]


async def test_a_file_over_50_mb_is_rejected_without_a_call(api):
    client, fake = api
    huge = Attachment(filename="big.pdf", media_type="application/pdf", data=bytes(50_000_001), kind="file")
    with pytest.raises(Rejected, match="50 MB"):
        await client.send_attachment("1002", huge, {"text": "x", "locale": "en"}, "k")
    assert not fake.calls or all(m not in ("sendDocument", "sendPhoto") for m, _ in fake.calls)
