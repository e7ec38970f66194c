"""Work notifications (工作通知): texts to one person from the app itself, through the old ``oapi``
API, used when ``OMS_DINGTALK_AGENT_ID`` is set.

It needs the old-style token (``GET /gettoken?appkey&appsecret``) and answers ``{"errcode": 0}`` on
success. DingTalk drops (silently, with success) the same content to the same person more than once
a day and anything past 500 messages per person per day, so robot messages stay the default.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import ClientError, ClientSession

from bot.outbox.clients import DeliveryError, Rejected, Throttled

TOKEN_MARGIN_SECONDS = 300
_THROTTLING = {90002, 90005, 90006, 90018, 90019, 90030, 90031}  # errcodes for call-frequency limits
_TRANSIENT = {-1, 88}  # "system busy" and the like


def check(answer: dict[str, Any]) -> None:
    code = answer.get("errcode", 0)
    if code == 0:
        return
    reason = f"errcode {code}: {answer.get('errmsg', '')}"
    if code in _THROTTLING:
        raise Throttled(60.0)
    if code in _TRANSIENT:
        raise DeliveryError(reason)
    raise Rejected(reason)


class WorkNotifier:
    def __init__(self, *, app_key: str, app_secret: str, agent_id: str, oapi_url: str) -> None:
        self.app_key, self.app_secret, self.agent_id = app_key, app_secret, agent_id
        self.oapi_url = oapi_url.rstrip("/")
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def _access_token(self, session: ClientSession) -> str:
        async with self._lock:  # single flight, like the new-style token
            if self._token and time.monotonic() < self._expires:
                return self._token
            params = {"appkey": self.app_key, "appsecret": self.app_secret}
            async with session.get(f"{self.oapi_url}/gettoken", params=params) as response:
                answer = await response.json(content_type=None)
            check(answer)
            expires_in = float(answer.get("expires_in", 7200))
            self._token = str(answer["access_token"])
            self._expires = time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, expires_in / 2)
            return self._token

    async def send(self, session: ClientSession, staff_id: str, msg_key: str, msg_param: dict[str, str]) -> str:
        """Send a robot-style message (sampleText / sampleMarkdown) as a work notification."""
        if msg_key == "sampleText":
            msg = {"msgtype": "text", "text": {"content": msg_param["content"]}}
        else:
            msg = {"msgtype": "markdown", "markdown": {"title": msg_param["title"], "text": msg_param["text"]}}
        body = {"agent_id": int(self.agent_id), "userid_list": staff_id, "msg": msg}
        try:
            token = await self._access_token(session)
            url = f"{self.oapi_url}/topapi/message/corpconversation/asyncsend_v2"
            async with session.post(url, params={"access_token": token}, data=json.dumps(body)) as response:
                if response.status >= 500:
                    raise DeliveryError(f"HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as error:
            raise DeliveryError(f"work notification: {error!r}") from error
        if answer.get("errcode") in (40014, 42001):  # token invalid / expired: fetch anew on the retry
            self._token = None
            raise DeliveryError(f"errcode {answer.get('errcode')}")
        check(answer)
        return f"wn:{answer.get('task_id', '')}"
