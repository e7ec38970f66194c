"""The SQLite writer's statements run on the event loop's thread; BEGIN and COMMIT, which may wait
for another process's write lock or for the disk, still run on aiosqlite's, and the loop serves
others meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db.engine import create_engine
from core.db.inline_sqlite import InlineConnection, _may_wait, _sql_may_wait, quick


def _threads_seen(engine) -> list[int]:  # noqa: ANN001
    """Register ``thread_id()`` on each new connection: the thread a statement calling it ran on."""
    seen: list[int] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _register(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.create_function("thread_id", 0, lambda: seen.append(threading.get_ident()) or 0)

    return seen


async def test_the_writers_statements_run_on_the_loops_thread_and_readers_on_aiosqlites(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"
    writer, reader = create_engine(url), create_engine(url, read_only=True)
    written, read = _threads_seen(writer), _threads_seen(reader)
    try:
        async with writer.begin() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "a"}, {"n": "b"}])
            assert (await connection.execute(text("SELECT thread_id()"))).scalar() == 0
        async with reader.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) + thread_id() FROM t"))).scalar() == 2
        assert written == [threading.get_ident()]  # the loop's own thread
        assert read and read[0] != threading.get_ident()  # aiosqlite's
    finally:
        await writer.dispose()
        await reader.dispose()


async def test_a_readers_lookups_by_key_run_inline_when_they_say_so(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"
    writer, reader = create_engine(url), create_engine(url, read_only=True)
    read = _threads_seen(reader)
    try:
        async with writer.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        with quick():
            async with reader.connect() as connection:
                assert (await connection.execute(text("SELECT thread_id()"))).scalar() == 0
        async with reader.connect() as connection:
            assert (await connection.execute(text("SELECT thread_id()"))).scalar() == 0
        assert read[0] == threading.get_ident() and read[1] != threading.get_ident()
    finally:
        await writer.dispose()
        await reader.dispose()


async def test_a_write_transaction_hops_to_aiosqlites_thread_only_to_begin_and_to_commit(tmp_path, monkeypatch):
    # Each statement's cursor is closed after it; closing a cursor waits for nothing, and sending
    # it to the thread cost a hop per statement (a tap's 26 statements, 3 ms of its time).
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    hops: list[str] = []
    to_thread = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        hops.append(" ".join([getattr(fn, "__name__", "?"), *(str(a)[:16] for a in args[:1])]))
        return await to_thread(self, fn, *args, **kwargs)

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "a"}, {"n": "b"}])
            await connection.execute(text("UPDATE t SET name = 'c' WHERE name = 'a'"))
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 2
        assert hops == ["execute BEGIN IMMEDIATE", "commit"]
    finally:
        await engine.dispose()


def test_a_connections_close_may_wait_and_a_cursors_may_not():
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        assert _may_wait(connection.close, ()) and _may_wait(connection.commit, ())
        assert not _may_wait(connection.cursor().close, ())
    finally:
        connection.close()


def test_what_may_wait_for_a_lock_or_the_disk_is_told_apart_from_what_may_not():
    waits = ["BEGIN IMMEDIATE", "begin exclusive", "COMMIT", "END", "PRAGMA journal_mode=WAL"]
    never = ["BEGIN", "BEGIN DEFERRED", "SAVEPOINT sa_1", "RELEASE SAVEPOINT sa_1", "SELECT 1", "UPDATE t SET x=1", ""]
    assert [_sql_may_wait(sql) for sql in waits] == [True] * len(waits)
    assert [_sql_may_wait(sql) for sql in never] == [False] * len(never)


async def test_an_inline_statements_error_is_sqlalchemys_and_the_transaction_rolls_back(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (name) VALUES ('b')"))
                await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all() == ["a"]
    finally:
        await engine.dispose()


async def test_begin_waits_for_another_processs_write_lock_off_the_loop(tmp_path):
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=5_000)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    # Another process's writer (a plain sqlite3 connection here) holds the write lock
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with engine.begin() as connection:  # BEGIN IMMEDIATE waits for the lock
            await connection.execute(text("INSERT INTO t DEFAULT VALUES"))

    ticker = asyncio.create_task(tick())
    writing = asyncio.create_task(write())
    try:
        while ticks < 20:  # the loop keeps running while the writer waits
            await asyncio.sleep(0.01)
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
    finally:
        ticker.cancel()
        other.close()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    await engine.dispose()


async def test_a_writer_that_waits_past_the_busy_timeout_is_told_the_database_is_locked(tmp_path):
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=100)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t DEFAULT VALUES"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with engine.begin() as connection:  # the connection is usable again
        await connection.execute(text("INSERT INTO t DEFAULT VALUES"))
    await engine.dispose()
