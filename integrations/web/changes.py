"""Change notices between server processes: one process says "something changed", every other
process on the same PostgreSQL database hears it and wakes its own live streams.

Within one process the console wakes its streams through an in-process ``Waker``; with several
processes (``oms serve --workers N``, or servers on several hosts) a change committed in one must
wake the dashboards and consoles held open by another. On PostgreSQL each process keeps one
connection that ``LISTEN``s on ``oms_changed`` and sends ``NOTIFY oms_changed, '<its token>'``
(coalesced: a burst of changes is one notice) after its own changes; a notice from another token
calls the hooks. A lost connection is reopened, and the hooks are called once on reconnecting,
since a notice may have been missed meanwhile. On SQLite (one process only) nothing runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable

import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

from core.db.engine import normalise_url
from integrations.web.app import SERVICES

log = logging.getLogger(__name__)
CHANNEL = "oms_changed"
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
CHECK_SECONDS = 10.0  # how often an idle listening connection is checked for being alive


class Notices:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.token = secrets.token_hex(8)
        self.hooks: list[Callable[[], None]] = []
        self.pending = asyncio.Event()  # this process changed something: tell the others
        self.lost = asyncio.Event()
        self.listening = asyncio.Event()  # set while the LISTEN is in place
        self.connection: asyncpg.Connection | None = None

    def announce(self) -> None:
        self.pending.set()

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self.token:
            self._call_hooks()

    def _call_hooks(self) -> None:
        for hook in self.hooks:
            try:
                hook()
            except Exception:  # one hook's failure must not keep the others from hearing
                log.exception("change notice hook failed")

    async def run(self) -> None:
        failures = 0
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=10)
                self.lost.clear()
                connection.add_termination_listener(lambda _c: self.lost.set())
                await connection.add_listener(CHANNEL, self._heard)
                self.connection = connection
                self.listening.set()
                if failures:
                    log.info("change notices: listening again")
                    self._call_hooks()  # something may have changed while we were deaf
                failures = 0
                await self._send_loop(connection)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a lost database: keep trying, quietly after the first time
                if failures == 0:
                    log.warning("change notices between server processes interrupted: %s", error)
                failures += 1
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close(timeout=2))
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1] if failures else 0)

    async def _send_loop(self, connection: asyncpg.Connection) -> None:
        while True:
            pending = asyncio.create_task(self.pending.wait())
            lost = asyncio.create_task(self.lost.wait())
            done, _ = await asyncio.wait({pending, lost}, timeout=CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            pending.cancel()
            lost.cancel()
            if self.lost.is_set() or connection.is_closed():
                raise ConnectionError("the listening connection closed")
            if self.pending.is_set():
                self.pending.clear()
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, self.token)
            elif not done:
                await connection.execute("SELECT 1")  # a half-open connection shows up here


NOTICES = web.AppKey("change_notices", Notices)


def mount(app: web.Application, on_notice: Callable[[], None]) -> None:
    """On PostgreSQL: call ``on_notice`` when another process announced a change; ``announce``
    then tells the others. On SQLite: nothing (``announce`` does nothing)."""
    url = make_url(normalise_url(app[SERVICES].settings.database_url))
    if not url.drivername.startswith("postgresql"):
        return
    if NOTICES not in app:
        app[NOTICES] = Notices(url.set(drivername="postgresql").render_as_string(hide_password=False))

        async def run(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(app[NOTICES].run())
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(run)
    app[NOTICES].hooks.append(on_notice)


def announce(app: web.Application) -> None:
    """Tell the other processes that this one changed something (at most one notice in flight)."""
    if NOTICES in app:
        app[NOTICES].announce()
