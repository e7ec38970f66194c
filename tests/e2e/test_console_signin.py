"""The console in ``signin`` mode, attacked and used over real HTTP: nobody acts without a session,
a session acts only as its owner, links work once and expire, and other sites cannot drive it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.models import ChatMessage, Direction
from core.access.models import WebSession
from core.access.signin import end_sessions, find_user, issue_link
from core.audit.models import AuditRecord
from core.auth import Actor
from core.masterdata.loader import load_file
from core.orders.models import Order
from integrations.cli.demo import DEMO_DATA
from integrations.console.api import mount as console
from integrations.web.app import build_app
from tests.support.databases import make_services, sqlite_settings

PUBLIC = "http://oms.example.com"  # https would make the cookie Secure, which a test client on http never sends
JSON = {"Content-Type": "application/json"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def server(tmp_path) -> AsyncIterator[tuple[TestClient, Any, Clock]]:
    async with started(tmp_path, PUBLIC) as running:
        yield running


@asynccontextmanager
async def started(tmp_path, public_url: str) -> AsyncIterator[tuple[TestClient, Any, Clock]]:
    settings = sqlite_settings(tmp_path / "signin.db", console_mode="signin", public_url=public_url)
    services = await make_services(settings)
    clock = Clock()
    services.clock = clock
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    app, enabled = build_app(services, [console])
    assert enabled == ["console"]
    client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))  # unsafe: keep cookies for 127.0.0.1
    await client.start_server()
    try:
        yield client, services, clock
    finally:
        await client.close()


async def link_for(services, who: str) -> str:
    async with services.unit_of_work(Actor.system("test")) as ctx:
        user = await find_user(ctx, who)
        return await issue_link(ctx, user.id, "cli")


async def sign_in(client: TestClient, token: str) -> int:
    response = await client.post("/console/api/signin", json={"token": token})
    return response.status


async def counts(services) -> tuple[int, int]:
    """Orders, and messages anyone was heard saying (notifications delivered meanwhile don't count)."""
    async with services.reading() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        heard = await session.scalar(select(func.count()).where(ChatMessage.direction == Direction.IN))
    return orders, heard


async def say(client: TestClient, text: str, **extra: Any):
    return await client.post("/console/api/messages", json={"text": text, **extra})


async def test_anonymous_requests_change_nothing_and_see_no_one(server):
    client, services, _ = server
    before = await counts(services)
    for user in (None, "lilei", "wangfang"):
        body = {"text": "/neworder C001 TEA-001*2"} | ({"user": user} if user else {})
        response = await client.post("/console/api/messages", json=body)
        assert response.status == 401
        assert (await response.json())["code"] == "signin"
    tap = await client.post("/console/api/actions", json={"user": "wangfang", "card_id": 1, "action": "ap:1:1"})
    assert tap.status == 401
    assert (await client.get("/console/api/inbox", params={"user": "wangfang"})).status == 401
    assert (await client.get("/console/api/stream", params={"user": "wangfang"})).status == 401
    assert (await client.get("/console/api/identities")).status == 404  # the list is not served
    assert (await client.get("/console/api/me")).status == 401
    assert await counts(services) == before


async def test_the_page_without_a_session_says_how_to_get_a_link(server):
    client, _, _ = server
    response = await client.get("/console")
    assert response.status == 200
    page = await response.text()
    assert "oms console link" in page and "/console" in page


async def test_a_link_works_once(server):
    client, services, _ = server
    token = await link_for(services, "王芳")
    page = await client.get("/console/signin", params={"token": token})
    assert "王芳" in await page.text()  # looking at the link does not use it
    assert await sign_in(client, token) == 200
    me = await client.get("/console/api/me")
    assert (await me.json())["identity"]["name"] == "王芳"

    client.session.cookie_jar.clear()  # a second browser with the same link
    assert await sign_in(client, token) == 401
    assert (await client.get("/console/api/me")).status == 401


async def test_a_link_expires_after_ten_minutes(server):
    client, services, clock = server
    token = await link_for(services, "王芳")
    clock.now += timedelta(minutes=10, seconds=1)
    page = await client.get("/console/signin", params={"token": token})
    assert 'data-state="invalid"' in await page.text()
    assert await sign_in(client, token) == 401


async def test_a_forged_or_malformed_token_is_refused(server):
    client, _, _ = server
    assert await sign_in(client, "not-a-real-token") == 401
    for body in ({}, {"token": 5}, {"token": "x" * 500}):
        assert (await client.post("/console/api/signin", json=body)).status == 400


async def test_the_session_acts_only_as_its_owner_and_is_audited_so(server):
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "lilei")) == 200
    before = await counts(services)

    refused = await say(client, "/neworder C001 TEA-001*2", user="wangfang")
    assert refused.status == 403
    assert await counts(services) == before

    placed = await say(client, "/neworder C001 TEA-001*2")
    assert placed.status == 200
    [reply, *_] = (await placed.json())["replies"]
    order_no = reply["text"].split()[0].strip("*")
    async with services.reading() as session:
        order = await session.scalar(select(Order).where(Order.order_no == order_no))
        record = await session.scalar(select(AuditRecord).where(AuditRecord.order_id == order.id).limit(1))
        signin_audit = await session.scalar(select(AuditRecord).where(AuditRecord.action == "signin"))
    assert (record.actor, record.source) == ("李雷", "console:lilei")
    assert (signin_audit.actor, signin_audit.reason) == ("李雷", "cli")
    assert signin_audit.data["remote"]

    mine = await client.get("/console/api/inbox", params={"user": "lilei"})
    assert mine.status == 200 and (await mine.json())["entries"]
    assert (await client.get("/console/api/inbox", params={"user": "wangfang"})).status == 403


async def test_sessions_end_idle_at_their_end_and_on_logout(server):
    client, services, clock = server
    assert await sign_in(client, await link_for(services, "王芳")) == 200
    clock.now += timedelta(hours=11)
    assert (await client.get("/console/api/me")).status == 200  # in use: still alive
    clock.now += timedelta(hours=12, minutes=1)
    assert (await client.get("/console/api/me")).status == 401  # idle past 12 h

    assert await sign_in(client, await link_for(services, "王芳")) == 200
    for _ in range(16):  # active every 11 h, yet the absolute end (7 days) comes
        clock.now += timedelta(hours=11)
        await client.get("/console/api/me")
    assert (await client.get("/console/api/me")).status == 401

    assert await sign_in(client, await link_for(services, "王芳")) == 200
    async with services.unit_of_work(Actor.system("cli")) as ctx:
        assert await end_sessions(ctx, await find_user(ctx, "王芳")) == 1
    assert (await client.get("/console/api/me")).status == 401

    assert await sign_in(client, await link_for(services, "王芳")) == 200
    assert (await client.post("/console/api/signout", json={})).status == 200
    assert (await client.get("/console/api/me")).status == 401
    async with services.reading() as session:
        assert await session.scalar(select(func.count()).where(WebSession.revoked_at.is_not(None))) == 2


async def test_the_cookie_is_httponly_strict_and_secure_behind_https(tmp_path):
    async with started(tmp_path, "https://oms.example.com") as (client, services, _):
        response = await client.post("/console/api/signin", json={"token": await link_for(services, "王芳")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Path=/console" in cookie


async def test_the_cookie_is_not_secure_on_plain_http(server):
    client, services, _ = server
    response = await client.post("/console/api/signin", json={"token": await link_for(services, "王芳")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie


async def test_cross_site_requests_change_nothing(server):
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "lilei")) == 200
    before = await counts(services)
    form = await client.post(
        "/console/api/messages",
        data='{"text": "/neworder C001 TEA-001*2"}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert form.status == 415
    foreign = await client.post(
        "/console/api/messages", json={"text": "/neworder C001 TEA-001*2"}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status == 403
    rebound = await client.post(
        "/console/api/messages",
        json={"text": "/neworder C001 TEA-001*2"},
        headers={"Host": "evil.example:8080", "Origin": "http://evil.example:8080"},
    )
    assert rebound.status == 421
    assert (await client.get("/console", headers={"Host": "evil.example"})).status == 421
    assert await counts(services) == before

    same_origin = await client.post(
        "/console/api/messages", json={"text": "/whoami"}, headers={"Origin": str(client.make_url("")).rstrip("/")}
    )
    assert same_origin.status == 200
    public = await client.post(
        "/console/api/messages", json={"text": "/whoami"}, headers={"Host": "oms.example.com", "Origin": PUBLIC}
    )
    assert public.status == 200


async def test_other_routes_answer_any_host(server):
    client, _, _ = server
    assert (await client.get("/healthz", headers={"Host": "callbacks.example"})).status == 200


async def test_console_responses_carry_the_security_headers(server):
    client, _, _ = server
    for path in ("/console", "/console/api/me", "/console/static/console.js", "/console/signin?token=x"):
        response = await client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


async def test_a_retried_message_is_answered_from_the_first_result(server):
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "lilei")) == 200
    first = await say(client, "/neworder C001 TEA-001*2", client_msg_id="m-1")
    again = await say(client, "/neworder C001 TEA-001*2", client_msg_id="m-1")
    assert first.status == again.status == 200
    first_replies, again_body = (await first.json())["replies"], await again.json()
    assert [r["id"] for r in again_body["replies"]] == [r["id"] for r in first_replies]
    assert again_body["replayed"] is True
    async with services.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Order).where(Order.customer_id.is_not(None))) == 1

    other = await say(client, "/neworder C001 TEA-001*9", client_msg_id="m-1")
    assert other.status == 422
    fresh = await say(client, "/whoami", client_msg_id="m-2")
    assert fresh.status == 200
    assert (await say(client, "/whoami", client_msg_id="x" * 129)).status == 400


async def test_a_message_id_claimed_by_a_run_that_never_finished_is_not_run_again(server):
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "lilei")) == 200
    from core import idempotency

    speaker_id = await _user_id(services, "李雷")
    async with services.unit_of_work(Actor.system("test")) as ctx:  # the first attempt died after claiming
        await idempotency.claim(ctx, f"console:{speaker_id}", "m-9", "/neworder C001 TEA-001*2")
    before = await counts(services)
    response = await say(client, "/neworder C001 TEA-001*2", client_msg_id="m-9")
    assert response.status == 409
    assert await counts(services) == before


async def _user_id(services, name: str) -> int:
    async with services.unit_of_work(Actor.system("test")) as ctx:
        return (await find_user(ctx, name)).id


async def test_an_open_event_stream_ends_when_its_session_is_revoked(server, monkeypatch):
    import asyncio

    from integrations.console import api

    monkeypatch.setattr(api, "PING_SECONDS", api.POLL_SECONDS)  # re-checked at every ping
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "王芳")) == 200
    stream = await client.get("/console/api/stream")
    assert stream.status == 200
    async with services.unit_of_work(Actor.system("cli")) as ctx:
        await end_sessions(ctx, await find_user(ctx, "王芳"))
    await asyncio.wait_for(stream.read(), timeout=10)  # returns only when the server ends the stream
    assert stream.content.at_eof()


async def test_off_leaves_the_console_out(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "off.db", console_mode="off"))
    app, enabled = build_app(services, [console])
    assert enabled == []
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert (await client.get("/console")).status == 404
        assert (await client.post("/console/api/messages", json={"user": "x", "text": "/help"})).status == 404
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_a_reused_message_id_is_refused_in_the_readers_language(server):
    client, services, _ = server
    assert await sign_in(client, await link_for(services, "王芳")) == 200
    assert (await client.post("/console/api/locale", json={"locale": "zh-CN"})).status == 200
    assert (await say(client, "/whoami", client_msg_id="m-1")).status == 200
    reused = await say(client, "/help", client_msg_id="m-1")
    assert reused.status == 422
    body = await reused.json()
    assert body["code"] == "idempotency_key_reused" and not body["error"].isascii()


async def test_housekeeping_forgets_links_and_sessions_a_day_after_they_ended(server):
    from bot.scheduler import housekeeping
    from core.access.models import SignInLink

    client, services, clock = server
    assert await sign_in(client, await link_for(services, "王芳")) == 200
    await link_for(services, "李雷")  # never used
    clock.now += timedelta(days=2)  # the link expired; the session is still within its 7 days
    await housekeeping(services)
    async with services.reading() as session:
        assert await session.scalar(select(func.count()).select_from(SignInLink)) == 0
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 1
    clock.now += timedelta(days=7)
    await housekeeping(services)
    async with services.reading() as session:
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 0
