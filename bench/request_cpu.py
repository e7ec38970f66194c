"""The server's CPU per request, one client at a time: `/order`, a tap Approve, and the empty floor.

    python bench/request_cpu.py [--orders 200] [--taps 60] [--floor 1000]

``oms serve`` (SQLite in a temp folder, console open, the demo data and one identity ``b0``, a
salesperson and approver) runs in a process of its own, and the empty aiohttp handler in another,
so this process's CPU (the client) is not counted. Requests go one after the other over one
keep-alive connection; around each batch the server process's user + system CPU time is read from
/proc/PID/stat (all threads, aiosqlite's included). Every tap is on a different order's approval
card, so each is a real transition (prepared beforehand: one order waiting for approval per tap).

Two CPU figures per path: ``in request``, from before the first request to after the last answer,
and ``+ after``, which adds what the server does within ``--settle`` seconds after the batch (the
event delivery and outbox work the requests left behind). The server's idle CPU rate, read for a
second before each batch, is taken off both.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import support  # noqa: E402
from bench.console_roundtrip import BIG_ORDER, approval_cards, approve  # noqa: E402

WARM_UP = 10  # requests of each kind before measuring: statement compilation and caches are not counted


@dataclass(frozen=True)
class Cost:
    """One path's figures: CPU ms per request (in the requests, and with the work left after them)."""

    path: str
    count: int
    cpu_ms: float
    cpu_after_ms: float
    latencies: list[float]

    def line(self) -> str:
        ms = [s * 1000 for s in self.latencies]
        return (
            f"{self.path:<26} {self.count:>6} {self.cpu_ms:>9.2f} {self.cpu_after_ms:>9.2f}"
            f" {support.median(ms):>8.2f} {support.pct(ms, 99):>8.2f}"
        )


HEADER = f"{'path':<26} {'count':>6} {'cpu ms':>9} {'+ after':>9} {'p50 ms':>8} {'p99 ms':>8}"


async def measure(
    path: str,
    server: support.ServerProcess,
    send: Callable[[int], Awaitable[None]],
    count: int,
    settle: float,
    profile: Path | None = None,
) -> Cost:
    """``count`` requests one at a time, and the server's CPU they took (sampled by py-spy into
    ``profile`` meanwhile, when given)."""
    idle_cpu, idle_started = server.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(1.0)
    idle_rate = (server.cpu_seconds() - idle_cpu) / (time.perf_counter() - idle_started)
    latencies = []
    with support.profiled(server.process.pid, profile):
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        for i in range(count):
            started = time.perf_counter()
            await send(i)
            latencies.append(time.perf_counter() - started)
        cpu1, t1 = server.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(settle)
    cpu2, t2 = server.cpu_seconds(), time.perf_counter()
    in_request = (cpu1 - cpu0 - idle_rate * (t1 - t0)) / count
    with_after = (cpu2 - cpu0 - idle_rate * (t2 - t0)) / count
    return Cost(path, count, in_request * 1000, with_after * 1000, latencies)


async def run(
    orders: int = 200, taps: int = 60, floor_requests: int = 1000, settle: float = 1.0, profiles: Path | None = None
) -> list[Cost]:
    """The floor, `/order` and the taps, each measured on its own: one Cost per path. With ``profiles``
    (a folder), the server's batches are sampled by py-spy into ``order.txt`` and ``tap.txt`` there."""
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    env = support.oms_env(support.sqlite_url(folder))
    await support.prepare(env["OMS_DATABASE_URL"], 1)
    floor = await support.start_floor()
    try:
        server = await support.start_oms_serve(env)
        try:
            return await _measured(server, floor, orders, taps, floor_requests, settle, profiles)
        finally:
            server.stop()
    finally:
        floor.stop()


async def _measured(
    server: support.ServerProcess,
    floor: support.ServerProcess,
    orders: int,
    taps: int,
    floor_requests: int,
    settle: float,
    profiles: Path | None,
) -> list[Cost]:

    def spy(name: str) -> Path | None:
        return profiles / name if profiles else None

    async with ClientSession() as http:

        async def post(url: str, body: dict) -> dict:
            async with http.post(url, json=body) as response:
                data = await response.json()
                assert response.status == 200, data
            return data

        async def message(text: str) -> dict:
            return await post(f"{server.base}/console/api/messages", {"user": "b0", "text": text})

        # Setup, not measured: one order waiting for approval per tap (and the warm-up's).
        placed = [(await message(BIG_ORDER))["replies"][0]["text"].split("*")[1] for _ in range(taps + WARM_UP)]
        cards = await approval_cards(http, server.base, "b0", placed)
        order_nos = placed[:WARM_UP]  # `/order` reads orders already approved (by the warm-up taps)

        async def empty(_: int) -> None:
            await post(floor.base + "/", {"user": "b0"})

        async def show(i: int) -> None:
            await message(f"/order {order_nos[i % len(order_nos)]}")

        async def tap(i: int) -> None:
            card = cards[i]
            body = {"user": "b0", "card_id": card["card_id"], "action": approve(card)}
            reply = (await post(f"{server.base}/console/api/actions", body))["replies"][0]["text"]
            if not reply.startswith("Approved "):  # "Already done: …" would be no transition
                raise SystemExit(f"tap {i} was not a transition: {reply}")

        for i in range(WARM_UP):
            await empty(i)
            await tap(i)
            await show(i)
        results = [
            await measure("empty aiohttp handler", floor, empty, floor_requests, settle),
            await measure("/order SO-...", server, show, orders, settle, spy("order.txt")),
            await measure("tap Approve (transition)", server, lambda i: tap(WARM_UP + i), taps, settle, spy("tap.txt")),
        ]
        return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="`/order` requests (default 200)")
    parser.add_argument("--taps", type=int, default=60, help="taps, each on its own order (default 60)")
    parser.add_argument("--floor", type=int, default=1000, help="requests to the empty handler (default 1000)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of after-work counted (default 1)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the server's batches into DIR")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    costs = await run(args.orders, args.taps, args.floor, args.settle, args.profile)
    print(f"server CPU per request, one client at a time, SQLite, oms serve in its own process; {support.load_line()}")
    print(HEADER)
    for cost in costs:
        print(cost.line())
    for name in ("order.txt", "tap.txt") if args.profile else ():
        print()
        print(support.profile_summary(args.profile / name))


if __name__ == "__main__":
    asyncio.run(main())
