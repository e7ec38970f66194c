"""The SQLite writer's statements run on the event loop's thread, except those that can wait.

aiosqlite runs every call (a statement, each fetch, a savepoint) on a thread of its own and
wakes the event loop when it is done: about 0.2 ms of CPU per call, ten times what SQLite itself
takes for an indexed statement of this schema. An Approve tap is some forty calls, and the hop
was a third of the server's busy samples. Here the writing engine's connection is aiosqlite's,
with its calls made inline, except the ones that may wait for another process or the disk:

- ``BEGIN`` (the writing engine's ``BEGIN IMMEDIATE`` waits up to the busy timeout for another
  process holding the write lock, an ``oms load`` beside the server, say),
- ``COMMIT`` (it may run a WAL checkpoint, which writes and syncs the database file),
- opening and closing the connection.

Those still go to aiosqlite's thread, so the event loop serves other requests meanwhile. Every
other statement runs inside a transaction that already holds the write lock, so it never waits
for a lock; it blocks the loop for as long as SQLite works on it, which for this schema's indexed
statements is microseconds. Calls are never concurrent: SQLAlchemy awaits each before the next,
so the sqlite3 connection is used from one thread at a time (``check_same_thread`` is off, as
SQLAlchemy's aiosqlite dialect has it anyway).

Readers keep plain aiosqlite: a report over a year of orders may take a second in SQLite, and the
loop must stay free meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

_MAY_WAIT_SQL = ("BEGIN", "COMMIT", "END", "PRAGMA")  # PRAGMA: at connect, journal_mode may take a lock


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, with the calls that cannot wait made on the calling thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _may_wait(fn, args):
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
        return not args or str(args[0]).lstrip()[:6].upper().startswith(_MAY_WAIT_SQL)
    return name in ("commit", "close", "backup", "iterdump")


def connector(path: str, **kwargs: Any) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An ``async_creator`` for ``create_async_engine``: the database file ``path`` through
    ``InlineConnection`` (``kwargs`` go to ``sqlite3.connect``)."""
    options = {**kwargs, "check_same_thread": False}

    async def connect() -> aiosqlite.Connection:
        connection = InlineConnection(lambda: sqlite3.connect(path, **options), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect makes aiosqlite's own
        return await connection

    return connect
