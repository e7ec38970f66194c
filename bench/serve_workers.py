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
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integrations.cli.demo import DEMO_DATA  # noqa: E402

PG_URL = os.environ.get("OMS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
OMS = str(Path(sys.executable).parent / "oms")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def load(base: str, text: str, requests: int, concurrency: int) -> tuple[float, list[float], Counter, float]:
    """``requests`` console messages from ``concurrency`` clients at once: (seconds, latencies,
    workers, the machine's CPU busy share meanwhile: server, PostgreSQL and this client together)."""
    latencies: list[float] = []
    workers: Counter = Counter()
    left = iter(range(requests))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client() -> None:
            for _ in left:
                started = time.perf_counter()
                async with session.post(
                    base + "/console/api/messages", json={"user": "lilei", "text": text}
                ) as response:
                    assert response.status == 200, await response.text()
                    await response.read()
                    workers[response.headers.get("X-OMS-Worker", "1")] += 1
                latencies.append(time.perf_counter() - started)

        began, (busy, total) = time.perf_counter(), cpu_ticks()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        busy_after, total_after = cpu_ticks()
        return time.perf_counter() - began, latencies, workers, (busy_after - busy) / max(1, total_after - total)


async def one_run(
    workers: int, requests: int, concurrency: int
) -> dict[str, tuple[float, list[float], Counter, float]]:
    base_url = make_url(PG_URL)
    admin_dsn = base_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base_url.set(database=name, drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(OMS_DATABASE_URL=url, OMS_CONSOLE_MODE="open")
    server = None
    try:
        for args in (["db", "upgrade"], ["load", str(DEMO_DATA)]):
            subprocess.run([OMS, *args], env=env, check=True, capture_output=True)
        port = free_port()
        env["OMS_PORT"] = str(port)
        server = subprocess.Popen(
            [OMS, "serve", "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            async with session.post(
                base + "/console/api/messages", json={"user": "lilei", "text": "/neworder C001 TEA-001*1"}
            ) as r:
                order_no = re.search(r"SO-\d+", (await r.json())["replies"][0]["text"]).group(0)
        await load(base, f"/order {order_no}", concurrency * 2, concurrency)  # warm every worker up
        return {
            "/order": await load(base, f"/order {order_no}", requests, concurrency),
            "/neworder": await load(base, "/neworder C001 TEA-001*1", requests, concurrency),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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
                f"{path:<11} {n:>7} {rate:>8.1f} {statistics.median(ms):>8.1f} {pct(ms, 99):>8.1f}"
                f"  {rate / first:>6.2f}  {busy:>8.0%}  {share}"
            )


if __name__ == "__main__":
    asyncio.run(main())
