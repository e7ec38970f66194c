"""Change notices between server processes over PostgreSQL ``LISTEN/NOTIFY``: one process's
announcement reaches the others (not itself), and a listener whose connection was cut (a database
restart, a proxy's idle timeout) reconnects and wakes its streams once, in case it missed something."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from integrations.web.changes import Notices
from tests.support.waiting import until

pytestmark = pytest.mark.pg


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_an_announcement_reaches_the_other_process_and_a_cut_listener_comes_back(pg_url):
    a, b = Notices(dsn(pg_url)), Notices(dsn(pg_url))
    heard_a: list[int] = []
    heard_b: list[int] = []
    a.hooks.append(lambda: heard_a.append(1))
    b.hooks.append(lambda: heard_b.append(1))
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    admin = await asyncpg.connect(dsn(pg_url))
    try:
        await until(lambda: a.listening.is_set() and b.listening.is_set(), timeout=10)
        a.announce()
        await until(lambda: heard_b, timeout=5)
        assert heard_a == []  # its own notice does not wake the announcer
        assert heard_b == [1]

        cut = b.connection
        await admin.execute("select pg_terminate_backend($1)", cut.get_server_pid())
        await until(lambda: len(heard_b) == 2 and b.listening.is_set() and b.connection is not cut, timeout=15)
        assert heard_a == []  # a was not cut: nothing for it to catch up on

        b.announce()  # the reconnected listener also speaks
        await until(lambda: heard_a, timeout=5)
        a.announce()
        await until(lambda: len(heard_b) == 3, timeout=5)
    finally:
        await admin.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
