"""Console round trip at N concurrent identities: `/order`, and a tap, beside an empty aiohttp handler.

    python bench/console_roundtrip.py [--identities 50] [--rounds 10] [--process]

Starts the real server (console mounted, SQLite in a temp folder) on a loopback port, and a second,
empty aiohttp app in the same process as the floor; every identity sends its requests in turn,
all identities at once. With ``--process`` the server is ``oms serve`` in a process of its own (and
the floor in another), so the load generator does not share the server's event loop. Prints
p50 / p99 / max in milliseconds per path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import ClientSession, TCPConnector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import support  # noqa: E402
from integrations.console.api import mount as console  # noqa: E402
from integrations.web.app import build_app  # noqa: E402
from tests.support.databases import make_services, sqlite_settings  # noqa: E402

BIG_ORDER = "/neworder C002 TEA-001*45"  # over the approval threshold: the order waits on an approver's tap
PATHS = {
    "empty": "empty aiohttp handler",
    "order": "/order SO-... (console)",
    "tap (first)": "tap Approve (transition)",
    "tap (repeat)": "tap again (already done)",
}


@asynccontextmanager
async def in_process(n: int) -> AsyncIterator[tuple[str, str]]:
    """The console app and the floor in this loop: (server base URL, floor URL)."""
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    services = await make_services(sqlite_settings(folder / "bench.db", console_mode="open"))
    await support.seed_console(services, n)
    app, _ = build_app(services, [console])
    runner, port = await support.serve(app)
    empty_runner, empty_port = await support.serve(support.empty_app())
    try:
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{empty_port}/"
    finally:
        await runner.cleanup()
        await empty_runner.cleanup()
        await services.close()


@asynccontextmanager
async def own_process(n: int, url: str | None = None) -> AsyncIterator[tuple[str, str]]:
    """``oms serve`` (SQLite in a temp folder unless ``url``) and the floor, each in a process of its own."""
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    env = support.oms_env(url or support.sqlite_url(folder))
    await support.prepare(env["OMS_DATABASE_URL"], n)
    floor = await support.start_floor()
    try:
        server = await support.start_oms_serve(env)
        try:
            yield server.base, floor.base + "/"
        finally:
            server.stop()
    finally:
        floor.stop()


async def place_for_approval(http: ClientSession, base: str, users: list[str]) -> list[tuple[str, dict]]:
    """One order per user that waits for approval, all at once: [(order no, its approval card)]."""

    async def place(user: str) -> str:
        async with http.post(f"{base}/console/api/messages", json={"user": user, "text": BIG_ORDER}) as response:
            data = await response.json()
            assert response.status == 200, data
        return data["replies"][0]["text"].split("*")[1]

    order_nos = await asyncio.gather(*(place(u) for u in users))
    return list(zip(order_nos, await approval_cards(http, base, users[0], order_nos), strict=True))


async def approval_cards(http: ClientSession, base: str, user: str, order_nos: list[str]) -> list[dict]:
    """The approval card of each order, from ``user``'s inbox (waiting while deliveries catch up)."""
    for _ in range(300):
        async with http.get(f"{base}/console/api/inbox", params={"user": user}) as response:
            entries = (await response.json())["entries"]
        cards = {e["card"]["title"].split(": ")[1]: e["card"] for e in entries if e["card"]}
        if all(no in cards for no in order_nos):
            return [cards[no] for no in order_nos]
        await asyncio.sleep(0.1)
    raise SystemExit(f"approval cards missing from {user}'s inbox")


def approve(card: dict) -> str:
    return next(b for b in card["buttons"] if b["label"] == "Approve")["action"]


async def roundtrip(base: str, floor: str, n: int, rounds: int) -> tuple[dict[str, list[float]], float]:
    """The load: (latencies in seconds per path, wall seconds)."""
    async with ClientSession(connector=TCPConnector(limit=n * 2)) as http:

        async def post(url: str, body: dict) -> float:
            start = time.perf_counter()
            async with http.post(url, json=body) as response:
                data = await response.json()
                assert response.status == 200, data
            return time.perf_counter() - start

        placed = await place_for_approval(http, base, [f"b{i}" for i in range(n)])
        order_nos = [no for no, _ in placed]

        async def identity(i: int) -> dict[str, list[float]]:
            times: dict[str, list[float]] = {key: [] for key in PATHS}
            card = placed[i][1]
            tap = {"user": f"b{i}", "card_id": card["card_id"], "action": approve(card)}
            for r in range(rounds):
                times["empty"].append(await post(floor, {"user": f"b{i}"}))
                text = f"/order {order_nos[(i + r) % n]}"
                times["order"].append(await post(f"{base}/console/api/messages", {"user": f"b{i}", "text": text}))
                times["tap (first)" if r == 0 else "tap (repeat)"].append(
                    await post(f"{base}/console/api/actions", tap)
                )
            return times

        started = time.perf_counter()
        results = await asyncio.gather(*(identity(i) for i in range(n)))
        return support.merge(results), time.perf_counter() - started


async def run(n: int, rounds: int, *, process: bool = False) -> tuple[dict[str, list[float]], float]:
    """The whole benchmark: (latencies per path, wall seconds of the load)."""
    servers = own_process(n) if process else in_process(n)
    async with servers as (base, floor):
        return await roundtrip(base, floor, n, rounds)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--process", action="store_true", help="the server as `oms serve` in its own process")
    args = parser.parse_args()
    merged, elapsed = await run(args.identities, args.rounds, process=args.process)
    where = "oms serve in its own process" if args.process else "server in this process"
    print(f"{args.identities} identities x {args.rounds} rounds, SQLite, {where}, {elapsed:.1f} s wall")
    print(support.HEADER)
    for key, name in PATHS.items():
        print(support.row(name, merged[key]))


if __name__ == "__main__":
    asyncio.run(main())
