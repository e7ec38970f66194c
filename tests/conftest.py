"""Shared fixtures: a fresh SQLite database per test, and a fresh PostgreSQL database for the PG lane.

The PG lane is skipped when PostgreSQL is unreachable, except with ``OMS_REQUIRE_PG=1`` (CI),
where an unreachable server fails the run: a lane that silently skips proves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.config import Settings
from core.services import Services
from tests.support.databases import make_services, sqlite_settings

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("OMS_REQUIRE_PG") == "1"

# The suite's own switches; every other OMS_* variable in the developer's shell is a product setting
# that would change what the tests see (a timezone, a threshold, a console mode), so it goes. The
# same for subprocesses the tests start, which inherit this environment.
TEST_SWITCHES = {"OMS_TEST_PG_URL", "OMS_REQUIRE_PG", "OMS_REQUIRE_BROWSER"}
for _name in [n for n in os.environ if n.startswith("OMS_") and n not in TEST_SWITCHES]:
    del os.environ[_name]


@pytest.fixture
async def services(tmp_path) -> AsyncIterator[Services]:
    svc = await make_services(sqlite_settings(tmp_path / "oms.db"))
    yield svc
    await svc.close()


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def new_pg_database(template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database, empty or a copy of the database ``template`` (``CREATE DATABASE …
    TEMPLATE``, which needs no one connected to it), dropped afterwards; its URL."""
    base = make_url(PG_URL)
    try:
        admin = await asyncpg.connect(_pg_dsn(PG_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if REQUIRE_PG:
            pytest.fail(
                f"PostgreSQL lane required (OMS_REQUIRE_PG=1) but {base.host}:{base.port} is unreachable: {error}"
            )
        pytest.skip(f"PostgreSQL not reachable at {base.host}:{base.port}: {error}")
    name = f"oms_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield base.set(database=name, drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    async with new_pg_database() as url:
        yield url


@pytest.fixture
async def pg_services(pg_url) -> AsyncIterator[Services]:
    svc = await make_services(Settings(database_url=pg_url))
    yield svc
    await svc.close()
