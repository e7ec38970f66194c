"""Databases for tests: settings for a SQLite file, and services over a schema made from the models."""

from __future__ import annotations

import os

import bot.models  # noqa: F401  (chat tables in the metadata)
from core.config import Settings
from core.db.registry import metadata
from core.services import Services


def sqlite_settings(path: os.PathLike[str] | str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", **overrides)


async def make_services(settings: Settings) -> Services:
    services = Services.from_settings(settings)
    async with services.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return services
