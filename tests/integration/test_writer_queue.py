"""SQLite's one writing connection goes to a brief write (a read-only command's exchange) before the
longer ones waiting for it; among each kind, first come, first served."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot import gateway
from bot.gateway import Inbound
from core.db.engine import create_engine
from core.db.writer_queue import brief
from tests.support.platforms import demo_services


async def _waiting(engine, count: int) -> None:  # noqa: ANN001
    """Until ``count`` checkouts wait in the writer's pool."""
    queue = engine.sync_engine.pool._pool._queue
    while len(queue._brief) + len(queue._others) < count:
        await asyncio.sleep(0)


def taker(engine, served: list[str]):  # noqa: ANN001, ANN201
    """A checkout that notes who got the connection."""

    async def take(who: str) -> None:
        async with engine.connect():
            served.append(who)

    return take


async def test_brief_writes_get_the_writer_before_the_others_waiting(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (who TEXT)"))
    served: list[str] = []

    async def write(who: str, *, is_brief: bool = False) -> None:
        async def insert() -> None:
            async with engine.begin() as connection:
                served.append(who)
                await connection.execute(text("INSERT INTO t VALUES (:who)"), {"who": who})

        if is_brief:
            with brief():
                await insert()
        else:
            await insert()

    try:
        holder = await engine.connect()  # the one writing connection, taken
        tasks = []
        for who, is_brief in [("tap 1", False), ("order 1", True), ("tap 2", False), ("order 2", True)]:
            tasks.append(asyncio.create_task(write(who, is_brief=is_brief)))
            await _waiting(engine, len(tasks))
        await holder.close()
        await asyncio.gather(*tasks)
        assert served == ["order 1", "order 2", "tap 1", "tap 2"]
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT who FROM t"))).scalars().all()
        assert rows == served
    finally:
        await engine.dispose()


async def test_a_returned_connection_goes_to_the_one_waiting_not_to_whoever_asks_first(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    served: list[str] = []
    take = taker(engine, served)
    try:
        holder = await engine.connect()
        waiting = asyncio.create_task(take("waited"))
        await _waiting(engine, 1)
        await holder.close()  # handed to the waiting task, which has not run yet
        await take("asked just now")  # asks before it runs: waits in line behind it
        await waiting
        assert served == ["waited", "asked just now"]
    finally:
        await engine.dispose()


async def test_a_brief_waiter_that_gives_up_leaves_the_queue_to_the_others(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    served: list[str] = []
    take = taker(engine, served)
    try:
        holder = await engine.connect()
        other = asyncio.create_task(take("tap"))
        await _waiting(engine, 1)
        with brief():
            impatient = asyncio.create_task(take("order"))
        await _waiting(engine, 2)
        impatient.cancel()
        await holder.close()
        await asyncio.wait_for(other, 5)
        assert served == ["tap"] and impatient.cancelled()
    finally:
        await engine.dispose()


async def test_a_read_only_commands_turn_is_brief_and_a_change_is_not(tmp_path):
    """``/order`` and ``/report`` read before their turn, which only records the exchange."""
    from bot import gateway
    from bot.gateway import Inbound
    from core.services import Services

    services = await demo_services(tmp_path)
    seen: list[bool] = []
    real = Services.turn

    def spy(self, actor, *, brief: bool = False):  # noqa: ANN001, ANN202
        seen.append(brief)
        return real(self, actor, brief=brief)

    Services.turn = spy
    try:
        speaker = Inbound("console", "lilei", "lilei")
        await gateway.message(services, speaker, "/order SO-100001")
        report = await gateway.message(services, Inbound("console", "wangfang", "wangfang"), "/report 7d")
        await gateway.message(services, speaker, "/neworder C001 TEA-001*1")
    finally:
        Services.turn = real
        await services.close()
    assert seen == [True, True, False]
    assert report.texts[0].startswith("Last 7 days:") and report.written[0].attachment_id  # with its chart


async def test_a_stock_lookup_is_answered_before_its_turn_and_waits_only_as_a_brief_write(tmp_path):
    services = await demo_services(tmp_path)
    holder = await services.engine.connect()  # the one writing connection, busy with a long change
    try:
        asked = asyncio.create_task(gateway.message(services, Inbound("console", "lilei", "lilei"), "/stock TEA-001"))
        await _waiting(services.engine, 1)
        queue = services.engine.sync_engine.pool._pool._queue
        assert (len(queue._brief), len(queue._others)) == (1, 0)  # goes ahead of the changes waiting
    finally:
        await holder.close()
    answer = await asked
    assert answer.texts[0].startswith("*TEA-001*") and "available" in answer.texts[0]
    await services.close()
