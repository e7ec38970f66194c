"""The console API as a person uses it, over a test client of the real server."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


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
