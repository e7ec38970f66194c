"""The SQLite writer's statements run on the event loop's thread, except those that can wait.

aiosqlite runs every call (a statement, each fetch, a savepoint) on a thread of its own and
wakes the event loop when it is done: about 0.2 ms of CPU per call, ten times what SQLite itself
takes for an indexed statement of this schema. An Approve tap is some forty calls, and the hop
was a third of the server's busy samples. Here the writing engine's connection is aiosqlite's,
with its calls made inline, except the ones that may wait for another process or the disk:

- ``BEGIN IMMEDIATE`` (it waits up to the busy timeout for another process holding the write
  lock, an ``oms load`` beside the server, say),
- ``COMMIT`` (it may run a WAL checkpoint, which writes and syncs the database file),
- opening and closing the connection.

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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite

_QUICK: ContextVar[bool] = ContextVar("quick_sqlite_reads", default=False)


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

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _may_wait(fn, args) or not (self.inline or _QUICK.get() or _rolls_back(fn, args)):
            return await super()._execute(fn, *args, **kwargs)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


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
    return name == "rollback" or (name == "execute" and bool(args) and str(args[0])[:8].upper() == "ROLLBACK")


def connector(path: str, *, inline: bool, **kwargs: Any) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An ``async_creator`` for ``create_async_engine``: the database file ``path`` through
    ``InlineConnection`` (``kwargs`` go to ``sqlite3.connect``)."""
    options = {**kwargs, "check_same_thread": False}

    async def connect() -> aiosqlite.Connection:
        connection = InlineConnection(lambda: sqlite3.connect(path, **options), iter_chunk_size=64, inline=inline)
        connection._thread.daemon = True  # as SQLAlchemy's dialect makes aiosqlite's own
        return await connection

    return connect
