"""The SQLite writer's statements run on the event loop's thread; BEGIN and COMMIT, which may wait
for another process's write lock or for the disk, still run on aiosqlite's, and the loop serves
others meanwhile."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db import writer_queue
from core.db.engine import create_engine
from core.db.inline_sqlite import CHECKPOINT_EVERY, InlineConnection, _may_wait, _sql_may_wait, quick


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


class Ticker:
    """Counts the event loop's turns (one each ``every`` seconds at most) until stopped."""

    def __init__(self, every: float = 0) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run(every))

    async def _run(self, every: float) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(every)

    def stop(self) -> None:
        self._task.cancel()


class Hops:
    """The calls a test's connections send to aiosqlite's thread, by name and first argument."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[str] = []
        to_thread = aiosqlite.Connection._execute

        async def counted(connection, fn, *args, **kwargs):  # noqa: ANN001, ANN202
            self.seen.append(" ".join([getattr(fn, "__name__", "?"), *(str(a)[:16] for a in args[:1])]).strip())
            return await to_thread(connection, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


async def _a_table(engine) -> None:  # noqa: ANN001
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))


async def _a_write(engine, name: str = "a") -> None:  # noqa: ANN001
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": name}, {"n": name + "2"}])
        await connection.execute(text("UPDATE t SET name = 'c' WHERE name = :n"), {"n": name})
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() >= 2


async def test_a_write_transaction_hops_to_aiosqlites_thread_only_to_begin(tmp_path, monkeypatch):
    # Each hop to the thread cost ~0.2 ms of CPU: a cursor's close after every statement (a tap's
    # 26 statements, 3 ms of its time), and the COMMIT that only writes the log.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        await _a_table(engine)
        hops = Hops(monkeypatch)
        await _a_write(engine)
        assert hops.seen == ["execute BEGIN IMMEDIATE"]
    finally:
        await engine.dispose()


async def test_an_inline_statement_is_handed_to_sqlite3_without_aiosqlites_calls(tmp_path, monkeypatch):
    # SQLAlchemy's adapter made four of aiosqlite's calls a statement (the cursor, the execute, the
    # fetch, the close), each a coroutine and a greenlet switch: ~20 µs a statement together.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        await _a_table(engine)
        calls: list[str] = []
        through_aiosqlite = InlineConnection._execute

        async def noted(connection, fn, *args, **kwargs):  # noqa: ANN001, ANN202
            calls.append(" ".join([fn.__name__, *(str(a)[:16] for a in args[:1])]).strip())
            return await through_aiosqlite(connection, fn, *args, **kwargs)

        monkeypatch.setattr(InlineConnection, "_execute", noted)
        await _a_write(engine)  # an executemany, an UPDATE, a SELECT whose row is read
        assert calls == ["execute BEGIN IMMEDIATE", "commit", "rollback"]  # the pool's reset, inline too
    finally:
        await engine.dispose()


async def test_a_write_transaction_lets_the_loop_run_as_it_begins(tmp_path):
    # the loop's turn between two writes: the requests that arrived meanwhile are read, and a
    # brief write among them queues ahead of the next long one
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        await _a_table(engine)
        ticker = Ticker()
        await asyncio.sleep(0)
        before = ticker.ticks
        async with engine.begin() as connection:
            began = ticker.ticks
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert ticker.ticks == began  # a statement inside the transaction runs straight through
        assert before < began
        ticker.stop()
    finally:
        await engine.dispose()


async def test_a_commit_that_syncs_the_disk_runs_on_aiosqlites_thread(tmp_path, monkeypatch):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", synchronous="FULL")
    try:
        await _a_table(engine)
        hops = Hops(monkeypatch)
        await _a_write(engine)
        assert hops.seen == ["execute BEGIN IMMEDIATE", "commit"]
    finally:
        await engine.dispose()


async def test_the_write_ahead_log_is_checkpointed_on_aiosqlites_thread_after_so_many_commits(tmp_path, monkeypatch):
    # The commit's own checkpoint (every 1,000 pages, writing and syncing the database file) is
    # off, since the commit runs on the loop: the checkpoints go to the thread instead.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        await _a_table(engine)
        hops = Hops(monkeypatch)
        for i in range(CHECKPOINT_EVERY - 1):  # the table's creation was the first commit
            await _a_write(engine, f"n{i}")
        assert set(hops.seen) == {"execute BEGIN IMMEDIATE"}
        async with engine.begin() as connection:  # the next BEGIN checkpoints first, in its hop
            await connection.execute(text("SELECT 1"))
        assert hops.seen[-1].startswith("_checkpoint_then")
        # what the log held is in the database file now: a copy of the file alone has every row
        shutil.copyfile(tmp_path / "inline.db", tmp_path / "alone.db")
        alone = sqlite3.connect(tmp_path / "alone.db")
        try:
            assert alone.execute("SELECT count(*) FROM t").fetchone()[0] == 2 * (CHECKPOINT_EVERY - 1)
        finally:
            alone.close()
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


async def _waits_off_the_loop(write, other: sqlite3.Connection) -> None:  # noqa: ANN001
    """``write`` waits for the lock ``other`` holds while the loop keeps running (and is not
    blocked for the busy timeout, 5 s in these tests), then lands once ``other`` commits."""
    ticker = Ticker(every=0.01)
    started = time.monotonic()
    writing = asyncio.create_task(write())
    try:
        while ticker.ticks < 20:
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 2
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
    finally:
        ticker.stop()
        other.close()


async def test_begin_waits_for_another_processs_write_lock_off_the_loop(tmp_path):
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=5_000)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    # Another process's writer (a plain sqlite3 connection here) holds the write lock
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.begin() as connection:  # BEGIN IMMEDIATE waits for the lock
            await connection.execute(text("INSERT INTO t DEFAULT VALUES"))

    await _waits_off_the_loop(write, other)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    await engine.dispose()


async def test_a_brief_writes_begin_runs_inline_and_keeps_the_busy_timeout(tmp_path, monkeypatch):
    # Its hop to the thread was ~0.25 ms of CPU, a tenth of a `/order`; it holds the writer for an
    # INSERT or two, so letting it skip the loop's turn at BEGIN keeps nobody waiting long.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", busy_timeout_ms=5_000)
    try:
        await _a_table(engine)
        hops = Hops(monkeypatch)
        with writer_queue.brief():
            await _a_write(engine)
        assert hops.seen == []
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5_000
    finally:
        await engine.dispose()


async def test_a_brief_writes_begin_waits_off_the_loop_while_another_process_holds_the_lock(tmp_path):
    path = tmp_path / "inline.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=5_000)
    await _a_table(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        with writer_queue.brief():  # tried inline at once, busy: then it waits on the thread
            await _a_write(engine)

    await _waits_off_the_loop(write, other)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 2
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5_000
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
