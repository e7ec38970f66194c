"""A webhook receiver as an ERP would run one: it checks every POST with the official
``standardwebhooks`` package, answers as told (``answers``: statuses, or (status, headers), for the
next requests; 204 after that), and keeps what it accepted, de-duplicated by ``webhook-id`` as the
spec tells receivers to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from tests.fakes.server import serve_locally


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    verified: bool
    status: int

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secret: str | None = None  # set once the endpoint is added (its secret is known then)
    answers: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id -> envelope, once
    duplicates: int = 0
    path: str = "/hook"
    # The answer for one envelope, before ``answers`` (None: no opinion), e.g. to fail one order.
    decide: Callable[[dict[str, Any]], int | None] | None = None

    async def start(self, port: int = 0) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post(self.path, self._receive)
        app.router.add_post("/elsewhere", self._elsewhere)
        self._runner, self.base = await serve_locally(app, port)
        self.url = self.base + self.path
        self.arrived = asyncio.Event()
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(self.secret or "").verify(body, headers)
        except (WebhookVerificationError, ValueError):  # binascii.Error is a ValueError
            return False
        return True

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = self.verify(body, headers)
        decided = self.decide(json.loads(body)) if self.decide and verified else None
        answer = decided if decided is not None else self.answers.pop(0) if self.answers else 204
        status, extra = answer if isinstance(answer, tuple) else (answer, {})
        if not verified:
            status, extra = 401, {}
        self.requests.append(
            Received(
                webhook_id=headers.get("webhook-id", ""),
                timestamp=headers.get("webhook-timestamp", ""),
                signature=headers.get("webhook-signature", ""),
                body=body,
                verified=verified,
                status=status,
            )
        )
        if 200 <= status < 300:
            if headers["webhook-id"] in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[headers["webhook-id"]] = json.loads(body)
        self.arrived.set()
        if 300 <= status < 400:
            extra = {"Location": self.base + "/elsewhere", **extra}
        return web.Response(status=status, headers=extra)

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.requests.append(Received("", "", "", await request.read(), False, 299))  # must never happen
        return web.Response(status=204)
