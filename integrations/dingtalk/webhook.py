"""HTTP mode: ``POST /dingtalk/callback`` for the robot's messages and for encrypted event
subscription pushes (card taps come over Stream in every mode), told apart by what they carry: a
``sign`` header is a robot message (HMAC-SHA256 over the timestamp); a ``msg_signature`` query is
an event subscription push (SHA1 signature plus an AES-256-CBC body, the envelope WeCom uses too,
so its crypto is shared).

Verify, answer at once, and work in the background: nothing is done for a request that fails a
check (401/403 for a bad signature or key, 400 for a malformed body).

The robot's ``sign`` covers the timestamp only, not the body, so a captured ``(timestamp, sign)``
pair would carry any body for the hour DingTalk allows. Each pair is therefore accepted once,
claimed in the database before the answer (``first_use``): the same pair with the same body again
is a re-delivery (DingTalk is reported to re-send a robot message it saw no answer to), answered
200 with nothing done; with another body it is refused like a bad signature.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.gateway import Use
from integrations.callback_crypto import BadCiphertext, MessageCrypto, SignatureMismatch, WrongReceiver
from integrations.dingtalk.signing import RobotSignatureError, verify_robot
from integrations.web.body import loads

log = logging.getLogger(__name__)


def event_crypto(token: str, aes_key: str, client_id: str) -> MessageCrypto:
    """The envelope for the app's event subscription: its ownerKey (receiver id) is the app key."""
    return MessageCrypto(token, aes_key, client_id)


def _now_ms() -> int:
    return int(time.time() * 1000)


Claim = Callable[[str, bytes], Awaitable[Use]]  # (the robot's "timestamp:sign", raw body) → first use?


class Callback:
    def __init__(
        self,
        *,
        client_secret: str,
        crypto: MessageCrypto | None,
        schedule: Callable[[str, dict], None],
        claim: Claim,
        max_depth: int,
    ):
        self.client_secret = client_secret
        self.max_depth = max_depth
        self.crypto = crypto
        self.schedule = schedule  # starts the work in the background; returns at once
        self.claim = claim

    async def handle(self, request: web.Request) -> web.Response:
        if "sign" in request.headers:
            return await self._robot(request)
        if "msg_signature" in request.query or "signature" in request.query:
            return await self._event(request)
        return _refuse(400, "neither a signed robot message nor an encrypted event")

    async def _robot(self, request: web.Request) -> web.Response:
        timestamp, sign = request.headers.get("timestamp"), request.headers.get("sign")
        try:
            verify_robot(self.client_secret, timestamp, sign, _now_ms())
        except RobotSignatureError as error:
            log.warning("dingtalk robot callback refused: %s", error)
            return _refuse(401, "bad signature")
        raw = await request.read()
        data = _parse(raw, self.max_depth)
        if data is None or "msgtype" not in data:
            return _refuse(400, "not a robot message")
        try:
            use = await self.claim(f"{timestamp}:{sign}", raw)
        except Exception:  # the database is away: DingTalk may send it again later
            log.exception("dingtalk robot callback: could not record its signature")
            return _refuse(503, "try again later")
        if use is Use.REUSED:
            log.warning("dingtalk robot callback refused: the signature of %s came before with another body", timestamp)
            return _refuse(401, "signature already used")
        if use is Use.FIRST:
            self.schedule("message", data)
        else:
            log.info("dingtalk robot callback of %s delivered again: answered, nothing done", timestamp)
        return web.json_response({})

    async def _event(self, request: web.Request) -> web.Response:
        if self.crypto is None:
            return _refuse(403, "event subscription is not configured (token and AES key)")
        query = request.query
        signature = query.get("msg_signature") or query.get("signature", "")
        timestamp = query.get("timestamp") or query.get("timeStamp", "")
        nonce = query.get("nonce", "")
        body = await _body(request, self.max_depth)
        if body is None or not isinstance(body.get("encrypt"), str):
            return _refuse(400, 'body must be {"encrypt": ...}')
        try:
            plain = self.crypto.open(signature, timestamp, nonce, body["encrypt"])
        except SignatureMismatch:
            log.warning("dingtalk event refused: msg_signature does not match")
            return _refuse(401, "bad signature")
        except WrongReceiver:
            return _refuse(403, "addressed to another app")
        except BadCiphertext as error:
            return _refuse(400, f"cannot decrypt: {error}")
        try:
            event = loads(plain.encode(), max_depth=self.max_depth)
        except ValueError:
            return _refuse(400, "decrypted body is not JSON")
        if not isinstance(event, dict):
            return _refuse(400, "decrypted body is not an object")
        if event.get("EventType") != "check_url":
            log.info("dingtalk event %r ignored", event.get("EventType"))
        return web.json_response(self.success())

    def success(self) -> dict[str, str]:
        """The encrypted "success" DingTalk expects for every event (and the URL check)."""
        assert self.crypto is not None
        sealed = self.crypto.seal("success", str(_now_ms()), secrets.token_hex(8))
        return {
            "msg_signature": sealed.signature,
            "timeStamp": sealed.timestamp,
            "nonce": sealed.nonce,
            "encrypt": sealed.encrypt,
        }


async def _body(request: web.Request, max_depth: int) -> dict[str, Any] | None:
    return _parse(await request.read(), max_depth)


def _parse(raw: bytes, max_depth: int) -> dict[str, Any] | None:
    try:
        data = loads(raw, max_depth=max_depth)
    except ValueError:  # BadBody: not UTF-8 JSON, or nested too deep
        return None
    return data if isinstance(data, dict) else None


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
