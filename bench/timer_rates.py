"""Durable timers: how fast they are created, beside APScheduler 3's own SQLAlchemy job store,
and how late the last of 5,000 timers due at once fires.

    python bench/timer_rates.py [--timers 100000] [--sample 3000] [--due 5000]

SQLite in a temp folder for both. Our timers are created in bulk (many per unit of work, as an
import would) and one per unit of work (as an order placement does); APScheduler's add_job is
timed on a sample and its rate extrapolated when the full count would take too long.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.auth import Actor  # noqa: E402
from core.timers.service import run_due, schedule, schedule_many  # noqa: E402
from tests.conftest import make_services, sqlite_settings  # noqa: E402

SYSTEM = Actor.system("bench")


def noop() -> None:
    """APScheduler's job target."""


async def ours_bulk(services: Any, count: int, batch: int = 1000) -> float:
    start = time.perf_counter()
    later = datetime.now(UTC) + timedelta(days=30)
    for first in range(0, count, batch):
        async with services.unit_of_work(SYSTEM) as ctx:
            await schedule_many(
                ctx, [("bench.noop", f"bulk:{n}", later, {"n": n}) for n in range(first, min(first + batch, count))]
            )
    return count / (time.perf_counter() - start)


async def ours_single(services: Any, count: int) -> float:
    start = time.perf_counter()
    later = datetime.now(UTC) + timedelta(days=30)
    for n in range(count):
        async with services.unit_of_work(SYSTEM) as ctx:
            await schedule(ctx, "bench.noop", f"single:{n}", later, n=n)
    return count / (time.perf_counter() - start)


def apscheduler_rate(folder: Path, count: int, budget: float) -> tuple[float, int]:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{folder}/aps.db")})
    scheduler.start(paused=True)
    later = datetime.now(UTC) + timedelta(days=30)
    start = time.perf_counter()
    added = 0
    while added < count and time.perf_counter() - start < budget:
        scheduler.add_job(noop, "date", run_date=later, id=f"j{added}")
        added += 1
    rate = added / (time.perf_counter() - start)
    scheduler.shutdown(wait=False)
    return rate, added


async def lateness(services: Any, due: int) -> list[float]:
    fired: list[float] = []

    async def mark(ctx: Any, payload: dict[str, Any]) -> None:
        fired.append(time.time())

    due_at = datetime.now(UTC) + timedelta(seconds=3)
    async with services.unit_of_work(SYSTEM) as ctx:
        await schedule_many(ctx, [("bench.mark", f"due:{n}", due_at, {"n": n}) for n in range(due)])
    t0 = due_at.timestamp()
    while time.time() < t0:
        await asyncio.sleep(0.05)
    while len(fired) < due:
        await run_due(services, {"bench.mark": mark}, limit=500)
        await asyncio.sleep(0.2)  # the server ticks every second; 0.2 s keeps up with a burst
    return [t - t0 for t in fired]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=3_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--aps-seconds", type=float, default=20.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="oms-timers-"))
    services = await make_services(sqlite_settings(folder / "timers.db"))
    try:
        bulk = await ours_bulk(services, args.timers)
        single = await ours_single(services, args.sample)
        aps, measured = apscheduler_rate(folder, args.timers, args.aps_seconds)
        late = sorted(await lateness(services, args.due))
    finally:
        await services.close()
    note = "" if measured >= args.timers else f" (timed on {measured:,} jobs, extrapolated)"
    print(f"creating timers on SQLite ({args.timers:,} of ours in bulk)")
    print(f"  ours, bulk (one INSERT per 1,000)     {bulk:10,.0f} /s   {bulk / aps:6.1f} x APScheduler")
    print(f"  ours, one per unit of work            {single:10,.0f} /s   {single / aps:6.1f} x APScheduler")
    print(f"  APScheduler 3 SQLAlchemyJobStore       {aps:10,.0f} /s{note}")
    print(f"  time for {args.timers:,}: ours {args.timers / bulk:.1f} s, APScheduler {args.timers / aps:.1f} s")
    p99 = late[int(0.99 * (len(late) - 1))]
    print(
        f"{args.due:,} timers due at once (among {args.timers + args.sample:,}): lateness "
        f"p50 {statistics.median(late):.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
