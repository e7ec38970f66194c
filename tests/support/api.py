"""The REST API on a real aiohttp test server, with keys made by ``core.apikeys`` itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.apikeys import SCOPES, create_key
from core.auth import Actor
from core.config import Settings
from core.masterdata.loader import load_file
from core.services import Services
from integrations.api import mount as api
from integrations.cli.demo import DEMO_DATA
from integrations.web import events
from integrations.web.app import build_app
from tests.support.databases import make_services, sqlite_settings

ALL_SCOPES = tuple(SCOPES)


async def demo_services(path: Any, **settings: Any) -> Services:
    """Services over the demo master data: a SQLite file at ``path``, or ``database_url=`` (PG)."""
    url = settings.pop("database_url", None)
    config = Settings(_env_file=None, database_url=url, **settings) if url else sqlite_settings(path, **settings)
    services = await make_services(config)
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    return services


async def new_key(
    services: Services,
    name: str,
    scopes: Iterable[str] = ALL_SCOPES,
    *,
    customer: str | None = None,
    warehouses: Iterable[str] = (),
) -> str:
    async with services.unit_of_work(Actor.system("test")) as ctx:
        _info, token = await create_key(ctx, name, scopes, customer=customer, warehouses=warehouses)
    return token


class Api:
    """A client that sends one key's bearer token (or none)."""

    def __init__(self, client: TestClient, token: str | None = None) -> None:
        self.client, self.token = client, token

    def as_key(self, token: str | None) -> Api:
        return Api(self.client, token)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**out, **(headers or {})}

    async def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> tuple[int, Any, Any]:
        async with self.client.get("/api/v1" + path, params=params, headers=self._headers(headers)) as r:
            return r.status, await r.json(content_type=None), r.headers

    async def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None, *, data: bytes | None = None
    ) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body if body is not None else {}}
        async with self.client.post("/api/v1" + path, headers=self._headers(headers), **kwargs) as r:
            return r.status, await r.json(content_type=None), r.headers


async def start(services: Services, mounts: list[Any] | None = None) -> TestClient:
    app, enabled = build_app(services, mounts or [api, events.mount])
    assert "api" in enabled
    client = TestClient(TestServer(app))
    await client.start_server()
    return client
