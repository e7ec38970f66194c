"""The SQLite writer's statements run on the event loop's thread, except those that can wait.

aiosqlite runs every call (a statement, each fetch, a cursor's close, a savepoint) on a thread of
its own and wakes the event loop when it is done: about 0.2 ms of CPU per call, ten times what
SQLite itself takes for an indexed statement of this schema. An Approve tap is some forty calls,
and the hop was a third of the server's busy samples. Here the writing engine's connection is
aiosqlite's, with its calls made inline, except the ones that may wait for another process or
the disk:

- ``BEGIN IMMEDIATE`` (it waits up to the busy timeout for another process holding the write
  lock, an ``oms load`` beside the server, say). Its hop is also the loop's turn between two
  writes: the requests that arrived meanwhile are read, and a brief write (an ``/order``'s
  exchange) queues ahead of the next long one (``core.db.writer_queue``). Tried inline, with a
  busy timeout of 0 and the thread only when the lock was taken, a burst of taps ran back to back
  and ``/order`` at 50 identities waited half as long again. A brief write's BEGIN does run
  inline that way: it holds the writer for an INSERT or two, so nothing waits long behind it, and
  its hop was a tenth of a lookup's CPU.
- ``COMMIT`` when it syncs the disk: with ``synchronous`` FULL or EXTRA, or without WAL. In WAL
  with NORMAL or OFF (the default) it only writes the log and runs here; SQLite's own checkpoint
  inside such a commit (every 1,000 pages: it writes and syncs the database file) is turned off
  on the connection, and a checkpoint runs on the thread every ``CHECKPOINT_EVERY`` commits, in
  the next BEGIN's hop.
- Opening and closing the connection.

Those still go to aiosqlite's thread, so the event loop serves other requests meanwhile. Every
other statement runs inside a transaction that already holds the write lock, so it never waits
for a lock; it blocks the loop for as long as SQLite works on it, which for this schema's indexed
statements is microseconds. Calls are never concurrent: SQLAlchemy awaits each before the next,
so the sqlite3 connection is used from one thread at a time (``check_same_thread`` is off, as
SQLAlchemy's aiosqlite dialect has it anyway).

Readers keep aiosqlite's thread: a report over a year of orders may take a second in SQLite, and
the loop must stay free meanwhile. A read known to be a lookup by key (the config stamp, the
speaker, an order's brief) says so with ``quick()``, and runs inline too; so does every ROLLBACK,
which waits for nothing.

A statement that runs inline skips aiosqlite altogether (``InlineCursor``): SQLAlchemy's adapter
awaits a coroutine for each of a statement's four calls (the cursor, the execute under a lock,
the fetch, the close), and each await is a greenlet switch there and back; one await a
statement, with sqlite3's calls inside it, saves ~20 µs a statement, about what SQLite takes to
run one.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

from core.db import writer_queue

_QUICK: ContextVar[bool] = ContextVar("quick_sqlite_reads", default=False)
CHECKPOINT_EVERY = 50  # commits; a tap writes ~30 pages of log, so about SQLite's own 1,000-page mark
log = logging.getLogger(__name__)


@contextmanager
def quick() -> Iterator[None]:
    """The reads in this block are lookups by key: on a reading connection too they run inline."""
    token = _QUICK.set(True)
    try:
        yield
    finally:
        _QUICK.reset(token)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, with the calls that cannot wait made on the calling thread:
    all of them on a writing connection (``inline``), those in ``quick()`` and ROLLBACKs on a
    reading one."""

    def __init__(self, *args: Any, inline: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline = inline
        self._commits_inline: bool | None = None  # learnt at the first commit
        self._commits_unchecked = 0  # since the last checkpoint
        self._busy_timeout: int | None = None  # learnt at the first brief BEGIN

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.inline and _commits(fn) and self._commit_here():
            self._sqlite()
            fn()
            self._commits_unchecked += 1
            return None
        if self._checkpoint_due() and _begins(fn, args):
            self._commits_unchecked = 0
            return await super()._execute(self._checkpoint_then, fn, *args, **kwargs)
        if _may_wait(fn, args) or not (self.inline or _QUICK.get() or _rolls_back(fn, args)):
            return await super()._execute(fn, *args, **kwargs)
        self._sqlite()
        return fn(*args, **kwargs)

    def begins_here(self) -> bool:
        """Whether this connection's ``BEGIN IMMEDIATE`` is tried inline: a brief write's, on
        the writer, when no checkpoint is due at it."""
        return self.inline and writer_queue.is_brief() and not self._checkpoint_due()

    def begin_unless_busy(self, cursor: sqlite3.Cursor, sql: str) -> bool:
        """``sql`` (BEGIN IMMEDIATE or EXCLUSIVE) run here if the write lock is free now: a busy timeout of 0
        for the attempt, so the loop never waits on it. False when another process holds the
        lock (nothing begun); the caller then waits for it on aiosqlite's thread."""
        connection = self._sqlite()
        if self._busy_timeout is None:
            self._busy_timeout = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(sql)
            return True
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout}")

    def runs_here(self, sql: str) -> bool:
        """Whether the statement ``sql`` would run inline: ``_execute``'s rule for a cursor's execute."""
        return (
            not (self._checkpoint_due() and _is_begin(sql))
            and not _sql_may_wait(sql)
            and (self.inline or _QUICK.get() or _is_rollback(sql))
        )

    def _checkpoint_due(self) -> bool:
        """The next BEGIN checkpoints the log first, on the thread (``_checkpoint_then``)."""
        return self._commits_unchecked >= CHECKPOINT_EVERY

    def _sqlite(self) -> sqlite3.Connection:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return self._connection

    def _commit_here(self) -> bool:
        """Whether a COMMIT only writes the log (WAL, not synced); if so, the commit's own
        checkpoints are turned off (``_checkpoint_then`` runs them on the thread)."""
        if self._commits_inline is None:
            connection = self._sqlite()
            journal = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            synchronous = int(connection.execute("PRAGMA synchronous").fetchone()[0])
            self._commits_inline = journal == "wal" and synchronous <= 1  # OFF 0, NORMAL 1
            if self._commits_inline:
                connection.execute("PRAGMA wal_autocheckpoint=0")
        return self._commits_inline

    def _checkpoint_then(self, begin: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """On the thread, at the BEGIN after ``CHECKPOINT_EVERY`` commits (the next transaction
        waits for it, as a commit that checkpoints made its own caller wait): what the log holds,
        copied into the database file as far as readers allow (PASSIVE never waits for them)."""
        try:
            self._sqlite().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            log.warning("the write-ahead log's checkpoint failed; the next one tries again", exc_info=True)
        return begin(*args, **kwargs)


def _begins(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    return getattr(fn, "__name__", "") == "execute" and bool(args) and _is_begin(str(args[0]))


def _is_begin(sql: str) -> bool:
    return sql[:5].upper() == "BEGIN"


def _is_rollback(sql: str) -> bool:
    return sql[:8].upper() == "ROLLBACK"


def _commits(fn: Callable[..., Any]) -> bool:
    return getattr(fn, "__name__", "") == "commit" and isinstance(getattr(fn, "__self__", None), sqlite3.Connection)


def _may_wait(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """Whether the sqlite3 call ``fn(*args)`` may wait for a lock or the disk."""
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "")
    if not isinstance(owner, sqlite3.Cursor | sqlite3.Connection):
        return True  # anything else (the connector, a function aiosqlite wraps): on its thread
    if name in ("execute", "executemany", "executescript"):
        return not args or _sql_may_wait(str(args[0]))
    if name == "close":  # a connection's may checkpoint the WAL; a cursor's waits for nothing
        return isinstance(owner, sqlite3.Connection)
    return name in ("commit", "backup", "iterdump")


def _sql_may_wait(sql: str) -> bool:
    """BEGIN IMMEDIATE or EXCLUSIVE wait for the write lock, COMMIT may checkpoint, a PRAGMA at
    connect may take a lock (journal_mode); a plain (deferred) BEGIN takes no lock."""
    words = sql[:40].upper().split()
    if not words:
        return False
    if words[0] == "BEGIN":
        return len(words) > 1 and words[1] in ("IMMEDIATE", "EXCLUSIVE")
    return words[0] in ("COMMIT", "END", "PRAGMA")


def _rolls_back(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    name = getattr(fn, "__name__", "")
    return name == "rollback" or (name == "execute" and bool(args) and _is_rollback(str(args[0])))


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor over an ``InlineConnection``: a statement that runs inline is handed to
    sqlite3 inside one await, without aiosqlite's coroutines or the adapter's lock; any other goes
    the adapter's way, through ``InlineConnection._execute``."""

    __slots__ = ()
    _connection: InlineConnection

    def _make_new_cursor(self, connection: InlineConnection) -> aiosqlite.Cursor:  # type: ignore[override]
        try:
            return aiosqlite.Cursor(connection, connection._sqlite().cursor())  # creating one waits for nothing
        except Exception as error:  # a closed connection's ValueError, told as the adapter tells it
            self._adapt_connection._handle_exception(error)

    def _aenter_cursor(self, cursor: aiosqlite.Cursor) -> aiosqlite.Cursor:  # type: ignore[override]
        return cursor

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if _is_begin(operation) and _sql_may_wait(operation) and self._connection.begins_here():
            if self._here(self._begin_unless_busy, operation, None):
                return None
            return super().execute(operation, parameters)  # another process holds the lock
        if not self._connection.runs_here(operation):
            return super().execute(operation, parameters)
        return self._here(self._cursor._cursor.execute, operation, () if parameters is None else parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        if not self._connection.runs_here(operation):
            return super().executemany(operation, seq_of_parameters)
        return self._here(self._cursor._cursor.executemany, operation, seq_of_parameters)

    def _here(self, run: Callable[[str, Any], Any], operation: str, parameters: Any) -> Any:
        try:
            # One await a statement, its work inside: SQLAlchemy's AsyncConnection checks that a
            # statement awaited something (a sync driver behind an async engine would not).
            return await_(self._run(run, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def _begin_unless_busy(self, operation: str, _parameters: Any) -> bool:
        return self._connection.begin_unless_busy(self._cursor._cursor, operation)

    async def _run(self, run: Callable[[str, Any], Any], operation: str, parameters: Any) -> Any:
        self._connection._sqlite()
        result = run(operation, parameters)
        cursor = self._cursor._cursor
        if cursor.description:
            self._rows = collections.deque(cursor.fetchall())
        return result

    def close(self) -> None:
        self._rows.clear()
        if not self._soft_closed_memoized:
            self._cursor._cursor.close()  # a cursor's close waits for nothing

    async def _async_soft_close(self) -> None:
        """As the adapter's (the rows stay, the description is kept), closing sqlite3's cursor here."""
        self._soft_closed_memoized = self._soft_closed_memoized.union({"description": self._cursor.description})
        self._cursor._cursor.close()


class _InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = InlineCursor


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite dialect's DB-API module, connecting through ``connector`` to
    ``InlineConnection`` with ``InlineCursor`` (the engine's ``module``)."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        creator = kw.pop("async_creator_fn")
        return _InlineAdaptedConnection(self, await_(creator(*arg, **kw)))


def dbapi() -> InlineDBAPI:
    return InlineDBAPI(aiosqlite, sqlite3)


def connector(path: str, *, inline: bool, **kwargs: Any) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An ``async_creator`` for ``create_async_engine``: the database file ``path`` through
    ``InlineConnection`` (``kwargs`` go to ``sqlite3.connect``)."""
    options = {**kwargs, "check_same_thread": False}

    async def connect() -> aiosqlite.Connection:
        connection = InlineConnection(lambda: sqlite3.connect(path, **options), iter_chunk_size=64, inline=inline)
        connection._thread.daemon = True  # as SQLAlchemy's dialect makes aiosqlite's own
        return await connection

    return connect
