"""Console round trip at N concurrent identities: `/order`, and a tap, beside an empty aiohttp handler.

    python bench/console_roundtrip.py [--identities 50] [--rounds 10]

Starts the real server (console mounted, SQLite in a temp folder) on a loopback port, and a second,
empty aiohttp app in the same process as the floor; every identity sends its requests in turn,
all identities at once. Prints p50 / p99 / max in milliseconds per path.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.auth import Actor  # noqa: E402
from core.masterdata.loader import load_master_data  # noqa: E402
from core.masterdata.schema import parse_document  # noqa: E402
from integrations.cli.demo import DEMO_DATA  # noqa: E402
from integrations.console.api import mount as console  # noqa: E402
from integrations.web.app import build_app  # noqa: E402
from tests.conftest import make_services, sqlite_settings  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<28} {len(ms):>6} {statistics.median(ms):>8.1f} {pct(ms, 99):>8.1f} {max(ms):>8.1f}"


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    n = args.identities

    folder = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    services = await make_services(sqlite_settings(folder / "bench.db", console_mode="open"))
    users = "users:\n" + "".join(
        f"  - {{name: bench{i}, roles: [sales, approver], identities: {{console: b{i}}}}}\n" for i in range(n)
    )
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(DEMO_DATA.read_text(encoding="utf-8")))
        await load_master_data(
            ctx, parse_document(users + "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 100000}\n")
        )

    app, _ = build_app(services, [console])
    runner, port = await serve(app)
    empty = web.Application()

    async def nothing(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    empty.router.add_post("/", nothing)
    empty_runner, empty_port = await serve(empty)
    base = f"http://127.0.0.1:{port}"

    async with ClientSession(connector=TCPConnector(limit=n * 2)) as http:

        async def post(url: str, body: dict) -> tuple[float, dict]:
            start = time.perf_counter()
            async with http.post(url, json=body) as response:
                data = await response.json()
                assert response.status == 200, data
            return time.perf_counter() - start, data

        # One big order per identity: each waits for approval, so each identity has a card to tap.
        orders = await asyncio.gather(
            *(
                post(f"{base}/console/api/messages", {"user": f"b{i}", "text": "/neworder C002 TEA-001*45"})
                for i in range(n)
            )
        )
        order_nos = [data["replies"][0]["text"].split("*")[1] for _, data in orders]
        inbox = (await (await http.get(f"{base}/console/api/inbox", params={"user": "b0"})).json())["entries"]
        cards = {e["card"]["title"].split(": ")[1]: e["card"] for e in inbox if e["card"]}

        async def identity(i: int) -> dict[str, list[float]]:
            times: dict[str, list[float]] = {"empty": [], "order": [], "tap (first)": [], "tap (repeat)": []}
            for r in range(args.rounds):
                times["empty"].append((await post(f"http://127.0.0.1:{empty_port}/", {"user": f"b{i}"}))[0])
                no = order_nos[(i + r) % n]
                times["order"].append(
                    (await post(f"{base}/console/api/messages", {"user": f"b{i}", "text": f"/order {no}"}))[0]
                )
                card = cards[order_nos[i]]
                approve = next(b for b in card["buttons"] if b["label"] == "Approve")
                key = "tap (first)" if r == 0 else "tap (repeat)"
                times[key].append(
                    (
                        await post(
                            f"{base}/console/api/actions",
                            {"user": f"b{i}", "card_id": card["card_id"], "action": approve["action"]},
                        )
                    )[0]
                )
            return times

        started = time.perf_counter()
        results = await asyncio.gather(*(identity(i) for i in range(n)))
        elapsed = time.perf_counter() - started

    await runner.cleanup()
    await empty_runner.cleanup()
    merged: dict[str, list[float]] = {}
    for result in results:
        for key, values in result.items():
            merged.setdefault(key, []).extend(values)
    print(f"{n} identities x {args.rounds} rounds, SQLite, {elapsed:.1f} s wall")
    print(f"{'path':<28} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(row("empty aiohttp handler", merged["empty"]))
    print(row("/order SO-... (console)", merged["order"]))
    print(row("tap Approve (transition)", merged["tap (first)"]))
    print(row("tap again (already done)", merged["tap (repeat)"]))


if __name__ == "__main__":
    asyncio.run(main())
