"""Alembic's head builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import bot.models  # noqa: F401
from core.db.engine import create_engine
from core.db.migrate import current_revision, upgrade
from core.db.registry import metadata


async def _diff_after_upgrade(url: str) -> tuple[list, str | None, set[str]]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # running it again is harmless
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
            )
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        return diff, await current_revision(engine), tables
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_to_head_matches_the_models(tmp_path):
    diff, revision, tables = await _diff_after_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    assert diff == []
    assert revision is not None
    assert set(metadata.tables) <= tables


@pytest.mark.pg
async def test_postgres_upgrade_to_head_matches_the_models(pg_url):
    diff, revision, tables = await _diff_after_upgrade(pg_url)
    assert diff == []
    assert set(metadata.tables) <= tables
