"""DingTalk in HTTP mode end to end: signed robot messages and encrypted event/card callbacks on
``POST /dingtalk/callback`` of the real server, replies and cards out to the fake OpenAPI."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.models import ChatMessage
from bot.outbox.models import OutboxMessage
from core.inbound import InboundEvent
from core.orders.models import Order
from integrations.callback_crypto import MessageCrypto
from integrations.dingtalk import adapter
from integrations.dingtalk.signing import robot_sign
from tests.fakes.dingtalk import FakeDingTalk
from tests.support.platforms import bind, demo_services, serve
from tests.support.service_calls import detail
from tests.support.waiting import background_work, settled, until

TOKEN = "oms-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    platform = await FakeDingTalk().start()
    yield platform
    await platform.stop()


@pytest.fixture
async def world(tmp_path, fake):
    services = await demo_services(
        tmp_path,
        dingtalk_client_id=fake.client_id,
        dingtalk_client_secret=fake.client_secret,
        dingtalk_mode="http",
        dingtalk_card_template_id="tpl-oms",
        dingtalk_callback_token=TOKEN,
        dingtalk_callback_aes_key=AES_KEY,
        dingtalk_api_url=fake.url,
    )
    await bind(services, "dingtalk", {"李雷": "staff_lilei", "王芳": "staff_wangfang"})
    client = await serve(services, adapter.mount, expect="dingtalk")
    yield services, client
    await client.close()


def robot_body(staff_id: str, text: str, msg_id: str) -> dict:
    return {
        "msgtype": "text",
        "text": {"content": text},
        "msgId": msg_id,
        "conversationType": "1",
        "conversationId": "cidSingle==",
        "senderStaffId": staff_id,
        "senderNick": staff_id,
        "robotCode": "dingappkey",
        "isInAtList": True,
    }


def signed_headers(secret: str, ts: int | None = None) -> dict[str, str]:
    timestamp = str(ts if ts is not None else int(time.time() * 1000))
    return {"timestamp": timestamp, "sign": robot_sign(secret, timestamp)}


async def say(client, fake, staff_id: str, text: str, msg_id: str, *, ts: int | None = None, secret=None):
    headers = signed_headers(secret or fake.client_secret, ts)
    return await client.post("/dingtalk/callback", json=robot_body(staff_id, text, msg_id), headers=headers)


def sealed_request(event: dict, *, token: str = TOKEN) -> tuple[dict, dict]:
    crypto = MessageCrypto(token, AES_KEY, "dingappkey")
    sealed = crypto.seal(json.dumps(event, ensure_ascii=False), str(int(time.time() * 1000)), "nonce123")
    query = {"msg_signature": sealed.signature, "timestamp": sealed.timestamp, "nonce": sealed.nonce}
    return query, {"encrypt": sealed.encrypt}


async def snapshot(services, fake) -> tuple:
    async with services.sessions() as session:
        rows = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (OutboxMessage, InboundEvent, Order, ChatMessage)
        ]
    return tuple(rows), len(fake.calls), json.dumps(fake.cards)


async def place_big_order(client, fake) -> tuple[str, str, dict]:
    response = await say(client, fake, "staff_lilei", "/neworder C002 TEA-001*45", "m-order")
    assert response.status == 200
    text = await until(lambda: " ".join(fake.texts("staff_lilei")))
    no = re.search(r"SO-\d+", text).group(0)
    track, params = await until(lambda: next(iter(fake.cards_for("staff_wangfang").items()), None))
    assert no in params["title"] and fake.cards[track]["create"]["callbackType"] == "STREAM"
    return no, track, params


async def test_signed_robot_message_then_a_card_tap_over_stream(world, fake):
    services, client = world
    no, track, params = await place_big_order(client, fake)
    # In HTTP mode the Stream connection carries card taps only
    assert [s["topic"] for s in fake.opens[-1]["subscriptions"]] == ["/v1.0/card/instances/callback"]

    # An encrypted event with someone else's signature is refused and changes nothing
    before = await snapshot(services, fake)
    query, body = sealed_request({"EventType": "user_add_org"}, token="someone-elses-token")
    response = await client.post("/dingtalk/callback", params=query, json=body)
    assert response.status == 401
    assert await snapshot(services, fake) == before

    # Her tap arrives over Stream, approves the order, and the card changes for everyone
    await fake.push(fake.card_frame(track, "staff_wangfang", {"action": params["btn1_action"]}))
    await until(lambda: "王芳" in fake.cards[track]["params"]["outcome"])
    assert (await detail(services, no))["status"] != "pending_approval"


@pytest.mark.parametrize("how", ["forged", "stale", "no sign"])
async def test_forged_or_stale_robot_messages_are_refused(world, fake, how):
    services, client = world
    before = await snapshot(services, fake)
    if how == "forged":
        response = await say(client, fake, "staff_lilei", "/neworder C002 TEA-001*45", "m1", secret="guess")
    elif how == "stale":
        stale = int(time.time() * 1000) - 61 * 60 * 1000
        response = await say(client, fake, "staff_lilei", "/neworder C002 TEA-001*45", "m1", ts=stale)
    else:
        response = await client.post("/dingtalk/callback", json=robot_body("staff_lilei", "/neworder C002 x", "m1"))
    assert response.status == (400 if how == "no sign" else 401)
    assert not background_work(client.app)  # refused before any work was started
    await settled(client.app, services)
    assert await snapshot(services, fake) == before


async def test_malformed_bodies_are_refused(world, fake):
    services, client = world
    before = await snapshot(services, fake)
    timestamp = str(int(time.time() * 1000))
    headers = {"timestamp": timestamp, "sign": robot_sign(fake.client_secret, timestamp)}
    assert (await client.post("/dingtalk/callback", data=b"{not json", headers=headers)).status == 400
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads alone raises RecursionError: a 500
    assert (await client.post("/dingtalk/callback", data=deep, headers=headers)).status == 400
    query, _ = sealed_request({"EventType": "check_url"})
    assert (await client.post("/dingtalk/callback", params=query, json=["x"])).status == 400
    crypto = MessageCrypto(TOKEN, AES_KEY, "dingappkey")
    for garbage in ("!!!", "c2hvcnQ="):  # not base64; base64 but not whole AES blocks
        signed = {"msg_signature": crypto.signature("1", "n", garbage), "timestamp": "1", "nonce": "n"}
        assert (await client.post("/dingtalk/callback", params=signed, json={"encrypt": garbage})).status == 400
    # Sealed correctly, but for another app: refused as not ours
    sealed = MessageCrypto(TOKEN, AES_KEY, "another-app").seal('{"EventType":"check_url"}', "1", "n")
    query = {"msg_signature": sealed.signature, "timestamp": "1", "nonce": "n"}
    assert (await client.post("/dingtalk/callback", params=query, json={"encrypt": sealed.encrypt})).status == 403
    assert await snapshot(services, fake) == before


async def test_url_check_is_answered_with_an_encrypted_success(world, fake):
    _, client = world
    query, body = sealed_request({"EventType": "check_url"})
    response = await client.post("/dingtalk/callback", params=query, json=body)
    assert response.status == 200
    reply = await response.json()
    crypto = MessageCrypto(TOKEN, AES_KEY, "dingappkey")
    assert crypto.open(reply["msg_signature"], reply["timeStamp"], reply["nonce"], reply["encrypt"]) == "success"


async def test_an_unknown_user_is_told_how_to_get_bound(world, fake):
    services, client = world
    response = await say(client, fake, "staff_nobody", "/approvals", "m-unknown")
    assert response.status == 200
    [reply] = await until(lambda: fake.texts("staff_nobody"))
    assert "staff_nobody" in reply
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_each_signature_is_accepted_once_and_a_forged_body_on_it_changes_nothing(world, fake):
    services, client = world
    headers = signed_headers(fake.client_secret) | {"Content-Type": "application/json"}
    first = robot_body("staff_lilei", "/whoami", "m-first")
    del first["msgId"]  # not every message carries one: the pair alone must keep it from acting twice
    raw = json.dumps(first, ensure_ascii=False).encode()
    # The pair's first use works: 李雷 is answered
    assert (await client.post("/dingtalk/callback", data=raw, headers=headers)).status == 200
    await until(lambda: fake.texts("staff_lilei"))
    await settled(client.app, services)
    before = await snapshot(services, fake)
    # Someone who captured the headers puts an order of their own under them: refused, nothing changes
    forged = robot_body("staff_lilei", "/neworder C002 TEA-001*45", "m-forged")
    response = await client.post("/dingtalk/callback", json=forged, headers=headers)
    assert response.status == 401 and (await response.json())["error"] == "signature already used"
    assert not client.server.app[adapter.WORK].tasks
    assert await snapshot(services, fake) == before  # no order, no timeline row, no key, no message
    # DingTalk's own re-delivery (the same headers and the same body) is answered and does nothing
    assert (await client.post("/dingtalk/callback", data=raw, headers=headers)).status == 200
    await settled(client.app, services)
    assert await snapshot(services, fake) == before
    # The next message, signed anew, is taken as usual
    assert (await say(client, fake, "staff_lilei", "/neworder C002 TEA-001*45", "m-next")).status == 200
    await until(lambda: any("SO-" in t for t in fake.texts("staff_lilei")))


async def test_a_signature_that_cannot_be_recorded_is_not_acted_on(world, fake, monkeypatch):
    services, client = world
    before = await snapshot(services, fake)

    async def database_away(*args, **kwargs):
        raise ConnectionError("database away")

    monkeypatch.setattr(services, "run", database_away)
    response = await say(client, fake, "staff_lilei", "/neworder C002 TEA-001*45", "m-lost")
    assert response.status == 503  # DingTalk may send it again; nothing was taken
    assert not client.server.app[adapter.WORK].tasks
    monkeypatch.undo()
    assert await snapshot(services, fake) == before
