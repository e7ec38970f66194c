"""Fake channel APIs over real HTTP, each speaking its platform's wire format for the calls the
OMS makes: Shopify Admin REST ``orders.json`` (access token, ``Link`` page_info pagination),
WooCommerce REST ``wc/v3/orders`` (basic auth, ``X-WP-TotalPages``), the Douyin open API (signed
calls, ``token.create``, ``order.orderDetail``, ``order.searchList``) and a Standard orders list
(bearer token, ``next`` links). Each holds its orders in a dict a test adds to or changes, records
the requests it served, and serves at most ``page_size`` orders a page so pagination is exercised.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.server import serve_locally
from tests.support import channels as wire


class _Fake:
    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.requests: list[web.Request] = []
        self.bodies_by_path: list[tuple[str, str]] = []  # (path, body) of every request
        self.app = web.Application(middlewares=[self._record])
        self.runner: web.AppRunner | None = None
        self.url = ""

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request)
        self.bodies_by_path.append((request.path, await request.text()))
        return await handler(request)

    async def start(self) -> Any:
        self.runner, self.url = await serve_locally(self.app)
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FakeShopify(_Fake):
    """``GET /admin/api/<version>/orders.json``; ``orders`` by id, each a REST order dict."""

    def __init__(self, token: str = wire.SHOPIFY_TOKEN, page_size: int = 250) -> None:
        super().__init__(page_size)
        self.token = token
        self.orders: dict[int, dict[str, Any]] = {}
        self.app.router.add_get("/admin/api/{version}/orders.json", self._orders)

    def add(self, order: dict[str, Any]) -> None:
        self.orders[order["id"]] = order

    async def _orders(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return web.json_response(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, status=401
            )
        query = request.query
        limit = min(int(query.get("limit", "50")), 250, self.page_size)
        if "page_info" in query:
            if set(query) - {"page_info", "limit", "fields"}:
                return web.json_response({"errors": {"page_info": ["Invalid value."]}}, status=400)
            cursor = json.loads(base64.urlsafe_b64decode(query["page_info"]))
        else:
            cursor = {"after": 0, "updated_at_min": query.get("updated_at_min"), "status": query.get("status", "open")}
        chosen = sorted((o for o in self.orders.values() if self._matches(o, cursor)), key=lambda o: o["id"])
        chosen = [o for o in chosen if o["id"] > cursor["after"]]
        page, more = chosen[:limit], len(chosen) > limit
        headers = {}
        if more:
            info = base64.urlsafe_b64encode(json.dumps({**cursor, "after": page[-1]["id"]}).encode()).decode()
            headers["Link"] = f'<{self.url}{request.path}?limit={limit}&page_info={info}>; rel="next"'
        return web.Response(
            body=json.dumps({"orders": page}).encode(), content_type="application/json", headers=headers
        )

    @staticmethod
    def _matches(order: dict[str, Any], cursor: dict[str, Any]) -> bool:
        if cursor["status"] == "open" and order.get("cancelled_at"):
            return False
        since = cursor.get("updated_at_min")
        return not since or _parse(order["updated_at"]) >= _parse(since)


class FakeWooCommerce(_Fake):
    """``GET /wp-json/wc/v3/orders``; ``orders`` by id, each a v3 order dict."""

    def __init__(self, token: str = wire.WOO_TOKEN, page_size: int = 100) -> None:
        super().__init__(page_size)
        self.key, _, self.secret = token.partition(":")
        self.orders: dict[int, dict[str, Any]] = {}
        self.app.router.add_get("/wp-json/wc/v3/orders", self._orders)

    def add(self, order: dict[str, Any]) -> None:
        self.orders[order["id"]] = order

    async def _orders(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            body = {
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            }
            return web.json_response(body, status=401)
        query = request.query
        per_page, page = min(int(query.get("per_page", "10")), 100, self.page_size), int(query.get("page", "1"))
        gmt = query.get("dates_are_gmt") == "true"
        since = query.get("modified_after")
        field = "date_modified_gmt" if gmt else "date_modified"
        chosen = [
            o
            for o in self.orders.values()
            if o["status"] != "trash" and (not since or _parse(o[field]) > _parse(since))
        ]
        chosen.sort(key=lambda o: (o["date_modified_gmt"], o["id"]))
        pages = max(1, -(-len(chosen) // per_page))
        batch = chosen[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(pages)}
        return web.Response(body=wire.woo_body(batch), content_type="application/json", headers=headers)


class FakeDouyin(_Fake):
    """The open API gateway: ``POST /<module>/<action>`` signed calls; ``orders`` by order id, each
    a ``shop_order_detail`` dict."""

    def __init__(
        self,
        app_key: str = wire.DOUYIN_APP_KEY,
        app_secret: str = wire.DOUYIN_APP_SECRET,
        shop_id: str = wire.DOUYIN_SHOP_ID,
        page_size: int = 100,
    ) -> None:
        super().__init__(page_size)
        self.app_key, self.app_secret, self.shop_id = app_key, app_secret, shop_id
        self.orders: dict[str, dict[str, Any]] = {}
        self.tokens_issued: list[str] = []
        self.expires_in = 604800
        self.app.router.add_post("/{module}/{action}", self._call)

    def add(self, detail: dict[str, Any]) -> None:
        self.orders[str(detail["order_id"])] = detail

    def bodies(self, method: str) -> list[str]:
        """The ``param_json`` bodies of the calls to ``method`` (dotted), in order."""
        path = "/" + method.replace(".", "/")
        return [body for p, body in self.bodies_by_path if p == path]

    async def _call(self, request: web.Request) -> web.Response:
        query = request.query
        method = f"{request.match_info['module']}.{request.match_info['action']}"
        params_json = (await request.text()) or query.get("param_json", "{}")
        if query.get("app_key") != self.app_key or query.get("method") != method or query.get("v") != "2":
            return _douyin_error(30001, "app_key或method或v参数错误", "isv.parameter-invalid")
        if query.get("sign") != self._sign(method, params_json, query.get("timestamp", ""), query.get("sign_method")):
            return _douyin_error(40004, "签名校验失败", "isv.sign-invalid")
        params = json.loads(params_json)
        if method == "token.create":
            return self._token(params)
        if query.get("access_token") not in self.tokens_issued:
            return _douyin_error(30002, "access_token已过期", "isv.access-token-expired")
        if method == "order.orderDetail":
            detail = self.orders.get(str(params.get("shop_order_id")))
            if detail is None:
                return _douyin_error(50002, "订单不存在", "isv.business-failed:10004")
            return _douyin_ok({"shop_order_detail": detail})
        if method == "order.searchList":
            return self._search(params)
        return _douyin_error(30001, f"未知方法 {method}", "isv.method-invalid")

    def _sign(self, method: str, params_json: str, timestamp: str, sign_method: str | None) -> str:
        fields = f"app_key{self.app_key}method{method}param_json{params_json}timestamp{timestamp}v2"
        pattern = f"{self.app_secret}{fields}{self.app_secret}"
        if sign_method == "hmac-sha256":
            return hmac.new(self.app_secret.encode(), pattern.encode(), hashlib.sha256).hexdigest()
        return hashlib.md5(pattern.encode()).hexdigest()

    def _token(self, params: dict[str, Any]) -> web.Response:
        if params.get("grant_type") != "authorization_self" or str(params.get("shop_id")) != self.shop_id:
            return _douyin_error(30001, "shop_id 与应用不匹配", "isv.parameter-invalid")
        token = f"tok-{len(self.tokens_issued) + 1}-{self.shop_id}"
        self.tokens_issued.append(token)
        data = {
            "access_token": token,
            "expires_in": self.expires_in,
            "refresh_token": f"r{token}",
            "shop_id": int(self.shop_id),
        }
        return _douyin_ok(data)

    def _search(self, params: dict[str, Any]) -> web.Response:
        size, page = min(int(params["size"]), 100, self.page_size), int(params["page"])
        since = int(params.get("update_time_start") or 0)
        chosen = sorted(
            (o for o in self.orders.values() if o["update_time"] >= since),
            key=lambda o: (o["update_time"], o["order_id"]),
        )
        if not params.get("order_asc"):
            chosen.reverse()
        batch = chosen[page * size : (page + 1) * size]
        return _douyin_ok({"shop_order_list": batch, "page": page, "size": size, "total": len(chosen)})


def _douyin_ok(data: Any) -> web.Response:
    return web.json_response(
        {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "2026120110000001", "data": data}
    )


def _douyin_error(code: int, msg: str, sub_code: str) -> web.Response:
    return web.json_response(
        {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": msg, "log_id": "2026120110000002", "data": None}
    )


class FakeStandard(_Fake):
    """``GET /orders?updated_since=`` of a system sending our generic JSON; ``orders`` by id."""

    def __init__(self, token: str = wire.STANDARD_TOKEN, page_size: int = 50) -> None:
        super().__init__(page_size)
        self.token = token
        self.orders: dict[str, dict[str, Any]] = {}
        self.app.router.add_get("/orders", self._orders)

    def add(self, data: dict[str, Any]) -> None:
        self.orders[str(data["id"])] = data

    async def _orders(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        since = request.query.get("updated_since")
        offset = int(request.query.get("offset", "0"))
        chosen = sorted(
            (o for o in self.orders.values() if not since or _parse(o["updated_at"]) >= _parse(since)),
            key=lambda o: (o["updated_at"], o["id"]),
        )
        batch = chosen[offset : offset + self.page_size]
        more = offset + self.page_size < len(chosen)
        query = {"offset": offset + self.page_size, **({"updated_since": since} if since else {})}
        next_url = f"{self.url}/orders?{urlencode(query)}" if more else None
        return web.json_response({"data": batch, "has_more": more, "next": next_url})
