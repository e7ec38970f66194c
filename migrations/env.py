"""Alembic environment: async engine, the models' metadata, batch mode on SQLite."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from core.db.engine import create_engine, normalise_url
import bot.models  # noqa: F401  (the chat layer's tables)
from core.db.registry import metadata

config = context.config


def _url() -> str:
    return normalise_url(config.get_main_option("sqlalchemy.url") or "")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=_url().startswith("sqlite")
    )
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:  # handed in by core.db.migrate
    _configure(config.attributes["connection"])
else:
    asyncio.run(_run_online())
