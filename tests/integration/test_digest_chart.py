"""The daily digest carries today's sales chart: on each reader's timeline and on the group chat's outbox row."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy import select

from bot.models import ChatAttachment, ChatMessage
from bot.outbox.models import OutboxMessage
from bot.scheduler import tick
from bot.workflows import digest
from core.users.models import User
from tests.support.clock import Clock
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import place


async def test_the_digest_sends_its_chart(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "oms.db", digest_chat="slack:C0DIGEST"))
    try:
        clock = Clock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # 17:00 in Shanghai; the digest at 18:00
        services.clock = clock
        await seed(services, stock={("TEA-001", "SH"): 100})
        await place(services, customer="C001", items={"TEA-001": 2})
        await digest.ensure_scheduled(services)
        clock.advance(hours=1, minutes=1)
        assert await tick(services) == 1
        async with services.sessions() as session:
            message = (
                await session.execute(
                    select(ChatMessage.text, ChatAttachment)
                    .join(User, User.id == ChatMessage.user_id)
                    .join(ChatAttachment, ChatAttachment.id == ChatMessage.attachment_id)
                    .where(User.name == "经理")
                )
            ).one()
            group = (
                await session.execute(
                    select(OutboxMessage.payload, ChatAttachment)
                    .join(ChatAttachment, ChatAttachment.id == OutboxMessage.attachment_id)
                    .where(OutboxMessage.recipient == "C0DIGEST")
                )
            ).one()
        text, chart = message
        assert text.startswith("Daily digest") and "Today: 1 orders, sales 256.00" in text
        assert (chart.kind, chart.media_type, chart.filename) == ("image", "image/png", "digest-2026-11-25.png")
        assert Image.open(io.BytesIO(chart.data)).size == (900, 480)
        payload, group_chart = group
        assert payload["text"].startswith("Daily digest") and group_chart.data.startswith(b"\x89PNG")
    finally:
        await services.close()


async def test_a_report_asked_on_slack_is_queued_with_its_chart(services):
    from bot import gateway
    from bot.gateway import Inbound
    from tests.support.platforms import bind
    from tests.support.report_orders import build

    await build(services)
    await bind(services, "slack", {"经理": "U9"})
    answer = await gateway.message(services, Inbound("slack", "U9", "D9", "m1"), "/report 7d by region")
    assert answer.texts[0].startswith("Last 7 days: 3 orders, sales 848.20")
    async with services.sessions() as session:
        payload, chart = (
            await session.execute(
                select(OutboxMessage.payload, ChatAttachment)
                .join(ChatAttachment, ChatAttachment.id == OutboxMessage.attachment_id)
                .where(OutboxMessage.recipient == "D9")
            )
        ).one()
    assert payload["text"] == answer.texts[0]
    assert chart.filename == "sales-7d-by-region-2026-11-20.png" and chart.data.startswith(b"\x89PNG")


async def test_a_manager_gets_todays_chart_in_dingtalk_in_chinese(tmp_path):
    """The issue's story: /报表 typed in DingTalk reaches the DingTalk API as an uploaded PNG and an
    image message in the group, with the Chinese figures as its caption."""
    from bot import gateway
    from bot.gateway import Inbound
    from bot.outbox.dispatcher import Dispatcher
    from integrations.dingtalk.client import DingTalkClient
    from tests.fakes.dingtalk import FakeDingTalk
    from tests.support.platforms import bind, demo_services

    services = await demo_services(tmp_path)
    fake = await FakeDingTalk().start()
    client = DingTalkClient(
        client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.url, oapi_url=fake.url
    )
    try:
        await bind(services, "dingtalk", {"王芳": "wangfang"})
        said = Inbound("dingtalk", user="wangfang", chat="cidOps==", event_id=None)
        answer = await gateway.message(services, said, "/报表 今天 按 渠道")
        await Dispatcher(services, [client]).run_until_idle(timeout=30)
        caption = answer.texts[0]
        assert caption.startswith("今日：") and "单，销售额" in caption
        [media] = fake.attachments("cidOps==")
        assert media["msgKey"] == "sampleImageMsg" and media["media"]["data"].startswith(b"\x89PNG")
        assert media["media"]["filename"].startswith("sales-today-by-channel-")
        texts = [m for m in fake.robot["cidOps=="] if m["msgKey"] in ("sampleText", "sampleMarkdown")]
        assert any("今日：" in (t.get("content") or t.get("text", "")) for t in texts)
    finally:
        await client.close()
        await fake.stop()
        await services.close()
