"""The Douyin shop (抖店) open API: signed calls, the self-use app's access token, two order reads.

Signing, as ``minibear2021/doudian`` ``doudian/core.py`` does it (v=2, ``sign_method=hmac-sha256``):
``param_json`` is the business parameters as JSON with sorted keys and no spaces;
``sign = hex(HMAC-SHA256(key=app_secret, app_secret + "app_key<k>method<m>param_json<p>timestamp<t>v2"
+ app_secret))``; the call is ``POST <gateway>/<method with / for .>?app_key=&method=&access_token=
&timestamp=&v=2&sign_method=hmac-sha256&sign=`` with ``param_json`` as the JSON body. The timestamp
is ``YYYY-MM-DD HH:MM:SS`` in Beijing time. An answer is ``{"code": 10000, "data": …}`` on success.

The access token: a self-use app (自用型) creates one with ``token.create``
(``grant_type=authorization_self``, ``shop_id``) and it lasts ``expires_in`` seconds; it is kept in
memory per channel and created again shortly before it runs out. A tool app (工具型) whose token
the operator obtains by OAuth gives it in the channel token instead (see ``douyin``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientSession

from integrations.channels.base import ApiFailed
from integrations.channels.wire import load

GATEWAY = "https://openapi-fxg.jinritemai.com"
BEIJING = ZoneInfo("Asia/Shanghai")
SUCCESS = 10000
RENEW_BEFORE = 300.0  # seconds before expiry at which a token is created again


def param_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def sign(app_key: str, app_secret: str, method: str, params_json: str, timestamp: str) -> str:
    pattern = f"app_key{app_key}method{method}param_json{params_json}timestamp{timestamp}v2"
    wrapped = f"{app_secret}{pattern}{app_secret}".encode()
    return hmac.new(app_secret.encode(), wrapped, hashlib.sha256).hexdigest()


@dataclass
class DouyinApi:
    """One channel's credentials against one gateway."""

    app_key: str
    app_secret: str
    gateway: str = GATEWAY
    shop_id: str | None = None
    access_token: str | None = None  # given (tool app) or created (self-use app)
    expires_at: float = 0.0  # time.monotonic() deadline of a created token; 0 = given, never expires
    creating: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)  # one token.create at a time

    async def call(self, http: ClientSession, method: str, params: dict[str, Any]) -> Any:
        """``method`` is dotted (``order.orderDetail``); the answer's ``data``."""
        token = None if method == "token.create" else await self._token(http)
        body = param_json(params)
        timestamp = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        query = {"app_key": self.app_key, "method": method, "timestamp": timestamp, "v": "2"}
        if token is not None:
            query["access_token"] = token
        query |= {"sign_method": "hmac-sha256", "sign": sign(self.app_key, self.app_secret, method, body, timestamp)}
        url = f"{self.gateway.rstrip('/')}/{method.replace('.', '/')}"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        async with http.post(url, params=query, data=body.encode(), headers=headers) as resp:
            resp.raise_for_status()
            answer = load(await resp.read())
        if answer.get("code") != SUCCESS:
            raise ApiFailed(answer.get("code"), f"{method}: {answer.get('msg')} {answer.get('sub_msg') or ''}".strip())
        return answer.get("data")

    def _fresh(self) -> bool:
        return bool(self.access_token) and (not self.expires_at or time.monotonic() < self.expires_at - RENEW_BEFORE)

    async def _token(self, http: ClientSession) -> str:
        if self._fresh():
            return self.access_token  # type: ignore[return-value]
        async with self.creating:
            if not self._fresh():
                await self._create_token(http)
        return self.access_token  # type: ignore[return-value]

    async def _create_token(self, http: ClientSession) -> None:
        if not self.shop_id:
            raise ApiFailed("no_token", "Douyin needs an access token or the shop id of a self-use app")
        params = {"code": "", "grant_type": "authorization_self", "shop_id": self.shop_id}
        data = await self.call(http, "token.create", params)
        self.access_token = str(data["access_token"])
        self.expires_at = time.monotonic() + float(data.get("expires_in") or 0)

    async def order_detail(self, http: ClientSession, shop_order_id: str) -> dict[str, Any]:
        data = await self.call(http, "order.orderDetail", {"shop_order_id": shop_order_id})
        return data["shop_order_detail"]

    async def search_updated(self, http: ClientSession, since: datetime, size: int = 100) -> list[str]:
        """The ids of every order updated at or after ``since`` (``order.searchList``, pages from 0)."""
        ids: list[str] = []
        page = 0
        while True:
            params = {
                "update_time_start": int(since.timestamp()),
                "order_by": "update_time",
                "order_asc": True,
                "page": page,
                "size": size,
            }
            data = await self.call(http, "order.searchList", params)
            batch = data.get("shop_order_list") or []
            ids.extend(str(order["order_id"]) for order in batch)
            if not batch or len(ids) >= int(data.get("total") or 0):
                return ids
            page += 1
