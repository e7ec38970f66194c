"""Images and files in chat: a reply or a notification carrying one is stored once, queued by
reference, and arrives on every platform as that platform's own image or file message (the same
bytes, the caption with it); too large is refused in words, a platform's refusal ends dead."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, update
from telegram import Bot

from bot import attachments, gateway
from bot.attachments import AttachmentTooLarge
from bot.delivery import tell, users_with_role
from bot.gateway import Inbound
from bot.models import ChatAttachment, ChatMessage
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.router import COMMANDS, Chat, Command
from bot.views import Attachment, Reply
from core.auth import Actor
from core.config import Settings
from core.masterdata.loader import load_file
from core.services import Services
from integrations.cli.demo import DEMO_DATA
from integrations.dingtalk.client import DingTalkClient
from integrations.slack.client import SlackClient
from integrations.telegram.client import TelegramClient
from integrations.wecom.client import WeComClient
from tests.fakes import slack as fake_slack
from tests.fakes import telegram as fake_telegram
from tests.fakes import wecom as fake_wecom
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.platform import FakePlatform, HttpClient
from tests.support.databases import make_services
from tests.support.images import png
from tests.support.platforms import bind, demo_services

CHART = Attachment(filename="sales-today.png", media_type="image/png", data=png(120, 80), kind="image")
PDF = Attachment(filename="picklist-SH.pdf", media_type="application/pdf", data=b"%PDF-1.7\n" + bytes(range(256)) * 8)
SENT: dict[str, Attachment] = {}  # what the test command answers with


async def _send_test(chat: Chat, args: list[str]) -> list[Reply]:
    attachment = SENT[args[0]]
    return [Reply(text=f"{attachment.kind}: {attachment.filename}", attachment=attachment)]


@pytest.fixture
async def demo(tmp_path) -> AsyncIterator[Services]:
    COMMANDS["sendtest"] = Command("sendtest", (), "/sendtest KIND", None, _send_test)
    SENT.update(image=CHART, file=PDF)
    services = await demo_services(tmp_path)
    yield services
    await services.close()
    COMMANDS.pop("sendtest", None)
    SENT.clear()


@dataclass
class Seen:
    kind: str  # image | file
    caption: str
    data: bytes
    filename: str | None


@dataclass
class Platform:
    name: str
    user: str  # the demo user's id there
    chat: str  # where the command is typed (and the reply goes)
    client: Any
    seen: Callable[[], list[Seen]]
    fake: Any


async def slack(stack: AsyncExitStack) -> Platform:
    fake = await fake_slack.FakeSlack().start()
    stack.push_async_callback(fake.stop)
    client = SlackClient(AsyncWebClient(token=fake_slack.BOT_TOKEN, base_url=fake.base_url))

    def seen() -> list[Seen]:
        shares = [m for m in fake.messages("C0SALES") if m.get("files")]
        return [
            Seen(
                "image" if f["name"].endswith(".png") else "file",
                m["text"],
                fake.file_data(f["id"]),
                f["name"],
            )
            for m in shares
            for f in m["files"]
        ]

    return Platform("slack", "U0WANG", "C0SALES", client, seen, fake)


async def telegram(stack: AsyncExitStack) -> Platform:
    fake = await fake_telegram.FakeBotApi().start()
    stack.push_async_callback(fake.stop)
    bot = Bot(fake_telegram.TOKEN, base_url=fake.base_url)
    await stack.enter_async_context(bot)

    def seen() -> list[Seen]:
        out = []
        for m in fake.messages(-100777):
            if "photo" in m:
                out.append(Seen("image", m.get("caption", ""), fake.file(m["photo"][-1]["file_id"]), None))
            elif "document" in m:
                doc = m["document"]
                out.append(Seen("file", m.get("caption", ""), fake.file(doc["file_id"]), doc["file_name"]))
        return out

    return Platform("telegram", "2001", "-100777", TelegramClient(bot), seen, fake)


async def dingtalk(stack: AsyncExitStack) -> Platform:
    fake = await FakeDingTalk().start()
    stack.push_async_callback(fake.stop)
    client = DingTalkClient(
        client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.url, oapi_url=fake.url
    )
    stack.push_async_callback(client.close)

    def seen() -> list[Seen]:
        texts = [m for m in fake.robot["cidOps=="] if m["msgKey"] in ("sampleText", "sampleMarkdown")]
        media = fake.attachments("cidOps==")
        kinds = {"sampleImageMsg": "image", "sampleFile": "file"}
        return [
            Seen(kinds[m["msgKey"]], t.get("content") or t.get("text", ""), m["media"]["data"], m["media"]["filename"])
            for t, m in zip(texts, media, strict=True)
        ]

    return Platform("dingtalk", "wangfang", "cidOps==", client, seen, fake)


async def wecom(stack: AsyncExitStack) -> Platform:
    fake = await fake_wecom.FakeWeCom().start()
    stack.push_async_callback(fake.stop)
    client = WeComClient(fake.url, fake_wecom.CORP_ID, fake_wecom.SECRET, fake_wecom.AGENT_ID)
    stack.push_async_callback(client.close)

    def seen() -> list[Seen]:
        texts = [b["text"]["content"] for b in fake.received["WangFang"] if b["msgtype"] == "text"]
        media = fake.attachments("WangFang")
        return [
            Seen(m["msgtype"], t, m["media"]["data"], m["media"]["filename"]) for t, m in zip(texts, media, strict=True)
        ]

    return Platform("wecom", "WangFang", "WangFang", client, seen, fake)


PLATFORMS: dict[str, Callable[[AsyncExitStack], Awaitable[Platform]]] = {
    "slack": slack,
    "telegram": telegram,
    "dingtalk": dingtalk,
    "wecom": wecom,
}


@pytest.mark.parametrize("name", list(PLATFORMS))
async def test_a_reply_with_an_image_and_one_with_a_file_arrive_as_the_platforms_own_messages(demo, name):
    async with AsyncExitStack() as stack:
        platform = await PLATFORMS[name](stack)
        await bind(demo, platform.name, {"王芳": platform.user})
        said = Inbound(platform.name, user=platform.user, chat=platform.chat, event_id=None)

        image = await gateway.message(demo, said, "/sendtest image")
        file = await gateway.message(demo, said, "/sendtest file")
        await Dispatcher(demo, [platform.client]).run_until_idle(timeout=30)

        assert image.texts == ["image: sales-today.png"] and file.texts == ["file: picklist-SH.pdf"]
        first, second = platform.seen()
        assert (first.kind, first.caption, first.data) == ("image", "image: sales-today.png", CHART.data)
        assert (second.kind, second.caption, second.data) == ("file", "file: picklist-SH.pdf", PDF.data)
        assert second.filename == "picklist-SH.pdf"
        rows = await outbox(demo)
        assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
        assert all(len(json.dumps(r.payload)) < 300 for r in rows)  # a reference, not the bytes


async def outbox(services: Services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_notification_with_an_attachment_stores_the_bytes_once_for_every_reader(demo):
    await bind(demo, "slack", {"赵经理": "U0ZHAO"})
    await bind(demo, "wecom", {"赵经理": "ZhaoJL"})

    async with demo.unit_of_work(Actor.system("test")) as ctx:
        managers = await users_with_role(ctx, "manager")
        tell(ctx, managers, "Today's figures", attachment=CHART)

    async with demo.sessions() as session:
        stored = list(await session.scalars(select(ChatAttachment)))
        timeline = list(await session.scalars(select(ChatMessage).where(ChatMessage.attachment_id.is_not(None))))
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.attachment_id.is_not(None))))
    [row] = stored
    assert row.data == CHART.data and row.size == len(CHART.data) and len(row.sha256) == 64
    assert {m.platform for m in timeline} >= {"console", "slack", "wecom"}
    assert {m.attachment_id for m in timeline} == {row.id} and {r.attachment_id for r in rows} == {row.id}
    assert {r.platform for r in rows} == {"slack", "wecom"}  # the console shows its timeline itself
    assert rows[0].payload["attachment"] == {
        "filename": "sales-today.png",
        "media_type": "image/png",
        "kind": "image",
        "size": len(CHART.data),
    }
    assert rows[0].payload["text"] == "Today's figures"


async def test_rows_pointing_at_an_attachment_stored_earlier_in_the_transaction_keep_the_link(demo):
    await bind(demo, "slack", {"赵经理": "U0ZHAO"})
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        managers = await users_with_role(ctx, "manager")
        tell(ctx, managers, "Today's figures", attachment=CHART)
        await ctx.session.flush()  # the bytes are stored; the second message points at the stored row
        tell(ctx, managers, "Again", attachment=CHART)

    async with demo.sessions() as session:
        [stored] = list(await session.scalars(select(ChatAttachment)))
        told = list(
            await session.scalars(select(ChatMessage).where(ChatMessage.text.in_(["Today's figures", "Again"])))
        )
        sent = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.platform == "slack")))
    assert {m.text for m in told} == {"Today's figures", "Again"}
    assert {m.attachment_id for m in told} == {stored.id} and {r.attachment_id for r in sent} == {stored.id}
    assert len(sent) == 2


async def test_a_reply_too_large_to_send_is_refused_in_words_and_nothing_is_stored(demo):
    huge = png(10, 10, padding=11 * 2**20)
    SENT["image"] = Attachment(filename="huge.png", media_type="image/png", data=huge, kind="image")
    await bind(demo, "slack", {"王芳": "U0WANG"})
    answer = await gateway.message(demo, Inbound("slack", user="U0WANG", chat="C0SALES"), "/sendtest image")
    assert answer.texts == ["huge.png is 11.1 MB; at most 10 MB can be sent into chat."]
    async with demo.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAttachment)) == 0
    [row] = await outbox(demo)
    assert row.attachment_id is None and row.payload["text"] == answer.texts[0]

    await bind(demo, "wecom", {"王芳": "WangFang"})
    with pytest.raises(AttachmentTooLarge):
        async with demo.unit_of_work(Actor.system("test")) as ctx:
            tell(ctx, await users_with_role(ctx, "approver"), "Chart", attachment=SENT["image"])


async def test_the_refusal_reads_in_chinese_too(demo):
    SENT["file"] = Attachment(filename="对账单.pdf", media_type="application/pdf", data=bytes(21 * 2**20))
    await bind(demo, "dingtalk", {"王芳": "wangfang"})
    answer = await gateway.message(demo, Inbound("dingtalk", user="wangfang", chat="wangfang"), "/sendtest file")
    assert answer.texts == ["对账单.pdf 大小为 21 MB，发送到聊天的文件最大为 20 MB。"]


async def test_a_platform_refusing_the_upload_ends_dead_with_its_reason_and_admins_are_told(demo):
    async with AsyncExitStack() as stack:
        platform = await slack(stack)
        platform.fake.max_upload = 100
        await bind(demo, "slack", {"王芳": "U0WANG"})
        await gateway.message(demo, Inbound("slack", user="U0WANG", chat="C0SALES"), "/sendtest image")
        await Dispatcher(demo, [platform.client]).run_until_idle(timeout=30)
    [row] = await outbox(demo)
    assert row.status == OutboxStatus.DEAD and "file_upload_size_restricted" in (row.last_error or "")
    async with demo.sessions() as session:
        alerts = list(await session.scalars(select(ChatMessage.text).where(ChatMessage.text.contains("Undeliverable"))))
    assert alerts and "file_upload_size_restricted" in alerts[0]


async def test_a_platform_client_that_cannot_send_attachments_dead_letters_them(demo):
    fake = await FakePlatform().start()
    client = HttpClient(fake.url, platform="slack")
    try:
        await bind(demo, "slack", {"王芳": "U0WANG"})
        await gateway.message(demo, Inbound("slack", user="U0WANG", chat="C0SALES"), "/sendtest file")
        await Dispatcher(demo, [client]).run_until_idle(timeout=30)
    finally:
        await client.close()
        await fake.stop()
    [row] = await outbox(demo)
    assert row.status == OutboxStatus.DEAD and "cannot send images or files" in (row.last_error or "")
    assert fake.calls == 0


async def test_old_attachments_are_pruned_unless_a_send_still_waits_for_them(demo):
    await bind(demo, "slack", {"王芳": "U0WANG"})
    await gateway.message(demo, Inbound("slack", user="U0WANG", chat="C0SALES"), "/sendtest image")
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        assert await attachments.prune(ctx, keep=timedelta(0)) == 0  # its send is still pending
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        for row in await ctx.session.scalars(select(OutboxMessage)):
            row.status = OutboxStatus.SENT
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        assert await attachments.prune(ctx) == 0  # younger than attachment_keep_days
        assert await attachments.prune(ctx, keep=timedelta(0)) == 1
    async with demo.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAttachment)) == 0
        kept = list(await session.scalars(select(ChatMessage).where(ChatMessage.text == "image: sales-today.png")))
    assert kept and all(m.attachment_id is None for m in kept)  # the caption stays on the timeline


async def test_housekeeping_forgets_attachments_sent_a_month_ago(demo):
    from bot.scheduler import housekeeping

    await bind(demo, "slack", {"王芳": "U0WANG"})
    await gateway.message(demo, Inbound("slack", user="U0WANG", chat="C0SALES"), "/sendtest file")
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        await ctx.session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))
    await housekeeping(demo)
    async with demo.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAttachment)) == 1
    async with demo.unit_of_work(Actor.system("test")) as ctx:
        await ctx.session.execute(update(ChatAttachment).values(created_at=ctx.now() - timedelta(days=31)))
    await housekeeping(demo)
    async with demo.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAttachment)) == 0


@pytest.mark.pg
async def test_on_postgresql_a_chart_is_stored_sent_and_pruned(pg_url):
    services = await make_services(Settings(_env_file=None, database_url=pg_url))
    COMMANDS["sendtest"] = Command("sendtest", (), "/sendtest KIND", None, _send_test)
    SENT.update(image=CHART, file=PDF)
    try:
        async with services.unit_of_work(Actor.system("test")) as ctx:
            await load_file(ctx, DEMO_DATA)
        async with AsyncExitStack() as stack:
            platform = await telegram(stack)
            await bind(services, "telegram", {"王芳": platform.user})
            said = Inbound("telegram", user=platform.user, chat=platform.chat)
            await gateway.message(services, said, "/sendtest image")
            await gateway.message(services, said, "/sendtest file")
            await Dispatcher(services, [platform.client]).run_until_idle(timeout=30)
            assert [(s.kind, s.data) for s in platform.seen()] == [("image", CHART.data), ("file", PDF.data)]
        async with services.unit_of_work(Actor.system("test")) as ctx:
            assert await attachments.prune(ctx, keep=timedelta(0)) == 2
        async with services.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(ChatAttachment)) == 0
    finally:
        COMMANDS.pop("sendtest", None)
        SENT.clear()
        await services.close()
