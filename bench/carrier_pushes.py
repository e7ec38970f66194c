"""A burst of signed Kuaidi100 pushes moving shipped parcels to delivery, against the running server.

    python bench/carrier_pushes.py [--shipments 200] [--transit 3] [--concurrency 50]
    python bench/carrier_pushes.py --pg postgresql://postgres@127.0.0.1:5432/test

Starts the real server's carrier route and event delivery (SQLite in a temp folder) on a loopback
port in a process of its own, and an empty aiohttp app in another as the floor; the load comes from
this process. First ``--shipments`` orders are placed, picked, packed and shipped with SF tracking
numbers; then every parcel gets the pushes of its life, picked up → in transit × ``--transit`` →
out for delivery → delivered, each a real Kuaidi100 form (``param`` JSON with Chinese text and the
whole ``data[]`` history so far, ``sign = upper(md5(param + salt))``), 50 at once, plus every tenth
push sent again (Kuaidi100 re-sends when our answer is late). Prints pushes/s and the ack p50 / p99
/ max beside the empty handler's, and checks that every shipment was delivered exactly once, no
status ever moved back, and each order's customer was told exactly three times.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web
from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.channel_burst import free_port, pg_database, row, wait_listening  # noqa: E402
from bot.models import ChatMessage, Direction  # noqa: E402
from core.audit.models import AuditRecord, DomainEvent  # noqa: E402
from core.auth import Actor  # noqa: E402
from core.config import Settings  # noqa: E402
from core.customers.models import Customer  # noqa: E402
from core.masterdata.loader import load_master_data  # noqa: E402
from core.masterdata.schema import parse_document  # noqa: E402
from core.orders import fulfilment  # noqa: E402
from core.orders.fulfilment import ShipRequest  # noqa: E402
from core.orders.models import Order, Shipment  # noqa: E402
from core.orders.status import ShipmentStatus  # noqa: E402
from core.services import Services  # noqa: E402
from core.users.models import User  # noqa: E402
from integrations.carriers.route import mount as carriers  # noqa: E402
from integrations.cli.demo import DEMO_DATA  # noqa: E402
from integrations.web import events  # noqa: E402
from integrations.web.app import build_app  # noqa: E402
from tests.support.carriers import KUAIDI100_SALT, kuaidi100_param, kuaidi100_request  # noqa: E402
from tests.support.databases import make_services  # noqa: E402
from tests.support.service_calls import as_user, place  # noqa: E402

WARM_UP = 10  # parcels taken through their whole life before the burst (statement compilation)
CUSTOMER = "杭州茶社"  # C001, on the console: every notification is a timeline row
FORWARD = ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]
CITIES = ["杭州", "嘉兴", "上海转运中心", "苏州", "无锡", "南京", "合肥", "武汉"]
Scans = list[tuple[str, str, str, str]]


def life(n: int, transit: int) -> Scans:
    """The scans of parcel ``n`` as SF reports them through Kuaidi100: (ftime, context, area, status)."""
    start = datetime(2026, 12, 1, 9, 0) + timedelta(minutes=n)

    def at(hours: int) -> str:
        return (start + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")

    scans = [(at(0), "【杭州市】顺丰速运 已收取快件", "浙江省杭州市", "揽收")]
    for k in range(transit):
        city = CITIES[k % len(CITIES)]
        scans.append((at(2 + 3 * k), f"【{city}】快件到达【{city}】，准备发往下一站", city, "在途"))
    courier = "【上海市】快件交给张师傅，正在派送途中（联系电话：13800000000）"
    scans.append((at(3 + 3 * transit), courier, "上海市", "派件"))
    scans.append((at(5 + 3 * transit), "【上海市】已签收，签收人：本人，感谢使用顺丰", "上海市", "签收"))
    return scans


def pushes(number: str, scans: Scans) -> list[tuple[bytes, dict[str, str]]]:
    """Every push of the parcel's life, each re-sending the whole history so far, signed."""
    out = []
    for seen in range(1, len(scans) + 1):
        headers, body = kuaidi100_request(kuaidi100_param(number, scans[:seen]))
        out.append((body, headers))
    return out


def bench_settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url, kuaidi100_salt=KUAIDI100_SALT)


def run_server(db: str, port: int, empty: bool) -> None:
    """In a process of its own, as ``oms serve`` runs: the load generator must not share its loop."""
    if empty:
        app = web.Application()

        async def nothing(_: web.Request) -> web.Response:
            return web.Response(status=200)

        app.router.add_post("/", nothing)
    else:
        services = Services.from_settings(bench_settings(db))
        app, _ = build_app(services, [carriers, events.mount])
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


async def prepare(db: str, count: int) -> list[tuple[str, str]]:
    """``count`` orders of 杭州茶社 shipped with SF: their (order number, tracking number)."""
    services = await make_services(bench_settings(db))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(DEMO_DATA.read_text(encoding="utf-8")))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        document = f"stock:\n  - {{sku: TEA-001, warehouse: SH, on_hand: {3 * count + 100}}}\n"
        await load_master_data(ctx, parse_document(document), set_stock=True)
        await ctx.session.execute(
            update(Customer).where(Customer.code == "C001").values(credit_limit=Decimal("1000000000"))
        )
    shipped = [await ship(services, n) for n in range(count)]
    await services.close()
    return shipped


async def ship(services: Services, n: int) -> tuple[str, str]:
    no, number = await place(services, payment_terms="credit"), f"SF{1_400_000_000_000 + n}"
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "管理员", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "管理员", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", number)))
    return no, number


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=200)
    parser.add_argument("--transit", type=int, default=3, help="in-transit scans per parcel")
    parser.add_argument("--concurrency", type=int, default=50)
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
    made = time.perf_counter()
    shipped = await prepare(db, WARM_UP + args.shipments)
    print(f"{len(shipped)} orders shipped in {time.perf_counter() - made:.1f} s (setup, not measured)", flush=True)
    warm, measured = shipped[:WARM_UP], shipped[WARM_UP:]
    lives = {number: pushes(number, life(n, args.transit)) for n, (_, number) in enumerate(shipped)}
    # Round by round: every parcel's first push, then every parcel's second …, as parcels move in
    # parallel; one parcel's pushes stay in order but several of its neighbours' are in flight.
    deliveries = [lives[number][r] for r in range(args.transit + 3) for _, number in measured]
    repeats = deliveries[::10]  # the same push again, late: acknowledged, changes nothing

    port, empty_port = free_port(), free_port()
    spawn = multiprocessing.get_context("spawn")
    servers = [spawn.Process(target=run_server, args=(db, p, e)) for p, e in ((port, False), (empty_port, True))]
    for server in servers:
        server.start()
    url = f"http://127.0.0.1:{port}/webhooks/carriers/kuaidi100"
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
                        answer = await response.read()
                        assert response.status == 200, (response.status, answer.decode())
                    into.append(time.perf_counter() - start)

            for _ in range(3):  # the floor first, alone, then the burst while nothing else runs
                await asyncio.gather(*(post(f"http://127.0.0.1:{empty_port}/", b, h, floor) for b, h in deliveries))
            for r in range(args.transit + 3):  # warm-up parcels, their whole life, round by round
                await asyncio.gather(*(post(url, *lives[number][r], []) for _, number in warm))
            started = time.perf_counter()
            await asyncio.gather(*(post(url, b, h, acks) for b, h in deliveries + repeats))
            acked = time.perf_counter() - started
        backend = db.split(":")[0]
        print(
            f"{len(deliveries)} Kuaidi100 pushes for {len(measured)} parcels ({args.transit + 3} each) "
            f"+ {len(repeats)} repeated, {args.concurrency} at once, {backend}"
        )
        print(f"{'path':<30} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        print(row("empty aiohttp handler", floor))
        print(row("kuaidi100 push ack", acks))
        sent = len(deliveries) + len(repeats)
        print(f"all acknowledged after {acked:.1f} s ({sent / acked:.0f} pushes/s)", flush=True)
        ok = await verify(db, shipped, started)
    finally:
        for server in servers:
            server.terminate()
            server.join(10)
    sys.exit(0 if ok else 1)


async def verify(db: str, shipped: list[tuple[str, str]], started: float) -> bool:
    """Delivered exactly once, never backwards, the customer told three times per order."""
    services = Services.from_settings(bench_settings(db))

    async def pending() -> int:
        async with services.reading() as session:
            return await session.scalar(select(func.count(DomainEvent.id)).where(DomainEvent.processed_at.is_(None)))

    while await pending() and time.perf_counter() - started < 600:
        await asyncio.sleep(0.1)
    told_after = time.perf_counter() - started
    async with services.reading() as session:
        delivered = await session.scalar(
            select(func.count(Shipment.id)).where(Shipment.status == ShipmentStatus.DELIVERED)
        )
        orders_delivered = await session.scalar(select(func.count(Order.id)).where(Order.status == "delivered"))
        moves = list(
            await session.execute(
                select(AuditRecord.entity_key, AuditRecord.from_state, AuditRecord.to_state)
                .where(AuditRecord.entity == "shipment", AuditRecord.action == "track")
                .order_by(AuditRecord.id)
            )
        )
        texts = list(
            await session.scalars(
                select(ChatMessage.text)
                .join(User, User.id == ChatMessage.user_id)
                .where(User.name == CUSTOMER, ChatMessage.direction == Direction.OUT)
            )
        )
    await services.close()
    backwards = [(key, a, b) for key, a, b in moves if FORWARD.index(b) <= FORWARD.index(a)]
    into_delivered = Counter(key for key, _, to in moves if to == "delivered")
    noise = ("shipped with", "is confirmed")  # /ship's own message and the order's confirmation
    told: dict[str, int] = defaultdict(int)
    for text in texts:
        if text and not any(n in text for n in noise) and (found := re.search(r"SO-\d+", text)):
            told[found.group(0)] += 1
    print(f"every customer message written after {told_after:.1f} s")
    print(
        f"shipments delivered {delivered}/{len(shipped)} (with {WARM_UP} warm-up), orders delivered "
        f"{orders_delivered}; status moves {len(moves)}, backwards {len(backwards)}; "
        f"customer messages per order: {dict(sorted(Counter(told[no] for no, _ in shipped).items()))}"
    )
    ok = (
        delivered == orders_delivered == len(shipped)
        and not backwards
        and all(into_delivered[f"SF {number}"] == 1 for _, number in shipped)
        and all(told[no] == 3 for no, _ in shipped)
    )
    print("delivered exactly once, never backwards, told three times: " + ("yes" if ok else "NO"))
    return ok


if __name__ == "__main__":
    asyncio.run(main())
