"""A fake chat platform over real HTTP: it throttles, fails and recognises repeats on request.

``FakePlatform`` is an aiohttp server with ``POST /send`` and ``POST /edit`` (JSON with
recipient, payload and key) answering in the ways real platforms do: 429 with ``Retry-After``,
500, or 200 with a message id. ``HttpClient`` is the matching ``PlatformClient``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from bot.outbox.clients import DeliveryError, Throttled
from tests.fakes.server import serve_locally


class FakePlatform:
    def __init__(self, script: list[int] | None = None, delay: float = 0.0) -> None:
        self.script = list(script or [])  # status codes to answer first, in order; then 200s
        self.delay = delay
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)  # recipient -> messages, in order
        self.keys: set[str] = set()
        self.calls = 0
        self.ids = itertools.count(1000)
        self.app = web.Application()
        self.app.router.add_post("/send", self.send)
        self.app.router.add_post("/edit", self.edit)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakePlatform:
        self.runner, self.url = await serve_locally(self.app)
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _answer(self, request: web.Request) -> tuple[web.Response | None, dict[str, Any]]:
        self.calls += 1
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            code = self.script.pop(0)
            if code == 429:
                return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "1"}), body
            return web.json_response({"error": "boom"}, status=code), body
        return None, body

    async def send(self, request: web.Request) -> web.Response:
        refusal, body = await self._answer(request)
        if refusal is not None:
            return refusal
        if body["key"] not in self.keys:  # a repeat of a delivered message is acknowledged, not shown twice
            self.keys.add(body["key"])
            self.received[body["recipient"]].append(body["payload"])
        return web.json_response({"message_id": str(next(self.ids))})

    async def edit(self, request: web.Request) -> web.Response:
        refusal, body = await self._answer(request)
        if refusal is not None:
            return refusal
        self.received[body["recipient"]].append({"edit": body["message_id"], **body["payload"]})
        return web.json_response({"ok": True})


class HttpClient:
    def __init__(self, base_url: str, platform: str = "fake", per_second: float = 50, per_chat_per_minute: float = 600):
        self.base_url, self.platform = base_url, platform
        self.per_second, self.per_chat_per_minute = per_second, per_chat_per_minute
        self.session = ClientSession(timeout=ClientTimeout(total=10))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.base_url + path, json=body) as response:
            if response.status == 429:
                raise Throttled(float(response.headers.get("Retry-After", "1")))
            if response.status >= 400:
                raise DeliveryError(f"HTTP {response.status}")
            return await response.json()

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        return (await self._post("/send", {"recipient": recipient, "payload": payload, "key": dedupe_key}))[
            "message_id"
        ]

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        await self._post(
            "/edit", {"recipient": recipient, "message_id": message_id, "payload": payload, "key": dedupe_key}
        )

    async def close(self) -> None:
        await self.session.close()
