"""A flash-sale burst of signed Shopify deliveries against the running server.

    python bench/channel_burst.py [--orders 2000] [--concurrency 50] [--stock 1500]
    python bench/channel_burst.py --pg postgresql://postgres@127.0.0.1:5432/test

Starts the real server's channel route, worker and event delivery (SQLite in a temp folder) on a
loopback port in a process of its own, and an empty aiohttp app in another as the floor; the load
comes from this process. Sends ``--orders``
signed ``orders/create`` deliveries, 50 at once, plus a retry of every tenth one (Shopify
re-sends when it doubts), one unit of TEA-001 each against ``--stock`` units on hand. Prints the
ack p50 / p99 / max beside the empty handler's, the time until every order exists, and checks
that each channel order became exactly one order and stock was never oversold.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import pg_database  # noqa: E402  (carrier_pushes.py imports it from here too)
from core.auth import Actor  # noqa: E402
from core.catalog.models import Product  # noqa: E402
from core.config import Settings  # noqa: E402
from core.inventory.models import StockLevel  # noqa: E402
from core.masterdata.loader import load_master_data  # noqa: E402
from core.masterdata.schema import parse_document  # noqa: E402
from core.orders.models import Order  # noqa: E402
from core.services import Services  # noqa: E402
from integrations.channels.route import mount as channels  # noqa: E402
from integrations.cli.demo import DEMO_DATA  # noqa: E402
from integrations.web import events  # noqa: E402
from integrations.web.app import build_app  # noqa: E402
from tests.support.databases import make_services  # noqa: E402

SECRET = "shpss_bench_secret"
WARM_UP = 20  # orders before the burst, so first-use costs (statement compilation) are not measured
CHANNEL = """
channels:
  - {code: SHOP1, kind: shopify, name: 官网, shop_domain: bench.myshopify.com, poll_minutes: 0,
     sku_map: {SHOPIFY-TEA: TEA-001}}
"""


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<30} {len(ms):>6} {statistics.median(ms):>8.1f} {pct(ms, 99):>8.1f} {max(ms):>8.1f}"


def shopify_order(n: int) -> bytes:
    """An ``orders/create`` body shaped like a real one (REST resource, decimal strings)."""
    order_id = 5_000_000_000_000 + n
    stamp = "2026-12-01T10:00:00+08:00"
    return json.dumps(
        {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{1000 + n}",
            "order_number": 1000 + n,
            "created_at": stamp,
            "updated_at": stamp,
            "processed_at": stamp,
            "cancelled_at": None,
            "currency": "CNY",
            "financial_status": "paid",
            "fulfillment_status": None,
            "total_price": "99.00",
            "subtotal_price": "99.00",
            "total_discounts": "0.00",
            "total_tax": "0.00",
            "test": False,
            "customer": {
                "id": 7_000_000 + n,
                "email": f"buyer{n}@example.com",
                "first_name": "三",
                "last_name": "张",
                "phone": f"+86139{n:08d}",
            },
            "shipping_address": {
                "first_name": "三",
                "last_name": "张",
                "name": "张三",
                "address1": "西湖区文三路90号",
                "address2": "",
                "city": "杭州",
                "province": "浙江",
                "zip": "310012",
                "country": "China",
                "country_code": "CN",
                "phone": f"+86139{n:08d}",
            },
            "line_items": [
                {
                    "id": 9_000_000 + n,
                    "variant_id": 44,
                    "product_id": 33,
                    "sku": "SHOPIFY-TEA",
                    "title": "龙井茶",
                    "quantity": 1,
                    "price": "99.00",
                }
            ],
            "shipping_lines": [{"title": "Standard", "price": "0.00"}],
        },
        ensure_ascii=False,
    ).encode()


def headers(body: bytes, webhook_id: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": webhook_id,
        "X-Shopify-Triggered-At": "2026-12-01T02:00:00Z",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_server(db: str, port: int, empty: bool) -> None:
    """In a process of its own, as ``oms serve`` runs: the load generator must not share its loop."""
    if empty:
        app = web.Application()

        async def nothing(_: web.Request) -> web.Response:
            return web.Response(status=200)

        app.router.add_post("/", nothing)
    else:
        services = Services.from_settings(bench_settings(db))
        app, _ = build_app(services, [channels, events.mount])
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def bench_settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, channel_credentials={"SHOP1_SECRET": SECRET})


async def prepare(db: str, stock: int) -> None:
    services = await make_services(bench_settings(db))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(DEMO_DATA.read_text(encoding="utf-8")))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(CHANNEL))
        await ctx.session.execute(StockLevel.__table__.update().values(on_hand=0, reserved=0))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        document = f"stock:\n  - {{sku: TEA-001, warehouse: SH, on_hand: {stock}}}\n"
        await load_master_data(ctx, parse_document(document), set_stock=True)
    await services.close()


async def wait_listening(http: ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with http.get(url):
                return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"nothing listens at {url}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--stock", type=int, default=1500, help="units of TEA-001 on hand (fewer than orders)")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to run on (a temp database), not SQLite")
    args = parser.parse_args()

    dropped = None
    if args.pg:
        db, dropped = await pg_database(args.pg)
    else:
        db = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='oms-bench-')) / 'bench.db'}"
    try:
        await burst(args, db)
    finally:
        if dropped is not None:
            await dropped()


async def burst(args: argparse.Namespace, db: str) -> None:
    await prepare(db, args.stock)
    port, empty_port = free_port(), free_port()
    spawn = multiprocessing.get_context("spawn")
    servers = [spawn.Process(target=run_server, args=(db, p, e)) for p, e in ((port, False), (empty_port, True))]
    for server in servers:
        server.start()
    url = f"http://127.0.0.1:{port}/webhooks/channels/SHOP1"

    deliveries = []
    for n in range(args.orders):
        body, webhook_id = shopify_order(n), str(uuid.uuid4())
        deliveries.append((body, headers(body, webhook_id)))
    retries = deliveries[::10]  # the same delivery again: must not become a second order
    gate = asyncio.Semaphore(args.concurrency)
    acks: list[float] = []
    floor: list[float] = []

    try:
        async with ClientSession(connector=TCPConnector(limit=args.concurrency * 2)) as http:
            await wait_listening(http, f"http://127.0.0.1:{port}/healthz")
            await wait_listening(http, f"http://127.0.0.1:{empty_port}/")

            async def post(target: str, body: bytes, hdrs: dict[str, str], into: list[float]) -> None:
                async with gate:
                    start = time.perf_counter()
                    async with http.post(target, data=body, headers=hdrs) as response:
                        await response.read()
                        assert response.status == 200, (response.status, await response.text())
                    into.append(time.perf_counter() - start)

            for _ in range(3):  # the floor first, alone, then the burst while nothing else runs
                await asyncio.gather(*(post(f"http://127.0.0.1:{empty_port}/", b, h, floor) for b, h in deliveries))
            warm = [shopify_order(args.orders + n) for n in range(WARM_UP)]  # both servers equally warm
            await asyncio.gather(*(post(url, b, headers(b, str(uuid.uuid4())), []) for b in warm))
            started = time.perf_counter()
            await asyncio.gather(*(post(url, b, h, acks) for b, h in deliveries + retries))
            acked = time.perf_counter() - started
        backend = db.split(":")[0]
        print(f"{args.orders} Shopify orders + {len(retries)} retried, {args.concurrency} at once, {backend}")
        print(f"{'path':<30} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        print(row("empty aiohttp handler", floor))
        print(row("channel webhook ack", acks))
        print(f"all acknowledged after {acked:.1f} s", flush=True)

        services = Services.from_settings(bench_settings(db))

        async def count() -> int:
            async with services.reading() as session:
                return await session.scalar(select(func.count(Order.id)))

        while await count() < args.orders + WARM_UP and time.perf_counter() - started < 600:
            await asyncio.sleep(0.1)
        drained = time.perf_counter() - started
        async with services.reading() as session:
            orders = await session.scalar(select(func.count(Order.id)))
            distinct = await session.scalar(select(func.count(func.distinct(Order.external_ref))))
            on_hand, reserved = (
                await session.execute(
                    select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
                    .join(Product, Product.id == StockLevel.product_id)
                    .where(Product.sku == "TEA-001")
                )
            ).one()
        await services.close()
    finally:
        for server in servers:
            server.terminate()
            server.join(10)

    print(f"every order existed after {drained:.1f} s ({args.orders / drained:.0f} orders/s)")
    print(
        f"orders {orders} (with {WARM_UP} warm-up), distinct channel orders {distinct}; "
        f"TEA-001 on hand {on_hand}, reserved {reserved}"
    )
    ok = orders == distinct == args.orders + WARM_UP and reserved <= on_hand
    print("exactly once, never oversold: " + ("yes" if ok else "NO"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
