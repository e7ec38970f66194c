"""WeCom end to end: the real server with the adapter and the outbox, against a fake WeCom API that
answers like qyapi.weixin.qq.com, and callbacks encrypted and signed the way WeCom does it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.outbox.models import OutboxMessage
from core.services import Services
from integrations.callback_crypto import MessageCrypto
from integrations.wecom.adapter import CLIENT, PATH, mount
from tests.e2e.platforms import bind, demo_services, make_approver, order_no, outbox_rows, serve, until
from tests.fakes import wecom
from tests.fakes.wecom import AES_KEY, CORP_ID, TOKEN, FakeWeCom, envelope, tap_xml, text_xml
from tests.integration.helpers import detail

PEOPLE = {"李雷": "LiLei", "王芳": "WangFang", "赵经理": "ZhaoJL"}


@dataclass
class WeCom:
    server: TestClient
    fake: FakeWeCom
    services: Services
    msg_ids: Any

    async def post(self, xml: str, **kwargs: Any) -> int:
        query, body = self.fake.callback(xml, **kwargs)
        started = time.monotonic()
        response = await self.server.post(PATH, params=query, data=body.encode())
        assert time.monotonic() - started < 1.0, "WeCom waits 5 s; we answer at once"
        if response.status == 200:
            assert await response.text() == ""
        return response.status

    async def say(self, user: str, text: str, expect: str = "") -> str:
        """``user`` types ``text``; the first new text they receive containing ``expect``."""
        before = len(self.fake.texts(user))
        assert await self.post(text_xml(user, text, next(self.msg_ids))) == 200
        return await until(lambda: next((t for t in self.fake.texts(user)[before:] if expect in t), None))


@pytest.fixture
async def wc(tmp_path) -> AsyncIterator[WeCom]:
    fake = await FakeWeCom().start()
    services = await demo_services(tmp_path, wecom_api_url=fake.url, **wecom.settings())
    await bind(services, "wecom", PEOPLE)
    server = await serve(services, mount, expect="wecom")
    yield WeCom(server, fake, services, iter(range(1_000_000, 2_000_000)))
    await server.close()
    await fake.stop()


async def test_url_check_answers_the_decrypted_echostr(wc):
    sealed = MessageCrypto(TOKEN, AES_KEY, CORP_ID).seal("5927782489442352469", "1411443780", "437374425")
    query = {
        "msg_signature": sealed.signature,
        "timestamp": "1411443780",
        "nonce": "437374425",
        "echostr": sealed.encrypt,
    }
    response = await wc.server.get(PATH, params=query)
    assert response.status == 200 and await response.read() == b"5927782489442352469"
    forged = await wc.server.get(PATH, params=query | {"msg_signature": "0" * 40})
    assert forged.status == 403


async def test_approval_by_tap_updates_every_copy_and_a_retry_changes_nothing(wc):
    await make_approver(wc.services, "赵经理")  # a second approver, so the card has a copy she does not tap
    # 李雷's order arrives encrypted by wechatpy, WeCom's de-facto Python SDK
    xml = text_xml("LiLei", "/neworder C002 TEA-001*45", 42)
    reply = WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(xml, "nonce42", "1700000000")
    encrypted, signature = (
        re.search(rf"<{tag}><!\[CDATA\[(.*?)\]\]>", reply).group(1) for tag in ("Encrypt", "MsgSignature")
    )
    query = {"msg_signature": signature, "timestamp": "1700000000", "nonce": "nonce42"}
    response = await wc.server.post(PATH, params=query, data=envelope(encrypted).encode())
    assert response.status == 200
    no = order_no(await until(lambda: next((t for t in wc.fake.texts("LiLei") if "SO-" in t), None)))
    # Every approver bound on WeCom gets a button card; 王芳 taps Approve on hers
    [task] = await until(lambda: wc.fake.card_tasks("WangFang", no))
    card = wc.fake.cards["WangFang"][task]
    assert card["card_type"] == "button_interaction" and len(card["button_list"]) <= 6
    approve = next(b["key"] for b in card["button_list"] if b["key"].startswith("ap:"))
    assert (await detail(wc.services, no))["status"] == "pending_approval"
    copies = {user: await until(lambda u=user: wc.fake.card_tasks(u, no)) for user in ("WangFang", "ZhaoJL")}
    assert copies["WangFang"] == [task] and len(copies["ZhaoJL"]) == 1
    code = wc.fake.tap_code("WangFang", task)
    tap = tap_xml("WangFang", task, approve, code, create_time=1700000100)
    assert await wc.post(tap) == 200
    await until(lambda: _status(wc, no, "awaiting_payment"))
    # Her tap's fresh response code is kept on her copy's outbox row: editable after a restart too
    async with wc.services.sessions() as session:
        kept = await session.scalar(
            select(OutboxMessage.platform_message_id).where(
                OutboxMessage.recipient == "WangFang", OutboxMessage.kind == "send", OutboxMessage.card_id.is_not(None)
            )
        )
    assert kept.split("|")[1] == task and kept.endswith(code)
    # Every copy now shows the outcome instead of buttons
    for user, tasks in copies.items():
        for t in tasks:
            shown = await until(lambda u=user, t=t: wc.fake.cards[u][t].get("replaced_name"))
            assert "王芳" in shown and wc.fake.cards[user][t]["button_list"] == []
    await until(lambda: any(no in t for t in wc.fake.texts("WangFang")))  # she is told what her tap did
    # WeCom retries both callbacks (same MsgId, same TaskId+user+key): nothing more happens
    rows, updates, sent = await outbox_rows(wc.services), len(wc.fake.updates), sum(map(len, wc.fake.received.values()))
    assert await wc.post(tap) == 200
    response = await wc.server.post(PATH, params=query, data=envelope(encrypted).encode())
    assert response.status == 200
    await asyncio.sleep(0.3)
    assert (await outbox_rows(wc.services), len(wc.fake.updates)) == (rows, updates)
    assert sum(map(len, wc.fake.received.values())) == sent
    assert (await detail(wc.services, no))["status"] == "awaiting_payment"


async def _status(wc: WeCom, no: str, status: str) -> bool:
    return (await detail(wc.services, no))["status"] == status


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda q, b: (q | {"msg_signature": "f" * 40}, b), id="forged-signature"),
        pytest.param(lambda q, b: (q | {"timestamp": "1"}, b), id="timestamp-not-signed"),
        pytest.param(lambda q, b: ({k: v for k, v in q.items() if k != "msg_signature"}, b), id="no-signature"),
    ],
)
async def test_forged_requests_are_refused_and_change_nothing(wc, forge):
    query, body = wc.fake.callback(text_xml("LiLei", "/neworder C002 TEA-001*45", 7))
    query, body = forge(query, body)
    response = await wc.server.post(PATH, params=query, data=body.encode())
    assert response.status in (400, 403) and (response.status == 403) == ("msg_signature" in query)
    await _nothing_happened(wc)


async def test_wrong_corp_id_is_refused(wc):
    stranger = MessageCrypto(TOKEN, AES_KEY, "ww0000000000000000")
    assert await wc.post(text_xml("LiLei", "/neworder C002 TEA-001*45", 8), crypto=stranger) == 403
    await _nothing_happened(wc)


@pytest.mark.parametrize(
    "encrypt",
    [
        pytest.param(lambda e: e[: len(e) // 2], id="truncated"),
        pytest.param(lambda e: e[:44], id="truncated-to-whole-blocks"),
        pytest.param(lambda e: "%%%" + e[3:], id="not-base64"),
    ],
)
async def test_bad_ciphertext_is_refused_even_when_signed(wc, encrypt):
    crypto = wc.fake.crypto
    bad = encrypt(crypto.encrypt(text_xml("LiLei", "/neworder C002 TEA-001*45", 9)))
    query = {"msg_signature": crypto.signature("1700000000", "n1", bad), "timestamp": "1700000000", "nonce": "n1"}
    response = await wc.server.post(PATH, params=query, data=envelope(bad).encode())
    assert response.status == 400
    await _nothing_happened(wc)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><Encrypt>unclosed",
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
        "<notxml/>",
    ],
)
async def test_malformed_xml_is_refused(wc, body):
    query, _ = wc.fake.callback("<xml/>")
    response = await wc.server.post(PATH, params=query, data=body.encode())
    assert response.status == 400
    await _nothing_happened(wc)


async def test_signed_but_malformed_inner_xml_is_refused(wc):
    assert await wc.post("<xml><FromUserName>LiLei</FromUserName>") == 400
    await _nothing_happened(wc)


async def _nothing_happened(wc: WeCom) -> None:
    await asyncio.sleep(0.2)  # any background work would have started by now
    assert await outbox_rows(wc.services) == 0
    assert not wc.fake.received


async def test_an_unknown_user_is_told_how_to_get_bound(wc):
    told = await wc.say("Stranger", "help", expect="Stranger")
    assert "oms load" in told


async def test_a_command_without_slash_works_and_throttling_delays_without_losing(wc):
    wc.server.app[CLIENT].throttle_seconds = 0.2
    wc.fake.script = [45009, 45009]
    started = time.monotonic()
    answer = await wc.say("LiLei", "stock TEA-001", expect="TEA-001")
    assert time.monotonic() - started >= 0.4
    assert [code for _, code in wc.fake.refused] == [45009, 45009]
    assert wc.fake.texts("LiLei") == [answer]  # delivered exactly once


async def test_an_expired_token_is_fetched_again(wc):
    await wc.say("LiLei", "/help")
    assert wc.fake.token_calls == 1
    wc.fake.expire_tokens()
    await wc.say("LiLei", "/stock TEA-001", expect="TEA-001")
    assert wc.fake.token_calls == 2 and ("/cgi-bin/message/send", 42001) in wc.fake.refused


async def test_a_body_that_arrives_in_pieces_is_read_whole(wc):
    query, body = wc.fake.callback(text_xml("LiLei", "/whoami", 77))
    data = body.encode()

    async def in_two_pieces():
        yield data[:100]
        await asyncio.sleep(0.2)  # the rest comes later, as over a slow link or a proxy
        yield data[100:]

    response = await wc.server.post(PATH, params=query, data=in_two_pieces())
    assert response.status == 200
    assert "李雷" in await until(lambda: next((t for t in wc.fake.texts("LiLei") if "李雷" in t), None))
