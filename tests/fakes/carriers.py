"""Fake tracking aggregators' subscription APIs over real HTTP.

``FakeKuaidi100``: ``POST /poll``, a form with ``schema=json`` and ``param`` (JSON: company,
number, key, parameters{callbackurl, salt, resultv2, phone}); answers ``returnCode`` 200
"提交成功", 501 for a number already subscribed, 600 for a wrong key, 700 for an unknown company
or a missing callback, 500 (HTTP 200, as Kuaidi100 does) when a test scripts a failure.
``FakeAfterShip``: ``POST /tracking/<version>/trackings`` with ``as-api-key`` and a JSON tracking;
201 with ``data``, 400 ``meta.code`` 4003 for one that exists, 401 for a wrong key.
Both keep what they accepted and every request, and take ``fail_next`` answers (HTTP status or
body) a test queues to make the next calls fail.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from core.shipping import carriers
from tests.fakes.server import serve_locally

KUAIDI100_KEY = "k100-key-test"
AFTERSHIP_KEY = "asat_test_key"
AFTERSHIP_VERSION = "2025-01"


class _Fake:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # {"headers", "body"} of every call
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (HTTP status, JSON body), oldest first
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Any:
        self.runner, self.url = await serve_locally(self.app)
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def _scripted(self) -> web.Response | None:
        if not self.fail_next:
            return None
        status, body = self.fail_next.pop(0)
        return web.json_response(body, status=status)


class FakeKuaidi100(_Fake):
    def __init__(self, key: str = KUAIDI100_KEY) -> None:
        super().__init__()
        self.key = key
        self.subscribed: dict[tuple[str, str], dict[str, Any]] = {}  # (company, number) -> param
        self.app.router.add_post("/poll", self.poll)

    @property
    def api_url(self) -> str:
        return self.url + "/poll"

    async def poll(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append({"headers": dict(request.headers), "form": dict(form)})
        if (scripted := self._scripted()) is not None:
            return scripted
        if form.get("schema") != "json" or not isinstance(form.get("param"), str):
            return _k100("700", "订阅方的订阅数据存在错误")
        param = json.loads(str(form["param"]))
        if param.get("key") != self.key:
            return _k100("600", "您不是合法的订阅者")
        company, number = str(param.get("company") or ""), str(param.get("number") or "")
        parameters = param.get("parameters") or {}
        if company not in carriers.BY_KUAIDI100 or not number or not parameters.get("callbackurl"):
            return _k100("700", "订阅方的订阅数据存在错误")
        if (company, number) in self.subscribed:
            return _k100("501", "重复订阅", result=False)
        self.subscribed[(company, number)] = param
        return _k100("200", "提交成功")


def _k100(code: str, message: str, *, result: bool | None = None) -> web.Response:
    ok = code == "200" if result is None else result
    return web.json_response({"result": ok, "returnCode": code, "message": message})


class FakeAfterShip(_Fake):
    def __init__(self, key: str = AFTERSHIP_KEY) -> None:
        super().__init__()
        self.key = key
        self.trackings: dict[tuple[str, str], dict[str, Any]] = {}  # (slug, number) -> the tracking
        self.app.router.add_post(f"/tracking/{AFTERSHIP_VERSION}/trackings", self.create)

    @property
    def api_url(self) -> str:
        return f"{self.url}/tracking/{AFTERSHIP_VERSION}"

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if (scripted := self._scripted()) is not None:
            return scripted
        if request.headers.get("as-api-key") != self.key:
            return _meta(401, 401, "Invalid API key.")
        slug, number = str(body.get("slug") or ""), str(body.get("tracking_number") or "")
        if not number:
            return _meta(400, 4007, "tracking_number is required.")
        if slug not in carriers.BY_AFTERSHIP:
            return _meta(400, 4005, "The value of slug is invalid.")
        if (slug, number) in self.trackings:
            return _meta(400, 4003, "Tracking already exists.")
        tracking = {"id": uuid.uuid4().hex, **body, "tag": "Pending"}
        self.trackings[(slug, number)] = tracking
        return web.json_response({"meta": {"code": 201, "message": "Created"}, "data": tracking}, status=201)


def _meta(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"meta": {"code": code, "message": message, "type": "BadRequest"}, "data": {}}, status=status
    )
