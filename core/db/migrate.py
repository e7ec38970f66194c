"""Running Alembic from code (``oms db upgrade``, tests), on the same async engine the app uses."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from core.db.sqlite_file import sqlite_path

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection):  # type: ignore[no-untyped-def]
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def schema_problem(engine: AsyncEngine) -> str | None:
    """Why the code cannot run on this database yet (one line an operator can act on), or None.

    A SQLite file that does not exist is reported as such, without connecting (which would create
    an empty one).
    """
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        return f"no database at {path}: run `oms db upgrade` first"
    current = await current_revision(engine)
    if current is None:
        return "the database has no schema yet: run `oms db upgrade` first"
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return None
    try:
        script.get_revision(current)
    except CommandError:
        return f"the database is at revision {current}, which this code does not know (it needs {head})"
    return f"the database is at revision {current}, the code needs {head}: run `oms db upgrade`"
