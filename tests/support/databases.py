"""Databases for tests: settings for a SQLite file, and services over a schema made from the models."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

import bot.models  # noqa: F401  (chat tables in the metadata)
from core.config import Settings
from core.db.engine import normalise_url
from core.db.registry import metadata
from core.services import Services
from tests.support.cli import copy_database

_SCHEMA_TEMPLATES: dict[tuple[str, ...], Path] = {}


def sqlite_settings(path: os.PathLike[str] | str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", **overrides)


async def make_services(settings: Settings) -> Services:
    """Services over ``settings``' database with the models' schema in it.

    A new SQLite file is a copy of one this process made with ``metadata.create_all`` (about 40 ms
    each time for the 50-odd tables, a copy 3 ms): the same schema, in a file of the test's own.
    Any other database (PostgreSQL, a file that exists already) gets ``create_all`` as before."""
    target = _new_sqlite_file(settings.database_url)
    if target is not None:
        copy_database(await _schema_template(), target)
    services = Services.from_settings(settings)
    if target is None:
        async with services.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    return services


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite file URL if no such file exists yet, else None."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" or parsed.query:
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


async def _schema_template() -> Path:
    """A SQLite file with ``metadata.create_all``'s schema, made once per process for the tables now registered."""
    key = tuple(sorted(metadata.tables))
    if (template := _SCHEMA_TEMPLATES.get(key)) is None:
        folder = Path(tempfile.mkdtemp(prefix="oms-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "schema.db"
        services = Services.from_settings(sqlite_settings(template))
        async with services.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await services.close()
        _SCHEMA_TEMPLATES[key] = template
    return template
