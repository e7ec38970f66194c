"""Orders per second through the service layer, next to a floor: the same core rows in plain SQL.

    python bench/place_orders.py [--orders N] [--pg URL] [--concurrency 8] [--skus 20] [--seconds 12]

For each backend (SQLite in a temp file; PostgreSQL in a temp database it creates and drops, if
the server answers) it places orders one at a time and with ``--concurrency`` tasks, each order
its own unit of work, and then writes the floor: per order one transaction with an order row,
its line, the conditional stock UPDATE, a reservation and an audit row, as plain SQL through the
same engine. Every path stops at ``--orders`` or after ``--seconds``, whichever comes first.
See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import JSON, bindparam, event, func, select, text
from sqlalchemy.engine import make_url

from core.auth import Actor
from core.catalog.models import Product
from core.config import Settings
from core.customers.models import Address, Customer
from core.db.base import Money, UTCDateTime
from core.db.registry import metadata
from core.inventory.models import StockLevel, Warehouse
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.status import OrderStatus
from core.services import Services

ACTOR = Actor.system("bench")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ON_HAND = 10_000_000  # enough that every order is allocated, never backordered
WARM_UP = 20
COUNTED_TABLES = ("sales_order", "order_line", "reservation", "stock_movement", "audit_record", "domain_event")


@dataclass(frozen=True)
class Seeded:
    customer_id: int
    warehouse_id: int
    products: list[tuple[int, str]]  # (id, sku)


@dataclass(frozen=True)
class Result:
    backend: str
    path: str
    tasks: int
    orders: int
    seconds: float
    statements: float  # SQL statements per order, BEGIN and COMMIT included

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


async def seed(services: Services, skus: int) -> Seeded:
    async with services.unit_of_work(ACTOR) as ctx:
        warehouse = Warehouse(code="SH", name="Shanghai", region="East", lat=31.23, lon=121.47, priority=10)
        products = [
            Product(sku=f"BENCH-{i:03d}", name=f"Bench item {i}", price=Decimal("10.00"), cost=Decimal("4.00"))
            for i in range(skus)
        ]
        customer = Customer(
            code="B001",
            name="Bench customer",
            tier="standard",
            phone="13800138000",
            addresses=[
                Address(label="default", province="浙江", city="杭州", line="西湖区龙井路1号", lat=30.25, lon=120.13)
            ],
        )
        ctx.session.add_all([warehouse, customer, *products])
        await ctx.session.flush()
        ctx.session.add_all(
            StockLevel(product_id=p.id, warehouse_id=warehouse.id, on_hand=ON_HAND, reserved=0) for p in products
        )
        return Seeded(customer.id, warehouse.id, [(p.id, p.sku) for p in products])


def service_path(services: Services, seeded: Seeded) -> Callable[[int], Awaitable[None]]:
    async def place(i: int) -> None:
        _, sku = seeded.products[i % len(seeded.products)]
        async with services.unit_of_work(ACTOR) as ctx:
            order = await place_order(ctx, OrderDraft("B001", (DraftLine(sku, 1),)))
        if order.status != OrderStatus.AWAITING_PAYMENT:
            raise RuntimeError(f"{order.order_no} ended {order.status}, expected awaiting_payment")

    return place


INSERT_ORDER = text(
    "INSERT INTO sales_order (order_no, customer_id, status, payment_status, payment_terms, channel, currency,"
    " ship_to, manual_discount_percent, subtotal, discount_total, total, paid_amount, refunded_amount,"
    " price_breakdown, hold_reasons, allocation_plan, version, created_at, updated_at, status_changed_at)"
    " VALUES (:no, :customer, 'awaiting_payment', 'unpaid', 'prepaid', 'direct', 'CNY', :ship_to, :zero, :total,"
    " :zero, :total, :zero, :zero, :empty, :none, :plan, 1, :now, :now, :now) RETURNING id"
).bindparams(
    bindparam("zero", type_=Money()),
    bindparam("total", type_=Money()),
    bindparam("ship_to", type_=JSON()),
    bindparam("empty", type_=JSON()),
    bindparam("none", type_=JSON()),
    bindparam("plan", type_=JSON()),
    bindparam("now", type_=UTCDateTime()),
)
INSERT_LINE = text(
    "INSERT INTO order_line (order_id, product_id, sku, name, qty, list_price, unit_price, line_total,"
    " shipped_qty, returned_qty) VALUES (:order_id, :product, :sku, :sku, 1, :price, :price, :price, 0, 0)"
    " RETURNING id"
).bindparams(bindparam("price", type_=Money()))
RESERVE = text(
    "UPDATE stock_level SET reserved = reserved + 1"
    " WHERE product_id = :product AND warehouse_id = :warehouse AND on_hand - reserved >= 1"
)
INSERT_RESERVATION = text(
    "INSERT INTO reservation (order_id, order_line_id, product_id, warehouse_id, qty, status, created_at)"
    " VALUES (:order_id, :line_id, :product, :warehouse, 1, 'active', :now)"
).bindparams(bindparam("now", type_=UTCDateTime()))
INSERT_AUDIT = text(
    "INSERT INTO audit_record (entity, entity_key, order_id, action, from_state, to_state, actor, source, data,"
    " created_at) VALUES ('order', :no, :order_id, 'create', NULL, 'awaiting_payment', 'system', 'bench', :data,"
    " :now)"
).bindparams(bindparam("data", type_=JSON()), bindparam("now", type_=UTCDateTime()))


def floor_path(services: Services, seeded: Seeded) -> Callable[[int], Awaitable[None]]:
    """The rows an allocated order cannot do without, one transaction, nothing else."""
    run = uuid.uuid4().hex[:6]
    price = Decimal("10.00")
    ship_to = {"province": "浙江", "city": "杭州", "line": "西湖区龙井路1号", "lat": 30.25, "lon": 120.13}

    async def place(i: int) -> None:
        product, sku = seeded.products[i % len(seeded.products)]
        no = f"FL-{run}-{i}"
        now = services.clock()
        async with services.engine.begin() as conn:
            order_id = (
                await conn.execute(
                    INSERT_ORDER,
                    {
                        "no": no,
                        "customer": seeded.customer_id,
                        "ship_to": ship_to,
                        "zero": Decimal("0"),
                        "total": price,
                        "empty": {},
                        "none": [],
                        "plan": {"picks": [{"warehouse": "SH", "sku": sku, "qty": 1}]},
                        "now": now,
                    },
                )
            ).scalar_one()
            line_id = (
                await conn.execute(INSERT_LINE, {"order_id": order_id, "product": product, "sku": sku, "price": price})
            ).scalar_one()
            reserved = await conn.execute(RESERVE, {"product": product, "warehouse": seeded.warehouse_id})
            if reserved.rowcount != 1:
                raise RuntimeError(f"floor order {no}: no stock left")
            params = {"order_id": order_id, "line_id": line_id, "product": product, "warehouse": seeded.warehouse_id}
            await conn.execute(INSERT_RESERVATION, {**params, "now": now})
            await conn.execute(INSERT_AUDIT, {"no": no, "order_id": order_id, "data": {"sku": sku}, "now": now})

    return place


class StatementCounter:
    """SQL round trips: statements, plus BEGIN and COMMIT."""

    def __init__(self, services: Services) -> None:
        self.count = 0
        event.listen(services.engine.sync_engine, "before_cursor_execute", self._seen)
        event.listen(services.engine.sync_engine, "begin", self._seen_txn)
        event.listen(services.engine.sync_engine, "commit", self._seen_txn)

    def _seen(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement != "BEGIN IMMEDIATE":  # SQLite's BEGIN, already counted by the begin event
            self.count += 1

    def _seen_txn(self, *_args: object) -> None:
        self.count += 1


async def measure(
    place: Callable[[int], Awaitable[None]], counter: StatementCounter, *, orders: int, tasks: int, seconds: float
) -> tuple[int, float, float]:
    """(orders placed, seconds taken, statements per order) with ``tasks`` workers."""
    for i in range(WARM_UP):
        await place(-1 - i)
    numbers = itertools.count()
    done = 0
    before = counter.count
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            i = next(numbers)
            if i >= orders:
                return
            await place(i)
            done += 1

    await asyncio.gather(*(worker() for _ in range(tasks)))
    elapsed = time.perf_counter() - start
    return done, elapsed, (counter.count - before) / max(done, 1)


async def table_counts(services: Services) -> dict[str, int]:
    async with services.engine.connect() as conn:
        return {
            t: (await conn.execute(select(func.count()).select_from(metadata.tables[t]))).scalar_one()
            for t in COUNTED_TABLES
        }


async def bench_backend(name: str, url: str, args: argparse.Namespace) -> tuple[list[Result], str]:
    services = Services.from_settings(Settings(database_url=url))
    try:
        async with services.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        seeded = await seed(services, args.skus)
        counter = StatementCounter(services)
        results = []
        written = ""
        for tasks in (1, args.concurrency):
            for path, make in (("service", service_path), ("floor", floor_path)):
                before = await table_counts(services) if (path, tasks) == ("service", 1) else None
                done, elapsed, statements = await measure(
                    make(services, seeded), counter, orders=args.orders, tasks=tasks, seconds=args.seconds
                )
                if before is not None:
                    after = await table_counts(services)
                    per = {t: (after[t] - before[t]) / (done + WARM_UP) for t in COUNTED_TABLES}
                    written = ", ".join(f"{t} {v:g}" for t, v in per.items())
                results.append(Result(name, path, tasks, done, elapsed, statements))
                print(f"  {name:<10} {path:<7} x{tasks}: {done} orders in {elapsed:.1f}s", file=sys.stderr)
        return results, written
    finally:
        await services.close()


async def bench_postgres(admin_url: str, args: argparse.Namespace) -> tuple[list[Result], str] | str:
    """Runs on a temporary database; returns why it was skipped when the server does not answer."""
    base = make_url(admin_url)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL not reachable at {base.host}:{base.port}: {error}"
    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = base.set(database=name, drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        return await bench_backend("postgresql", url, args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


ROW = "{:<11} {:<8} {:>5} {:>7} {:>9} {:>11} {:>13}"


def print_table(results: list[Result]) -> None:
    floors = {(r.backend, r.tasks): r.rate for r in results if r.path == "floor"}
    header = ROW.format("backend", "path", "tasks", "orders", "orders/s", "stmts/order", "service/floor")
    print(header)
    print("-" * len(header))
    for r in results:
        floor = floors.get((r.backend, r.tasks))
        ratio = f"{r.rate / floor:.2f}" if floor else "-"
        print(ROW.format(r.backend, r.path, r.tasks, r.orders, f"{r.rate:.0f}", f"{r.statements:.1f}", ratio))


async def main(args: argparse.Namespace) -> int:
    results: list[Result] = []
    notes = []
    with tempfile.TemporaryDirectory(prefix="oms-bench-") as tmp:
        sqlite, written = await bench_backend("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args)
        results += sqlite
        notes.append(f"sqlite: rows written per service order: {written}")
    postgres = await bench_postgres(args.pg, args)
    if isinstance(postgres, str):
        notes.append(f"postgresql: skipped ({postgres})")
    else:
        results += postgres[0]
        notes.append(f"postgresql: rows written per service order: {postgres[1]}")
    print()
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    print_table(results)
    print()
    for note in notes:
        print(note)
    print("floor rows per order: sales_order 1, order_line 1, reservation 1, audit_record 1 (+ the stock UPDATE)")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per path (default 2000)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server for the temp database")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks in the concurrent runs (default 8)")
    parser.add_argument("--skus", type=int, default=20, help="orders cycle over this many SKUs; 1 = one hot row")
    parser.add_argument("--seconds", type=float, default=12.0, help="time cap per path (default 12)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
