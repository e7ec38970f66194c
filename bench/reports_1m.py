"""Each report figure on a SQLite file with a million orders, next to a plain ``SELECT count(*)``.

    python bench/reports_1m.py [--orders 1000000] [--days 365] [--db PATH] [--keep] [--repeat 3]

Builds the schema the product uses (``metadata.create_all``, so the models' indexes), then writes
``--orders`` orders spread evenly over the last ``--days`` days straight into the file with
``sqlite3.executemany`` (not through the services: a million placements would take hours): 1 to 3
lines each over 200 products in 8 product lines (10 % without a cost), 31 provinces written
in mixed forms (广东 / 广东省), 20 salespeople and four channels; 85 % completed, 4 % cancelled,
1 % rejected, the rest (of the last two weeks) open in the stages people cause, 3 % with a return; four audit rows per
order (its status changes). With ``--db PATH --keep`` the file is kept and reused on the next run.

Then it times, through ``Services.query`` (the path ``/report`` takes), every figure for today,
7 days, 30 days and the whole year; the best of ``--repeat`` runs; and prints the figures so a
reader can see they are plausible. The baseline is ``SELECT count(*) FROM sales_order``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

import bot.models  # noqa: F401  (chat tables in the metadata)
from bot.i18n import Translator
from bot.reports import ReportRequest, report
from core.auth import Actor
from core.config import Settings
from core.db.registry import metadata
from core.reports import figures
from core.reports.periods import Period, date_range, named
from core.services import Services

ACTOR = Actor.system("bench")
ZONE = "Asia/Shanghai"
PROVINCES = (
    "北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 广西 海南 "
    "重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆"
).split()
LONG_FORM = {"内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区"}
LONG_FORM |= {"新疆": "新疆维吾尔自治区", "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市"}
CHANNELS = ("direct", "direct", "shopify", "woocommerce", "douyin")
OPEN = ("pending_approval", "on_hold", "backordered", "awaiting_payment", "ready_to_pick", "picking", "shipped")
PRODUCT_LINES = ("茶叶", "茶具", "礼盒", "咖啡", "零食", "器皿", "饮料", "周边")
FMT = "%Y-%m-%d %H:%M:%S.%f"
BATCH = 50_000


def _province(rng: random.Random) -> str:
    name = PROVINCES[min(int(rng.expovariate(0.12)), len(PROVINCES) - 1)]
    return LONG_FORM.get(name, name + "省") if rng.random() < 0.5 else name


def _status(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.85:
        return "completed"
    if r < 0.89:
        return "cancelled"
    if r < 0.90:
        return "rejected"
    return rng.choice(OPEN)


def generate(path: Path, orders: int, days: int, now: datetime) -> None:
    rng = random.Random(15)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=WAL")
    stamp = now.strftime(FMT)
    db.executemany(
        "INSERT INTO app_user (id, name, roles, warehouses, locale, active) VALUES (?,?,?,?,?,?)",
        [(i, f"销售{i:02d}", '["sales"]', "[]", "zh-CN", 1) for i in range(1, 21)],
    )
    db.executemany(
        "INSERT INTO customer (id, code, name, tier, credit_limit, outstanding_balance) VALUES (?,?,?,?,?,?)",
        [(i, f"C{i:05d}", f"客户{i}", "standard", 0, 0) for i in range(1, 1001)],
    )
    products = []
    for i in range(1, 201):
        price = rng.choice((18, 45, 88, 128, 168, 256, 330, 499))
        cost = None if i % 10 == 0 else round(price * rng.uniform(0.35, 0.7), 2)
        products.append(
            (i, f"SKU-{i:03d}", f"商品{i}", price, cost, PRODUCT_LINES[i % len(PRODUCT_LINES)], 0, 0, 0, 0, 1)
        )
    db.executemany(
        "INSERT INTO product (id, sku, name, price, cost, product_line, safety_stock, below_safety, is_kit,"
        " make_to_order, active) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        products,
    )
    span = days * 86400

    def rows() -> Iterator[
        tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], tuple[Any, ...] | None]
    ]:
        line_id = 0
        for oid in range(1, orders + 1):
            created = now - timedelta(seconds=span * (orders - oid) / orders + rng.random())
            status = _status(rng)
            if status in OPEN and now - created > timedelta(days=14):
                status = "completed"  # nothing old is still open
            lines = []
            subtotal = 0.0
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                pid, sku, name, price, *_rest = products[rng.randrange(200)]
                qty = rng.choice((1, 1, 1, 2, 3, 6))
                shipped = qty if status in ("completed", "shipped") else 0
                line_id += 1
                lines.append((line_id, oid, pid, sku, name, qty, price, price, price * qty, shipped, 0))
                subtotal += price * qty
            total = round(subtotal * (0.9 if rng.random() < 0.2 else 1.0), 2)
            changed = created + timedelta(hours=rng.uniform(1, 72))
            changed = min(changed, now)
            order = (
                oid,
                f"SO-{oid:07d}",
                rng.randint(1, 1000),
                status,
                "paid",
                "prepaid",
                rng.choice(CHANNELS),
                "CNY",
                f'{{"province": "{_province(rng)}", "city": "x"}}',
                0,
                subtotal,
                round(total - subtotal, 2),
                total,
                total,
                0,
                "{}",
                "[]",
                "{}",
                rng.randint(1, 20) if rng.random() < 0.7 else None,
                1,
                created.strftime(FMT),
                changed.strftime(FMT),
                changed.strftime(FMT),
            )
            audits = [
                ("order", order[1], oid, "create", None, "received", "system", "bench", "{}", created.strftime(FMT)),
                (
                    "order",
                    order[1],
                    oid,
                    "confirm",
                    "received",
                    "confirmed",
                    "system",
                    "bench",
                    "{}",
                    created.strftime(FMT),
                ),
                (
                    "order",
                    order[1],
                    oid,
                    "pick",
                    "confirmed",
                    "picking",
                    "system",
                    "bench",
                    "{}",
                    (created + (changed - created) / 2).strftime(FMT),
                ),
                ("order", order[1], oid, "move", "picking", status, "system", "bench", "{}", changed.strftime(FMT)),
            ]
            ret = None
            if status == "completed" and rng.random() < 0.035:
                ret = (
                    oid,
                    f"RMA-{oid:07d}",
                    oid,
                    rng.choice(("refunded", "closed", "rejected", "requested")),
                    "refund",
                    round(total / 2, 2),
                    stamp,
                    stamp,
                )
            yield order, lines, audits, ret

    sql_order = (
        "INSERT INTO sales_order (id, order_no, customer_id, status, payment_status, payment_terms, channel, currency,"
        " ship_to, manual_discount_percent, subtotal, discount_total, total, paid_amount, refunded_amount,"
        " price_breakdown, hold_reasons, allocation_plan, salesperson_id, version, created_at, updated_at,"
        " status_changed_at) VALUES (" + ",".join("?" * 23) + ")"
    )
    sql_line = (
        "INSERT INTO order_line (id, order_id, product_id, sku, name, qty, list_price, unit_price, line_total,"
        " shipped_qty, returned_qty) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )
    sql_audit = (
        "INSERT INTO audit_record (entity, entity_key, order_id, action, from_state, to_state, actor, source, data,"
        " created_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    sql_return = (
        "INSERT INTO return_request (id, rma_no, order_id, status, resolution, refund_amount, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?)"
    )
    batch: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
    started = time.perf_counter()

    def flush() -> None:
        for sql, items in zip((sql_order, sql_line, sql_audit, sql_return), batch, strict=True):
            db.executemany(sql, items)
            items.clear()
        db.commit()

    for n, (order, lines, audits, ret) in enumerate(rows(), 1):
        batch[0].append(order)
        batch[1].extend(lines)
        batch[2].extend(audits)
        if ret:
            batch[3].append(ret)
        if n % BATCH == 0:
            flush()
            print(f"  {n:,} orders written ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    flush()
    db.execute("ANALYZE")
    db.commit()
    db.close()


async def timed(label: str, fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[str, float, float, Any]:
    """Best wall time and best CPU time (this process: SQLite runs in aiosqlite's thread here) of ``repeat`` runs."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = await fn()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return label, best, best_cpu, result


def show(result: Any) -> str:
    if isinstance(result, figures.Summary):
        m = result.margin
        return (
            f"{result.orders:,} orders, sales {result.sales:,}, avg {result.average}, margin {m.amount:,}"
            f" ({m.percent} %), unknown-cost revenue {m.unknown_revenue:,} on {m.unknown_lines:,} lines"
        )
    if isinstance(result, figures.Breakdown):
        return (
            ", ".join(f"{g.key or '-'} {g.sales:,.0f}" for g in result.groups[:4]) + f" … ({len(result.groups)} groups)"
        )
    if isinstance(result, figures.ReturnRate):
        return f"{result.returned_orders:,} of {result.orders:,} orders returned ({result.rate} %)"
    if isinstance(result, list) and not (result and hasattr(result[0], "attachment")):
        return f"{len(result)} orders, newest {result[0].order_no if result else '-'}"
    if isinstance(result, list) and result and hasattr(result[0], "attachment"):
        return f"{len(result[0].attachment.data):,} bytes of PNG; " + result[0].text.splitlines()[0]
    if hasattr(result, "stages"):
        return f"{len(result.stages)} stages, longest wait {result.longest[0].waited if result.longest else '-'}"
    return str(result)


async def measure(path: Path, now: datetime, repeat: int) -> None:
    services = Services.from_settings(
        Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", timezone=ZONE), clock=lambda: now
    )

    async def count_all() -> int:
        async with services.reading() as session:
            return int((await session.execute(text("SELECT count(*) FROM sales_order"))).scalar_one())

    periods: list[Period] = [named(n, now, ZONE) for n in ("today", "7d", "30d")]
    year = named("today", now, ZONE)
    periods.append(date_range(year.first - timedelta(days=364), year.last, ZONE, "365d"))
    results = [await timed("baseline: SELECT count(*) FROM sales_order", count_all, repeat)]
    for period in periods:
        results.append(
            await timed(
                f"{period.name} summary",
                lambda p=period: services.query(ACTOR, lambda ctx: figures.summary(ctx, p)),
                repeat,
            )
        )
        for by in figures.BREAKDOWNS:
            results.append(
                await timed(
                    f"{period.name} by {by}",
                    lambda p=period, b=by: services.query(ACTOR, lambda ctx: figures.breakdown(ctx, p, b)),
                    repeat,
                )
            )
        results.append(
            await timed(
                f"{period.name} return rate",
                lambda p=period: services.query(ACTOR, lambda ctx: figures.return_rate(ctx, p)),
                repeat,
            )
        )
    for period in periods[2:]:
        for by, key in ((None, None), ("region", "北京"), ("line", "茶叶")):
            results.append(
                await timed(
                    f"{period.name} orders behind {by or 'sales'} {key or ''}".rstrip(),
                    lambda p=period, b=by, k=key: services.query(
                        ACTOR, lambda ctx: figures.orders_behind(ctx, p, b, k, limit=100)
                    ),
                    repeat,
                )
            )
    for request in (ReportRequest("today", None), ReportRequest("30d", "line")):
        results.append(
            await timed(
                f"/report {request.period} {request.by or ''} (figures + chart)".replace("  ", " "),
                lambda r=request: services.query(ACTOR, lambda ctx: report(ctx, Translator("zh-CN"), r)),
                repeat,
            )
        )
    for days in (1, 7):
        results.append(
            await timed(
                f"stages, last {days} d",
                lambda d=days: services.query(ACTOR, lambda ctx: figures.stages(ctx, days=d)),
                repeat,
            )
        )
    await services.close()
    print(f"{'figure':<44} {'ms':>8} {'cpu ms':>8}  result")
    print("-" * 120)
    for label, seconds, cpu, result in results:
        print(f"{label:<44} {seconds * 1000:8.1f} {cpu * 1000:8.1f}  {show(result)}")
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; best of {repeat}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the --db file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    path = args.db or Path(tempfile.mkdtemp(prefix="oms_reports_")) / "reports.db"
    fresh = not path.exists()
    if fresh:
        services = Services.from_settings(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}"))
        async with services.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await services.close()
        started = time.perf_counter()
        generate(path, args.orders, args.days, now)
        print(f"wrote {args.orders:,} orders in {time.perf_counter() - started:.0f} s to {path}", file=sys.stderr)
    else:
        print(f"reusing {path}", file=sys.stderr)
    try:
        await measure(path, now, args.repeat)
    finally:
        if not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
