"""Shared fixtures: a fresh SQLite database per test, and a fresh PostgreSQL database for the PG lane.

The PG lane is skipped when PostgreSQL is unreachable, except with ``OMS_REQUIRE_PG=1`` (CI),
where an unreachable server fails the run: a lane that silently skips proves nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from core.config import Settings
from core.services import Services
from tests.support.databases import make_services, sqlite_settings
from tests.support.postgres import new_pg_database

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
