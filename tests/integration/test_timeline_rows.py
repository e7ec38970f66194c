"""A turn's exchange on the timeline (``bot.gateway._keep_rows``): rows without attachments are
written by a prebuilt INSERT each, outside the unit of work, and still in the order things were
said, after whatever the session held unwritten; rows with an attachment keep the unit of work."""

from __future__ import annotations

from sqlalchemy import select

from bot import gateway
from bot.conversation import Identity, who
from bot.gateway import Inbound
from bot.models import ChatAttachment, ChatMessage, Direction
from bot.views import Attachment, Reply
from core.auth import Actor
from tests.support.platforms import demo_services
from tests.support.statements import statements

SYSTEM = Actor.system("test")
PDF = Attachment(filename="picklist.pdf", media_type="application/pdf", data=b"%PDF-1.7\n" + bytes(range(64)))


async def test_the_exchange_is_written_in_order_after_what_the_session_held(tmp_path):
    services = await demo_services(tmp_path)
    speaker = await who(services, Identity("console", "lilei"))
    inbound = Inbound("console", "lilei", "lilei")
    async with services.unit_of_work(SYSTEM) as ctx:
        earlier = ChatMessage(
            user_id=speaker.user_id, platform="console", direction=Direction.OUT, text="earlier", created_at=ctx.now()
        )
        ctx.session.add(earlier)  # unwritten when the exchange is kept
        with statements(services) as sent:
            out = await gateway._keep_rows(
                ctx, inbound, speaker, "/help", [Reply(text="a"), Reply(text="b")], scope=None
            )
        assert [row.text for row in out] == ["a", "b"]
        assert len([sql for sql in sent if sql.startswith("INSERT INTO chat_message")]) == 4
    async with services.reading() as session:
        rows = list(await session.scalars(select(ChatMessage).order_by(ChatMessage.id)))
    assert [(r.text, r.direction) for r in rows[-4:]] == [
        ("earlier", Direction.OUT),
        ("/help", Direction.IN),
        ("a", Direction.OUT),
        ("b", Direction.OUT),
    ]
    assert [r.id for r in rows[-2:]] == [r.id for r in out]
    await services.close()


async def test_an_exchange_with_an_attachment_stores_it_and_points_at_it(tmp_path):
    services = await demo_services(tmp_path)
    speaker = await who(services, Identity("console", "lilei"))
    inbound = Inbound("console", "lilei", "lilei")
    async with services.unit_of_work(SYSTEM) as ctx:
        [row] = await gateway._keep_rows(
            ctx, inbound, speaker, None, [Reply(text="the list", attachment=PDF)], scope=None
        )
    async with services.reading() as session:
        stored = (await session.scalars(select(ChatAttachment))).one()
        kept = await session.get(ChatMessage, row.id)
    assert kept.attachment_id == stored.id and kept.text == "the list"
    await services.close()
