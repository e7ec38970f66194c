"""DingTalk Stream mode: we open a WebSocket to DingTalk, so no public URL is needed.

Protocol (open-dingtalk developerpedia ``docs/learn/stream/protocol.md``): ``POST
/v1.0/gateway/connections/open`` with the app's credentials and subscriptions returns an endpoint
and a single-use ticket; we connect to ``endpoint?ticket=…`` and DingTalk pushes frames
``{"specVersion","type": SYSTEM|EVENT|CALLBACK,"headers":{"topic","messageId",…},"data":"<json>"}``.
Every frame is acknowledged with its ``messageId`` (a ``ping`` by echoing its data); ``disconnect``
or a dropped socket means opening again with a fresh ticket, with exponential backoff and jitter
(1 s doubling to 60 s) when it keeps failing.

Decision: a thin client on aiohttp instead of the official ``dingtalk-stream`` SDK (0.24.3, in the
venv). The SDK opens connections with the blocking ``requests`` library inside its async loop —
``DingTalkStreamClient.start`` (``dingtalk_stream/stream.py`` line 65) calls ``open_connection``,
which does ``requests.post(...)`` at line 172 (and ``get_access_token``, line 217, likewise) — so
every reconnect or token refresh would stall our whole server, outbox and all. It also waits a
fixed 10 s after any failure rather than backing off. Its framing is small enough to own: what
follows is that framing, testable against a local fake gateway.

Acknowledge first, then work: the handler gets the frame after its ACK is sent and is expected to
schedule the work in the background. DingTalk re-pushes events it did not see acknowledged and
duplicates remain possible even so: every frame is acknowledged again, and the chat layer's durable
de-duplication (on the message's own id, or the card, user and action of a tap) drops the repeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, WSMsgType
from yarl import URL

log = logging.getLogger(__name__)

BOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
SUBSCRIPTIONS = [
    {"type": "CALLBACK", "topic": BOT_MESSAGE_TOPIC},
    {"type": "CALLBACK", "topic": CARD_CALLBACK_TOPIC},
]
CARD_TAPS_ONLY = [{"type": "CALLBACK", "topic": CARD_CALLBACK_TOPIC}]  # HTTP mode: messages come by HTTP
STABLE_SECONDS = 30.0  # a connection that lasted this long was healthy: the next failure backs off from 1 s again
# Called after the ACK went out with (frame type, topic, decoded data, headers).
FrameHandler = Callable[[str, str, dict[str, Any], dict[str, Any]], Awaitable[None]]


def ack_frame(message_id: str, data: Any = None, *, raw: str | None = None) -> dict[str, Any]:
    """The acknowledgement DingTalk expects for a frame (``data`` is a JSON string on the wire)."""
    return {
        "code": 200,
        "headers": {"messageId": message_id, "contentType": "application/json"},
        "message": "OK",
        "data": raw if raw is not None else json.dumps(data, ensure_ascii=False),
    }


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): base·2ⁿ capped, jittered ±20 %."""
    delay = min(cap, base * 2**attempt)
    return min(cap, delay * (0.8 + 0.4 * rand()))


class StreamClient:
    """One long-lived Stream connection that keeps itself open until cancelled."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        handler: FrameHandler,
        api_url: str = "https://api.dingtalk.com",
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        heartbeat: float = 60.0,
        subscriptions: list[dict[str, str]] | None = None,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.handler = handler
        self.api_url = api_url.rstrip("/")
        self.base_delay, self.max_delay, self.heartbeat = base_delay, max_delay, heartbeat
        self.subscriptions = subscriptions or SUBSCRIPTIONS
        self.connections = 0  # sockets opened so far (for logs and tests)

    async def run(self) -> None:
        failures = 0
        async with ClientSession(timeout=ClientTimeout(total=None, connect=15)) as session:
            while True:
                try:
                    endpoint = await self._open(session)
                    started = time.monotonic()
                    clean = await self._serve(session, endpoint)
                    if clean or time.monotonic() - started >= STABLE_SECONDS:
                        failures = 0  # a gateway that accepts and drops at once keeps backing off
                    if clean:
                        continue  # DingTalk asked us to move: reconnect at once with a fresh ticket
                except asyncio.CancelledError:
                    raise
                except (ClientError, TimeoutError, ValueError, KeyError) as error:
                    log.warning("dingtalk stream connection failed: %r", error)
                except Exception:  # never give up on the connection: log it and back off
                    log.exception("dingtalk stream connection broke")
                delay = backoff(failures, self.base_delay, self.max_delay)
                failures += 1
                log.info("dingtalk stream reconnecting in %.2fs", delay)
                await asyncio.sleep(delay)

    async def _open(self, session: ClientSession) -> str:
        body = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptions": self.subscriptions,
            "ua": "chatops-oms",
        }
        async with session.post(f"{self.api_url}/v1.0/gateway/connections/open", json=body) as response:
            if response.status != 200:
                raise ClientError(f"connections/open answered HTTP {response.status}: {await response.text()}")
            answer = await response.json(content_type=None)
        return str(URL(answer["endpoint"]).update_query(ticket=str(answer["ticket"])))

    async def _serve(self, session: ClientSession, url: str) -> bool:
        """Read frames until the socket ends; True when DingTalk told us to disconnect."""
        async with session.ws_connect(url, heartbeat=self.heartbeat) as ws:
            self.connections += 1
            log.info("dingtalk stream connected (#%d)", self.connections)
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except (ValueError, RecursionError):
                    log.warning("dingtalk stream sent a frame that is not JSON")
                    continue
                if await self._frame(ws, frame):
                    await ws.close()
                    return True
        log.warning("dingtalk stream socket closed")
        return False

    async def _frame(self, ws: Any, frame: dict[str, Any]) -> bool:
        kind = frame.get("type", "")
        headers = frame.get("headers") or {}
        topic, message_id = headers.get("topic", ""), str(headers.get("messageId", ""))
        raw = frame.get("data") or "{}"
        if kind == "SYSTEM":
            await ws.send_json(ack_frame(message_id, raw=raw))  # ping: echo its opaque data
            if topic == "disconnect":
                log.info("dingtalk stream asked to disconnect: %s", raw)
                return True
            return False
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
            data = None
        if kind == "EVENT":
            ack = {"status": "SUCCESS", "message": "OK"}
        else:
            ack = {"response": {} if topic == CARD_CALLBACK_TOPIC else None}
        await ws.send_json(ack_frame(message_id, ack))
        if not isinstance(data, dict):
            return False
        await self.handler(kind, topic, data, headers)
        return False
