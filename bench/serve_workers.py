"""Throughput of ``oms serve --workers N`` on PostgreSQL: the same load against 1 and 2 workers.

    python bench/serve_workers.py [--requests 400] [--concurrency 20] [--workers 1,2]

For each N: a fresh PostgreSQL database (``OMS_TEST_PG_URL``'s server, default
postgres@127.0.0.1:5432) with the demo master data, the real ``oms serve --workers N`` as a
subprocess on a loopback port, then ``--concurrency`` clients at once sending ``POST
/console/api/messages`` (``/order SO-…`` as the salesperson, and ``/neworder`` placing an order)
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
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import support  # noqa: E402

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
Run = tuple[float, list[float], Counter, float]  # (seconds, latencies, answers per worker, machine CPU busy share)


async def load(base: str, text: str, requests: int, concurrency: int, seconds: float | None = None) -> Run:
    """``requests`` console messages from ``concurrency`` clients at once (no new ones after
    ``seconds``, when given): (seconds, latencies, workers, the machine's CPU busy share meanwhile:
    server, PostgreSQL and this client together)."""
    latencies: list[float] = []
    workers: Counter = Counter()
    left = iter(range(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client() -> None:
            for _ in left:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                async with session.post(
                    base + "/console/api/messages", json={"user": "lilei", "text": text}
                ) as response:
                    assert response.status == 200, await response.text()
                    await response.read()
                    workers[response.headers.get("X-OMS-Worker", "1")] += 1
                latencies.append(time.perf_counter() - started)

        began, (busy, total) = time.perf_counter(), support.machine_ticks()
        deadline = None if seconds is None else began + seconds
        await asyncio.gather(*(client() for _ in range(concurrency)))
        busy_after, total_after = support.machine_ticks()
        return time.perf_counter() - began, latencies, workers, (busy_after - busy) / max(1, total_after - total)


async def one_run(workers: int, requests: int, concurrency: int, seconds: float | None = None) -> dict[str, Run]:
    """A fresh database, ``oms serve --workers N`` on it, a warm-up, then the load of each path
    (``requests``, or what is answered of them in about ``seconds``)."""
    url, drop = await support.pg_database(PG_URL)
    server = None
    try:
        await support.prepare(url, 0)
        server = await support.start_oms_serve(support.oms_env(url), workers)
        base = server.base
        async with aiohttp.ClientSession() as session:
            async with session.post(
                base + "/console/api/messages", json={"user": "lilei", "text": "/neworder C001 TEA-001*1"}
            ) as r:
                order_no = re.search(r"SO-\d+", (await r.json())["replies"][0]["text"]).group(0)
        await load(base, f"/order {order_no}", concurrency * 2, concurrency)  # warm every worker up
        return {
            "/order": await load(base, f"/order {order_no}", requests, concurrency, seconds),
            "/neworder": await load(base, "/neworder C001 TEA-001*1", requests, concurrency, seconds),
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
        f"{'path':<11} {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  {'× of 1':>6}  {'cpu busy':>8}  spread"
    )
    for path in ("/order", "/neworder"):
        first = None
        for n in counts:
            seconds, latencies, spread, busy = results[n][path]
            rate = len(latencies) / seconds
            first = first or rate
            ms = [s * 1000 for s in latencies]
            share = " ".join(f"w{k}:{v}" for k, v in sorted(spread.items()))
            print(
                f"{path:<11} {n:>7} {rate:>8.1f} {support.median(ms):>8.1f} {support.pct(ms, 99):>8.1f}"
                f"  {rate / first:>6.2f}  {busy:>8.0%}  {share}"
            )


if __name__ == "__main__":
    asyncio.run(main())
