"""PostgreSQL databases for the PG lane: a fresh one per use, empty or a copy of a template.

The lane is skipped when PostgreSQL is unreachable, except with ``OMS_REQUIRE_PG=1`` (CI), where
an unreachable server fails the run: a lane that silently skips proves nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("OMS_REQUIRE_PG") == "1"


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
