"""Many writers, one hot SKU: never oversold (SPEC §3 and §11, research/reliability.md §3).

Given a fixed stock, when many orders race for it (4 OS processes on one PostgreSQL database,
200 asyncio tasks on SQLite, a kit against a plain line for a shared component), then exactly
the stock's worth of orders hold stock, every other order is backordered with nothing reserved,
and ``stock_level.reserved`` equals the sum of the active reservations. The controls at the end
show that the checks used here do catch a broken writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import time
import traceback
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from core.catalog.models import Product
from core.config import Settings
from core.inventory.models import Reservation, ReservationStatus, StockLevel, Warehouse
from core.orders.models import Order
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.services import Services
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import SYSTEM, seed

HOLDS_STOCK = "awaiting_payment"  # prepaid, unpaid, stock reserved
BACKORDERED = "backordered"

PROCESSES = 4
ORDERS_PER_PROCESS = 50
TASKS_PER_PROCESS = 10
PROCESS_TIMEOUT_S = 90
HOT_STOCK = 20

Outcome = tuple[str, str] | str  # (order number, status), or what went wrong


# --- reading the database back ---------------------------------------------------------------


@dataclass(frozen=True)
class StockFacts:
    on_hand: int
    reserved: int
    active_units: int  # SUM(qty) of the active reservations for this product and warehouse
    active_rows: int


async def stock_facts(services: Services, sku: str, warehouse: str) -> StockFacts:
    async with services.unit_of_work(SYSTEM) as ctx:
        on_hand, reserved, product_id, warehouse_id = (
            await ctx.session.execute(
                select(StockLevel.on_hand, StockLevel.reserved, StockLevel.product_id, StockLevel.warehouse_id)
                .join(Product, Product.id == StockLevel.product_id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                .where(Product.sku == sku, Warehouse.code == warehouse)
            )
        ).one()
        units, rows = (
            await ctx.session.execute(
                select(func.coalesce(func.sum(Reservation.qty), 0), func.count(Reservation.id)).where(
                    Reservation.product_id == product_id,
                    Reservation.warehouse_id == warehouse_id,
                    Reservation.status == ReservationStatus.ACTIVE,
                )
            )
        ).one()
    return StockFacts(on_hand, reserved, int(units), int(rows))


def broken_invariants(facts: StockFacts) -> list[str]:
    problems = []
    if not 0 <= facts.reserved <= facts.on_hand:
        problems.append(f"reserved {facts.reserved} outside 0..on_hand {facts.on_hand}")
    if facts.reserved != facts.active_units:
        problems.append(f"reserved {facts.reserved} but active reservations hold {facts.active_units}")
    return problems


async def orders_in_db(services: Services) -> dict[str, tuple[str, int]]:
    """{order number: (status, units actively reserved for it)}."""
    async with services.unit_of_work(SYSTEM) as ctx:
        held = (
            select(Reservation.order_id, func.sum(Reservation.qty).label("units"))
            .where(Reservation.status == ReservationStatus.ACTIVE)
            .group_by(Reservation.order_id)
            .subquery()
        )
        rows = await ctx.session.execute(
            select(Order.order_no, Order.status, func.coalesce(held.c.units, 0)).outerjoin(
                held, held.c.order_id == Order.id
            )
        )
        return {no: (str(status), int(units)) for no, status, units in rows}


async def assert_sold_exactly(services: Services, outcomes: list[Outcome], *, stock: int, orders: int) -> None:
    """The hot-SKU invariants: ``stock`` single-unit orders hold stock, the rest wait with nothing."""
    assert [o for o in outcomes if isinstance(o, str)] == []
    assert len(outcomes) == orders
    assert Counter(status for _, status in outcomes) == {HOLDS_STOCK: stock, BACKORDERED: orders - stock}
    assert len({no for no, _ in outcomes}) == orders

    facts = await stock_facts(services, "TEA-001", "SH")
    assert facts == StockFacts(on_hand=stock, reserved=stock, active_units=stock, active_rows=stock)
    assert broken_invariants(facts) == []

    stored = await orders_in_db(services)
    assert {no: status for no, (status, _) in stored.items()} == dict(outcomes)
    assert {units for status, units in stored.values() if status == HOLDS_STOCK} == {1}
    assert {units for status, units in stored.values() if status == BACKORDERED} == {0}


async def place_one(services: Services, lines: dict[str, int]) -> Outcome:
    draft = OrderDraft("C001", tuple(DraftLine(sku, qty) for sku, qty in lines.items()))
    try:
        async with services.unit_of_work(SYSTEM) as ctx:
            order = await place_order(ctx, draft)
        return order.order_no, str(order.status)
    except Exception as error:  # reported, not raised: one failure must not hide the others
        return f"{type(error).__name__}: {error}"


# --- four processes on PostgreSQL ------------------------------------------------------------


def _worker(url: str, orders: int, tasks: int, start, results) -> None:  # type: ignore[no-untyped-def]
    """One OS process: its own engine and pool; waits for the others, then places its orders."""
    try:
        outcomes: list[Outcome] = asyncio.run(_place_from_process(url, orders, tasks, start))
    except BaseException:
        outcomes = [f"worker failed: {traceback.format_exc()}"]
    results.put(outcomes)


async def _place_from_process(url: str, orders: int, tasks: int, start) -> list[Outcome]:  # type: ignore[no-untyped-def]
    services = Services.from_settings(Settings(database_url=url))
    try:
        async with contextlib.AsyncExitStack() as warm:  # connect before the race, not during it
            for _ in range(tasks):
                connection = await warm.enter_async_context(services.engine.connect())
                await connection.execute(text("SELECT 1"))
        await asyncio.to_thread(start.wait, 30)
        outcomes: list[Outcome] = []
        for _ in range(orders // tasks):
            outcomes += await asyncio.gather(*(place_one(services, {"TEA-001": 1}) for _ in range(tasks)))
        return outcomes
    finally:
        await services.close()


def _run_processes(url: str) -> list[Outcome]:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    workers = [
        spawn.Process(target=_worker, args=(url, ORDERS_PER_PROCESS, TASKS_PER_PROCESS, start, results), daemon=True)
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    try:
        for _ in workers:
            outcomes += results.get(timeout=max(0.1, deadline - time.monotonic()))
    except queue.Empty:
        outcomes.append(f"timed out after {PROCESS_TIMEOUT_S}s waiting for the workers")
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    outcomes += [f"worker exited with {w.exitcode}" for w in workers if w.exitcode != 0]
    return outcomes


@pytest.mark.pg
async def test_four_processes_one_hot_sku_on_postgres(pg_url):
    services = await make_services(Settings(database_url=pg_url))
    try:
        await seed(services, stock={("TEA-001", "SH"): HOT_STOCK})

        outcomes = await asyncio.to_thread(_run_processes, pg_url)

        await assert_sold_exactly(services, outcomes, stock=HOT_STOCK, orders=PROCESSES * ORDERS_PER_PROCESS)
    finally:
        await services.close()


# --- 200 tasks on SQLite ---------------------------------------------------------------------


async def test_two_hundred_tasks_one_hot_sku_on_sqlite(tmp_path):
    """The writers of one process take turns for SQLite's one write lock: with a busy timeout far
    shorter than the race (250 ms against seconds), none of them gives up with "database is locked".
    (With a pool of writers polling for the lock, some starved past even the default 10 s on a busy
    machine.)"""
    services = await make_services(sqlite_settings(tmp_path / "race.db", sqlite_busy_timeout_ms=250))
    try:
        await seed(services, stock={("TEA-001", "SH"): HOT_STOCK})

        outcomes = await asyncio.gather(*(place_one(services, {"TEA-001": 1}) for _ in range(200)))

        await assert_sold_exactly(services, list(outcomes), stock=HOT_STOCK, orders=200)
    finally:
        await services.close()


# --- a kit and a plain line want the same component ------------------------------------------


async def kit_against_plain_line(services: Services) -> None:
    await seed(services, stock={("TEA-001", "SH"): 3, ("CUP-01", "SH"): 10})

    kit, plain = await asyncio.gather(place_one(services, {"GIFT-01": 1}), place_one(services, {"TEA-001": 2}))

    assert not isinstance(kit, str) and not isinstance(plain, str), (kit, plain)
    assert sorted([kit[1], plain[1]]) == [HOLDS_STOCK, BACKORDERED]
    tea, cup = await stock_facts(services, "TEA-001", "SH"), await stock_facts(services, "CUP-01", "SH")
    assert broken_invariants(tea) == [] and broken_invariants(cup) == []
    assert (tea.on_hand, tea.reserved) == (3, 2)
    assert cup.reserved == (2 if kit[1] == HOLDS_STOCK else 0)
    stored = await orders_in_db(services)
    assert stored[kit[0]][1] == (4 if kit[1] == HOLDS_STOCK else 0)  # 2 TEA-001 + 2 CUP-01, or nothing
    assert stored[plain[0]][1] == (2 if plain[1] == HOLDS_STOCK else 0)


async def test_kit_and_plain_line_share_one_component_on_sqlite(services):
    await kit_against_plain_line(services)


@pytest.mark.pg
async def test_kit_and_plain_line_share_one_component_on_postgres(pg_services):
    await kit_against_plain_line(pg_services)


async def test_two_lines_of_one_order_are_summed_before_the_check(services):
    await seed(services, stock={("TEA-001", "SH"): 3, ("CUP-01", "SH"): 10})

    outcome = await place_one(services, {"GIFT-01": 1, "TEA-001": 2})  # 4 TEA-001 wanted, 3 on hand

    assert not isinstance(outcome, str), outcome
    assert outcome[1] == BACKORDERED
    assert await orders_in_db(services) == {outcome[0]: (BACKORDERED, 0)}
    for sku in ("TEA-001", "CUP-01"):
        facts = await stock_facts(services, sku, "SH")
        assert (facts.reserved, facts.active_rows) == (0, 0)


# --- controls: the checks above do catch a broken writer -------------------------------------


async def test_control_the_database_refuses_an_oversold_row(services):
    await seed(services, stock={("TEA-001", "SH"): 5})

    with pytest.raises(IntegrityError, match="not_oversold"):
        async with services.unit_of_work(SYSTEM) as ctx:
            await ctx.session.execute(
                update(StockLevel).values(reserved=StockLevel.on_hand + 1).execution_options(synchronize_session=False)
            )

    assert broken_invariants(await stock_facts(services, "TEA-001", "SH")) == []


async def test_control_a_lost_update_is_caught_by_the_invariant_check(services):
    """Two naive writers read ``reserved``, then each writes its own read + 1: one update is lost."""
    await seed(services, stock={("TEA-001", "SH"): 5})
    no, _ = await place_one(services, {"TEA-001": 1})
    before = await stock_facts(services, "TEA-001", "SH")
    assert broken_invariants(before) == []

    async with services.unit_of_work(SYSTEM) as ctx:
        original = (await ctx.session.scalars(select(Reservation).join(Order).where(Order.order_no == no))).one()

    reads = [(await stock_facts(services, "TEA-001", "SH")).reserved for _ in range(2)]
    for seen in reads:
        async with services.unit_of_work(SYSTEM) as ctx:
            await ctx.session.execute(
                update(StockLevel)
                .where(StockLevel.product_id == original.product_id, StockLevel.warehouse_id == original.warehouse_id)
                .values(reserved=seen + 1)
                .execution_options(synchronize_session=False)
            )
            ctx.session.add(
                Reservation(
                    order_id=original.order_id,
                    order_line_id=original.order_line_id,
                    product_id=original.product_id,
                    warehouse_id=original.warehouse_id,
                    qty=1,
                    status=ReservationStatus.ACTIVE,
                    created_at=ctx.now(),
                )
            )

    after = await stock_facts(services, "TEA-001", "SH")
    assert (after.reserved, after.active_units) == (2, 3)
    assert broken_invariants(after) == ["reserved 2 but active reservations hold 3"]
