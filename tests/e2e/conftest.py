"""A real server on localhost with the demo master data, driven over HTTP like the console page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.auth import Actor
from core.masterdata.loader import load_file
from integrations.cli.demo import DEMO_DATA
from integrations.console.api import mount as console
from integrations.web import events
from integrations.web.app import build_app
from tests.support.cli import MASTER, copy_database, oms
from tests.support.console import Console
from tests.support.databases import make_services, sqlite_settings
from tests.support.platforms import caught_up


@pytest.fixture
async def console_app(tmp_path) -> AsyncIterator[tuple[Console, Any]]:
    services = await make_services(sqlite_settings(tmp_path / "console.db", console_mode="open"))
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    app, enabled = build_app(services, [console, events.mount])  # as ``oms serve`` mounts them
    assert enabled == ["console"]
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    await caught_up(services)
    try:
        yield Console(client), services
    finally:
        await client.close()


@pytest.fixture
async def chat(console_app) -> Console:
    return console_app[0]


@pytest.fixture(scope="session")
def upgraded_template(tmp_path_factory) -> Path:
    """A database file after ``oms db upgrade``, made once per worker; tests get copies (``copy_database``)."""
    path = tmp_path_factory.mktemp("templates") / "upgraded.db"
    oms(path, "db", "upgrade")
    return path


@pytest.fixture(scope="session")
def loaded_template(tmp_path_factory, upgraded_template) -> Path:
    """A database file after ``oms db upgrade`` and ``oms load tests/data/master.yaml``, made once per worker."""
    path = copy_database(upgraded_template, tmp_path_factory.mktemp("templates") / "loaded.db")
    oms(path, "load", str(MASTER))
    return path
