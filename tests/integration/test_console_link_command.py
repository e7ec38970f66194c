"""``/console`` (``/控制台``) in chat: a sign-in link sent to the person privately, never to the
group they asked in, and one that opens a session exactly once."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot import gateway
from bot.gateway import Inbound
from bot.outbox.models import OutboxMessage
from core.access.signin import redeem_link
from core.auth import Actor
from core.errors import DomainError
from tests.support.platforms import bind, demo_services

LINK = re.compile(r"https://oms\.example\.com/console/signin\?token=([\w-]+)")


async def queued(services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_asked_in_a_group_the_link_goes_to_the_persons_direct_chat(tmp_path):
    services = await demo_services(tmp_path, public_url="https://oms.example.com")
    await bind(services, "dingtalk", {"王芳": "staff-wf"})

    answer = await gateway.message(services, Inbound("dingtalk", "staff-wf", "cid-group", "evt-1"), "/控制台")

    [sent] = await queued(services)
    assert sent.recipient == "staff-wf" and not sent.payload.get("reply")
    assert "只能使用一次" in sent.payload["text"] and "10 分钟" in sent.payload["text"]
    token = LINK.search(sent.payload["text"]).group(1)
    assert LINK.search(answer.texts[0])  # the adapter's own answer (a toast, at most) is the person's
    async with services.unit_of_work(Actor.system("test")) as ctx:
        _, session = await redeem_link(ctx, token, "127.0.0.1 test")
    assert session.signed_in_via == "dingtalk"
    try:
        async with services.unit_of_work(Actor.system("test")) as ctx:
            await redeem_link(ctx, token, "127.0.0.1 test")
    except DomainError as error:
        assert error.code == "signin_link_invalid"
    else:
        raise AssertionError("a sign-in link worked twice")
    await services.close()


async def test_without_a_public_url_the_person_is_told_whom_to_ask(tmp_path):
    services = await demo_services(tmp_path)
    await bind(services, "slack", {"王芳": "U1"})

    answer = await gateway.message(services, Inbound("slack", "U1", "U1", "evt-1"), "/console")

    assert "OMS_PUBLIC_URL" in answer.texts[0] and "oms console link 王芳" in answer.texts[0]
    assert "token=" not in answer.texts[0]
    await services.close()
