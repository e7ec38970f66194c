"""A real server on localhost with the demo master data, driven over HTTP like the console page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.auth import Actor
from core.masterdata.loader import load_file
from integrations.cli.demo import DEMO_DATA
from integrations.console.api import mount as console
from integrations.web import events
from integrations.web.app import build_app
from tests.conftest import make_services, sqlite_settings
from tests.e2e.platforms import caught_up


class Console:
    """The console API as a person uses it: say something as someone, read their timeline, tap."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def say(self, user: str, text: str) -> list[str]:
        response = await self.client.post("/console/api/messages", json={"user": user, "text": text})
        assert response.status == 200, await response.text()
        return [r["text"] for r in (await response.json())["replies"] if r["text"]]

    async def inbox(self, user: str) -> list[dict[str, Any]]:
        response = await self.client.get("/console/api/inbox", params={"user": user})
        assert response.status == 200, await response.text()
        return (await response.json())["entries"]

    async def cards(self, user: str, title: str = "") -> list[dict[str, Any]]:
        cards = {e["card"]["card_id"]: e["card"] for e in await self.inbox(user) if e["card"]}
        return [c for c in cards.values() if title in c["title"]]

    async def tap(self, user: str, card: dict[str, Any], label: str) -> list[str]:
        [button] = [b for b in card["buttons"] if b["label"] == label]
        response = await self.client.post(
            "/console/api/actions", json={"user": user, "card_id": card["card_id"], "action": button["action"]}
        )
        assert response.status == 200, await response.text()
        return [r["text"] for r in (await response.json())["replies"] if r["text"]]

    async def texts(self, user: str) -> list[str]:
        return [e["text"] for e in await self.inbox(user) if e["text"] and e["direction"] == "out"]


@pytest.fixture
async def console_app(tmp_path) -> AsyncIterator[tuple[Console, Any]]:
    services = await make_services(sqlite_settings(tmp_path / "console.db", console_mode="open"))
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    app, enabled = build_app(services, [console, events.mount])  # as ``oms serve`` mounts them
    assert enabled == ["console"]
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    await caught_up(services)
    try:
        yield Console(client), services
    finally:
        await client.close()


@pytest.fixture
async def chat(console_app) -> Console:
    return console_app[0]
