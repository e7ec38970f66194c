"""The REST API at N concurrent clients: `GET /orders/{no}` and `POST /orders`, beside an empty handler.

    python bench/api_orders.py [--clients 50] [--rounds 10]

Starts the real server (the API mounted, SQLite in a temp folder, the demo master data with deep
stock) on a loopback port, and a second, empty aiohttp app in the same process as the floor. Every
client sends, in turn, one request to the empty handler, one `GET /orders/{no}` and one
`POST /orders` with an Idempotency-Key (as an ERP would) and one without, all clients at once. Prints count,
p50, p99 and max in milliseconds per path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from aiohttp import ClientSession, TCPConnector
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import support  # noqa: E402
from core.apikeys import SCOPES, create_key  # noqa: E402
from core.auth import Actor  # noqa: E402
from core.customers.models import Customer  # noqa: E402
from core.masterdata.loader import load_master_data  # noqa: E402
from core.masterdata.schema import parse_document  # noqa: E402
from integrations.api import mount as api  # noqa: E402
from integrations.cli.demo import DEMO_DATA  # noqa: E402
from integrations.web.app import build_app  # noqa: E402
from tests.conftest import make_services, sqlite_settings  # noqa: E402

ORDER = {"customer": "C001", "lines": [{"sku": "TEA-001", "qty": 1}], "payment_terms": "credit"}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    n = args.clients

    folder = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    services = await make_services(sqlite_settings(folder / "bench.db"))
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(DEMO_DATA.read_text(encoding="utf-8")))
        deep = parse_document("stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 1000000}\n")
        await load_master_data(ctx, deep, set_stock=True)  # the demo opened the row; a load only opens balances
        _info, token = await create_key(ctx, "bench", list(SCOPES))
    # The customer's credit must not run out during the run.
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        limit = update(Customer).where(Customer.code == "C001").values(credit_limit=Decimal("1000000000.00"))
        await ctx.session.execute(limit)

    app, enabled = build_app(services, [api])
    assert enabled == ["api"]
    runner, port = await support.serve(app)
    empty_runner, empty_port = await support.serve(support.empty_app())
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}

    async with ClientSession(connector=TCPConnector(limit=n * 2), headers=headers) as http:

        async def timed(method: str, url: str, expect: int, **kwargs: object) -> tuple[float, dict]:
            start = time.perf_counter()
            async with http.request(method, url, **kwargs) as response:
                data = await response.json()
                assert response.status == expect, data
            return time.perf_counter() - start, data

        # One order per client to read back.
        placed = await asyncio.gather(*(timed("POST", f"{base}/orders", 201, json=ORDER) for _ in range(n)))
        order_nos = [data["order_no"] for _, data in placed]

        async def client(i: int) -> dict[str, list[float]]:
            times: dict[str, list[float]] = {"empty": [], "get": [], "post": [], "plain": []}
            for r in range(args.rounds):
                times["empty"].append((await timed("GET", f"http://127.0.0.1:{empty_port}/", 200))[0])
                no = order_nos[(i + r) % n]
                times["get"].append((await timed("GET", f"{base}/orders/{no}", 200))[0])
                key = {"Idempotency-Key": f"bench-{i}-{r}"}
                times["post"].append((await timed("POST", f"{base}/orders", 201, json=ORDER, headers=key))[0])
                times["plain"].append((await timed("POST", f"{base}/orders", 201, json=ORDER))[0])
            return times

        started = time.perf_counter()
        results = await asyncio.gather(*(client(i) for i in range(n)))
        elapsed = time.perf_counter() - started

    await runner.cleanup()
    await empty_runner.cleanup()
    merged = support.merge(results)
    print(f"{n} clients x {args.rounds} rounds, SQLite, {elapsed:.1f} s wall")
    print(support.HEADER)
    print(support.row("empty aiohttp handler", merged["empty"]))
    print(support.row("GET /orders/{no}", merged["get"]))
    print(support.row("POST /orders (idempotent)", merged["post"]))
    print(support.row("POST /orders (no key)", merged["plain"]))


if __name__ == "__main__":
    asyncio.run(main())
