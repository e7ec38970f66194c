"""The dashboard over real HTTP in sign-in mode: for people who may see reports, with the figures
the reporting module computes, drill-downs that add up to them, and a live notice on change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from core.access.signin import find_user, issue_link
from core.auth import Actor
from core.masterdata.loader import load_file
from core.reports import figures
from integrations.cli.demo import DEMO_DATA
from integrations.console.api import mount as console
from integrations.web import events
from integrations.web.app import build_app
from tests.support.databases import make_services, sqlite_settings
from tests.support.service_calls import place

PUBLIC = "http://oms.example.com"  # https would make the cookie Secure: not sent over the test's http


@pytest.fixture
async def server(tmp_path) -> AsyncIterator[tuple[Any, Any]]:
    settings = sqlite_settings(tmp_path / "dash.db", console_mode="signin", public_url=PUBLIC)
    services = await make_services(settings)
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    app, _ = build_app(services, [console, events.mount])
    clients = []

    async def client_for(who: str | None) -> TestClient:
        client = TestClient(TestServer(app) if not clients else clients[0].server, cookie_jar=CookieJar(unsafe=True))
        if not clients:
            await client.start_server()
        clients.append(client)
        if who is not None:
            async with services.unit_of_work(Actor.system("test")) as ctx:
                token = await issue_link(ctx, (await find_user(ctx, who)).id, "cli")
            assert (await client.post("/console/api/signin", json={"token": token})).status == 200
        return client

    try:
        yield client_for, services
    finally:
        for client in reversed(clients):
            await client.close()


async def today(services) -> tuple[figures.Summary, dict[str, figures.Breakdown]]:
    async with services.reading() as session:
        from core.context import Context

        ctx = Context(session=session, actor=Actor.system("test"), settings=services.settings, clock=services.clock)
        period = figures.named("today", ctx.now(), ctx.settings.timezone)
        summary = await figures.summary(ctx, period)
        return summary, {by: await figures.breakdown(ctx, period, by) for by in figures.BREAKDOWNS}


async def test_a_manager_sees_the_figures_the_reports_compute(server):
    client_for, services = server
    for customer, items in (("C001", {"TEA-001": 2}), ("C002", {"TEA-001": 1, "CUP-01": 3}), ("C001", {"CUP-01": 1})):
        await place(services, customer=customer, items=items)
    manager = await client_for("赵经理")
    response = await manager.get("/console/api/dashboard", params={"period": "today", "lang": "zh-CN"})
    assert response.status == 200
    data = await response.json()
    summary, by = await today(services)
    assert data["summary"]["orders"] == summary.orders == 3
    assert Decimal(data["summary"]["sales"]) == summary.sales > 0
    for name, breakdown in by.items():
        assert [(g["key"], g["orders"], Decimal(g["sales"])) for g in data["by"][name]] == [
            (g.key, g.orders, g.sales) for g in breakdown.groups
        ]
    # The pivot's rows add up to the sales by salesperson (line revenue, before rounding per cell).
    assert sum(Decimal(t) for t in data["pivot"]["totals"]) == pytest.approx(summary.sales, abs=Decimal("0.05"))
    assert all(s["label"] and s["label"] != s["status"] for s in data["stalled"])  # status words in Chinese


async def test_each_figure_drills_down_to_the_orders_that_make_it(server):
    client_for, services = server
    nos = [await place(services, customer=c) for c in ("C001", "C002", "C001")]
    manager = await client_for("赵经理")
    data = await (await manager.get("/console/api/dashboard")).json()
    for by in ("line", "region", "sales", "channel"):
        for group in data["by"][by]:
            found = await (
                await manager.get("/console/api/dashboard/orders", params={"by": by, "key": group["key"]})
            ).json()
            assert found["count"] == group["orders"], (by, group)
            if by != "line":  # a product line's figure is its lines' share; the orders carry their whole totals
                assert Decimal(found["sales"]) == Decimal(group["sales"])
            assert {o["order_no"] for o in found["orders"]} <= set(nos)
    every = await (await manager.get("/console/api/dashboard/orders")).json()  # the sales figure itself
    assert every["count"] == data["summary"]["orders"] and every["sales"] == data["summary"]["sales"]
    refused = await manager.get("/console/api/dashboard/orders", params={"by": "colour", "key": "red"})
    assert refused.status == 400 and (await refused.json())["code"] == "unknown_report_breakdown"


async def test_only_people_who_may_see_reports_get_it(server):
    client_for, _ = server
    nobody = await client_for(None)
    assert (await nobody.get("/console/api/dashboard")).status == 401
    sales = await client_for("李雷")
    refused = await sales.get("/console/api/dashboard")
    assert refused.status == 403 and (await refused.json())["code"] == "forbidden"
    assert (await sales.get("/console/api/dashboard/orders", params={"by": "line", "key": ""})).status == 403
    finance = await client_for("王芳")
    assert (await finance.get("/console/api/dashboard")).status == 200
    assert (await finance.get("/console/api/dashboard", params={"period": "forever"})).status == 400


async def test_the_short_address_and_the_page(server):
    client_for, _ = server
    client = await client_for(None)
    moved = await client.get("/dashboard", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == "/console/dashboard"
    page = await client.get("/console/dashboard")
    assert page.status == 200 and "dashboard.js" in await page.text()
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]  # the console's perimeter


async def test_the_stream_says_changed_when_an_order_arrives(server):
    client_for, services = server
    manager = await client_for("赵经理")
    stream = await manager.get("/console/api/dashboard/stream")
    assert stream.status == 200
    assert (await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)).startswith(b"event: ready")
    await place(services, customer="C001")  # recorded by the services; delivered by the server's loop
    notice = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10)
    assert notice.startswith(b"event: changed")
    stream.close()


async def test_dashboard_in_chat_sends_a_private_sign_in_link_that_opens_it(server):
    from bot import gateway
    from bot.gateway import Inbound

    _client_for, services = server
    manager = Inbound("console", "zhaojl", "zhaojl")
    answer = await gateway.message(services, manager, "/看板")
    [text] = answer.texts
    assert f"{PUBLIC}/console/signin?token=" in text and text.rstrip().endswith("&next=dashboard")
    refused = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/dashboard")
    assert refused.texts == ["You may not view reports."]


async def test_in_the_open_demo_console_dashboard_answers_with_its_address(console_app):
    from bot import gateway
    from bot.gateway import Inbound

    _console, services = console_app
    answer = await gateway.message(services, Inbound("console", "zhaojl", "zhaojl"), "/dashboard")
    settings = services.settings
    assert answer.texts == [f"The live dashboard: http://{settings.host}:{settings.port}/dashboard"]


async def test_a_date_range_and_a_bad_period_in_the_speakers_language(server):
    from sqlalchemy import update

    from core.users.models import User

    client_for, services = server
    await place(services, customer="C001")
    async with services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == "王芳").values(locale="zh-CN"))
    finance = await client_for("王芳")
    summary, _ = await today(services)
    day = summary.period.first.isoformat()
    ranged = await (await finance.get("/console/api/dashboard", params={"period": f"{day}..{day}"})).json()
    assert ranged["period"] == {"name": "range", "first": day, "last": day, "timezone": summary.period.timezone}
    assert ranged["summary"]["orders"] == summary.orders == 1 and ranged["summary"]["sales"] == str(summary.sales)
    behind = await finance.get("/console/api/dashboard/orders", params={"period": f"{day}..{day}"})
    assert (await behind.json())["count"] == 1
    forever = await finance.get("/console/api/dashboard", params={"period": "forever"})
    assert forever.status == 400
    body = await forever.json()
    assert body["code"] == "unknown_report_period" and body["error"].startswith("无法识别的报表周期 forever")
    reversed_ = await finance.get("/console/api/dashboard/orders", params={"period": "2026-11-30..2026-11-01"})
    assert reversed_.status == 400 and (await reversed_.json())["error"].startswith("报表日期范围 2026-11-30")
