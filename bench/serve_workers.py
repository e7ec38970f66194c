"""Throughput of ``oms serve --workers N`` on PostgreSQL: the same load against 1 and 2 workers.

    python bench/serve_workers.py [--requests 400] [--concurrency 20] [--workers 1,2]

For each N: a fresh PostgreSQL database (``OMS_TEST_PG_URL``'s server, default
postgres@127.0.0.1:5432) with the demo master data, the real ``oms serve --workers N`` as a
subprocess on a loopback port, then ``--concurrency`` clients at once sending ``POST
/console/api/messages`` (``/order SO-…`` as the salesperson, and ``/neworder`` placing an order: of one SKU, then
of five in turn)
until ``--requests`` of each are answered. Prints requests per second, p50 / p99 in ms, and how the
requests spread over the workers (``X-OMS-Worker``), one line per N, side by side. The client runs
on the same 2 cores as the server, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import support  # noqa: E402

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Orders of one SKU all reserve from one stock row, locked from the stock read to the commit: the
# orders take turns at it whatever the number of processes (a flash sale). Spread over several
# SKUs, as a day's orders are, they lock different rows.
SPREAD = ("TEA-001", "TEA-002", "TEA-003", "CUP-01", "POT-01")
ONE_SKU = "/neworder"
SPREAD_PATH = f"/neworder ×{len(SPREAD)} SKUs"
PATHS = ("/order", ONE_SKU, SPREAD_PATH)
# (seconds, latencies, answers per worker, machine CPU busy share, each owner's share of the machine)
Run = tuple[float, list[float], Counter, float, dict[str, float]]


async def load(
    server: support.ServerProcess,
    text: str | Sequence[str],
    requests: int,
    concurrency: int,
    seconds: float | None = None,
) -> Run:
    """``requests`` console messages from ``concurrency`` clients at once (no new ones after
    ``seconds``, when given), the texts taken in turn: (seconds, latencies, workers, the machine's
    CPU busy share meanwhile: server, PostgreSQL and this client together, and each one's share)."""
    texts = [text] if isinstance(text, str) else list(text)
    latencies: list[float] = []
    workers: Counter = Counter()
    left = iter(range(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client() -> None:
            for i in left:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                async with session.post(
                    base + "/console/api/messages", json={"user": "lilei", "text": texts[i % len(texts)]}
                ) as response:
                    assert response.status == 200, await response.text()
                    await response.read()
                    workers[response.headers.get("X-OMS-Worker", "1")] += 1
                latencies.append(time.perf_counter() - started)

        base, cpu = server.base, support.cpu_by_process(server.process.pid)
        began, (busy, total) = time.perf_counter(), support.machine_ticks()
        deadline = None if seconds is None else began + seconds
        await asyncio.gather(*(client() for _ in range(concurrency)))
        busy_after, total_after = support.machine_ticks()
        elapsed = time.perf_counter() - began
        shares = support.cpu_shares(cpu, support.cpu_by_process(server.process.pid), elapsed)
        machine = (busy_after - busy) / max(1, total_after - total)
        shares["ended or kernel"] = max(0.0, machine - sum(shares.values()))  # processes gone by the end, interrupts
        return elapsed, latencies, workers, machine, shares


async def one_run(workers: int, requests: int, concurrency: int, seconds: float | None = None) -> dict[str, Run]:
    """A fresh database, ``oms serve --workers N`` on it, a warm-up, then the load of each path
    (``requests``, or what is answered of them in about ``seconds``)."""
    url, drop = await support.pg_database(PG_URL)
    server = None
    try:
        await support.prepare(url, 0, SPREAD)
        server = await support.start_oms_serve(support.oms_env(url), workers)
        base = server.base
        async with aiohttp.ClientSession() as session:
            async with session.post(
                base + "/console/api/messages", json={"user": "lilei", "text": "/neworder C001 TEA-001*1"}
            ) as r:
                order_no = re.search(r"SO-\d+", (await r.json())["replies"][0]["text"]).group(0)
        await load(server, f"/order {order_no}", concurrency * 2, concurrency)  # warm every worker up
        return {
            "/order": await load(server, f"/order {order_no}", requests, concurrency, seconds),
            ONE_SKU: await load(server, "/neworder C001 TEA-001*1", requests, concurrency, seconds),
            SPREAD_PATH: await load(
                server, [f"/neworder C001 {sku}*1" for sku in SPREAD], requests, concurrency, seconds
            ),
        }
    finally:
        if server is not None:
            server.stop()
        await drop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    results = {n: await one_run(n, args.requests, args.concurrency) for n in counts}
    print(f"POST /console/api/messages on PostgreSQL, {args.requests} requests, {args.concurrency} clients at once")
    print(
        f"{'path':<21} {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  {'× of 1':>6}  {'cpu busy':>8}  spread"
    )
    for path in PATHS:
        first = None
        for n in counts:
            seconds, latencies, spread, busy, shares = results[n][path]
            rate = len(latencies) / seconds
            first = first or rate
            ms = [s * 1000 for s in latencies]
            share = " ".join(f"w{k}:{v}" for k, v in sorted(spread.items()))
            print(
                f"{path:<21} {n:>7} {rate:>8.1f} {support.median(ms):>8.1f} {support.pct(ms, 99):>8.1f}"
                f"  {rate / first:>6.2f}  {busy:>8.0%}  {share}  ({support.shares_line(shares)})"
            )


if __name__ == "__main__":
    asyncio.run(main())
