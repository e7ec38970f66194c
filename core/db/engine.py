"""Engines and sessions: SQLite tuned for a single writer, PostgreSQL through asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.db import inline_sqlite
from core.db.lengths import CheckedSession
from core.db.writer_queue import BriefFirstPool


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgresql://``, ``sqlite:///``) and pick the async driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    busy_timeout_ms: int = 10_000,
    synchronous: str = "NORMAL",
    echo: bool = False,
    read_only: bool = False,
) -> AsyncEngine:
    """``read_only`` (SQLite): transactions begin deferred, so readers never queue for the write lock.

    A SQLite writing engine holds one connection. SQLite has one write lock per file and its busy
    handler is a poll, not a queue: with a pool of writers in one process, a writer that has backed
    off to 100 ms naps keeps losing the lock to fresher ones and can starve past the busy timeout
    ("database is locked") while the work as a whole is well within it. One connection makes the
    process's writers wait their turn in the pool's queue (``pool_timeout``, 30 s): first come,
    first served, except that brief writes go first (``core.db.writer_queue``); the busy timeout
    is left for other processes on the same file.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        options: dict = {} if read_only else {"poolclass": BriefFirstPool, "pool_size": 1, "max_overflow": 0}
        if (path := _plain_file(url)) is not None:  # see core.db.inline_sqlite
            options["async_creator"] = inline_sqlite.connector(path, inline=not read_only)
            options["module"] = inline_sqlite.dbapi()
        engine = create_async_engine(url, echo=echo, **options)
        _tune_sqlite(engine, busy_timeout_ms, synchronous, "BEGIN" if read_only else "BEGIN IMMEDIATE")
        return _savepoints_as_text(engine)
    return _savepoints_as_text(create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True))


def _savepoints_as_text(engine: AsyncEngine) -> AsyncEngine:
    """SAVEPOINT, RELEASE and ROLLBACK TO sent as text. SQLAlchemy compiles a new clause for each
    (the name differs every time, so none is cached), which took longer than SQLite takes to run
    it; a chat turn's steps and its delivery are two savepoints each."""
    dialect = engine.sync_engine.dialect
    quote = dialect.identifier_preparer.quote

    def sent(sql: str) -> Any:
        return lambda connection, name: connection.exec_driver_sql(f"{sql} {quote(name)}")

    dialect.do_savepoint = sent("SAVEPOINT")  # type: ignore[method-assign]
    dialect.do_release_savepoint = sent("RELEASE SAVEPOINT")  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = sent("ROLLBACK TO SAVEPOINT")  # type: ignore[method-assign]
    return engine


def _plain_file(url: str) -> str | None:
    """The database file of a SQLite URL without options, or None (in memory, or with a query
    the inline connector would not pass on): such a writer keeps aiosqlite as it is."""
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:" or parsed.query:
        return None
    return parsed.database


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int, synchronous: str, begin: str) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE.

    A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY, which
    no busy timeout helps; taking the write lock at BEGIN makes writers queue instead.
    """
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"unknown sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql(begin)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True, sync_session_class=CheckedSession)
