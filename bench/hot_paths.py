"""The hot-paths issue's table, measured: each path, its figure in this run, the aim, and whether it is met.

    python bench/hot_paths.py                      # everything: about 6 minutes on 2 busy cores
    python bench/hot_paths.py --quick              # smaller samples, about half the time
    python bench/hot_paths.py --skip-pg            # SQLite only (no PostgreSQL placement, no --workers run)
    python bench/hot_paths.py --only cpu,console   # some of: placement, console, cpu, workers

Runs the other benchmarks' pieces in this process (each server they start runs in its own):
``place_orders.py`` (services against the plain-SQL floor, statements per order),
``console_roundtrip.py --process`` (50 identities at once against ``oms serve``),
``request_cpu.py`` (the server's CPU per request, one client at a time) and ``serve_workers.py``
(``oms serve --workers 1`` against ``2`` on PostgreSQL). The floors (plain SQL, the empty aiohttp
handler) are measured in the same run and shown in their own rows. The pieces' own tables go to
stderr as they finish; the summary table to stdout. See bench/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import console_roundtrip, place_orders, request_cpu, serve_workers, support  # noqa: E402

PIECES = ("placement", "console", "cpu", "workers")


@dataclass(frozen=True)
class Line:
    """One row of the summary: ``met`` is None for a floor or a figure without an aim."""

    path: str
    measured: str
    aim: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: "-"}[self.met]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


async def placement(args: argparse.Namespace) -> list[Line]:
    """Services ÷ plain-SQL floor at 1 and 8 tasks, and statements per order, per backend."""
    options = argparse.Namespace(
        orders=args.orders, seconds=args.seconds, concurrency=8, skus=20, pg=support.DEFAULT_PG
    )
    backends: list[tuple[str, list[place_orders.Result]]] = []
    with tempfile.TemporaryDirectory(prefix="oms-bench-") as tmp:
        sqlite, _ = await place_orders.bench_backend("sqlite", support.sqlite_url(Path(tmp)), options)
        backends.append(("SQLite", sqlite))
    lines: list[Line] = []
    if args.skip_pg:
        lines.append(Line("placement on PostgreSQL", "skipped (--skip-pg)", "", None))
    else:
        postgres = await place_orders.bench_postgres(support.DEFAULT_PG, options)
        if isinstance(postgres, str):
            lines.append(Line("placement on PostgreSQL", f"skipped: {postgres}", "", None))
        else:
            backends.append(("PostgreSQL", postgres[0]))
    for name, results in backends:
        say(f"placement, {name}:")
        for result in results:
            say(f"  {result.path:<8} x{result.tasks}: {result.rate:6.0f} orders/s, {result.statements:.1f} stmts/order")
        by = {(r.path, r.tasks): r for r in results}
        for tasks in (1, 8):
            service, floor = by[("service", tasks)], by[("floor", tasks)]
            ratio = service.rate / floor.rate
            lines.append(
                Line(
                    f"placement, services ÷ plain-SQL floor, {name}, {tasks} task{'s' if tasks > 1 else ''}",
                    f"{ratio:.2f} ({service.rate:.1f} ÷ {floor.rate:.1f} orders/s)",
                    "≥ 0.5",
                    ratio >= 0.5,
                )
            )
        statements = max(by[("service", t)].statements for t in (1, 8))
        lines.append(
            Line(
                f"statements per placed order, {name}",
                f"{statements:.1f} (floor {by[('floor', 1)].statements:.1f})",
                "≤ 10",
                statements <= 10,
            )
        )
    return lines


async def console(args: argparse.Namespace) -> list[Line]:
    """50 identities at once against ``oms serve`` in its own process: `/order`, first and repeat taps."""
    merged, elapsed = await console_roundtrip.run(args.identities, args.rounds, process=True)
    say(f"console, {args.identities} identities x {args.rounds} rounds, oms serve in its own process, {elapsed:.1f} s")
    say(support.HEADER)
    for key, name in console_roundtrip.PATHS.items():
        say(support.row(name, merged[key]))
    n = args.identities

    def figure(key: str) -> str:
        samples = merged[key]
        return f"p99 {ms(support.pct(samples, 99))} (p50 {ms(support.median(samples))}, {len(samples)} requests)"

    def within(key: str, limit: float) -> bool:
        return support.pct(merged[key], 99) <= limit

    return [
        Line(f"empty aiohttp handler at {n} identities (floor)", figure("empty"), "", None),
        Line(
            f"`/order` at {n} identities, one server process, SQLite",
            figure("order"),
            "p99 ≤ 100 ms",
            within("order", 0.1),
        ),
        Line(
            f"tap Approve (a real transition) at {n} identities",
            figure("tap (first)"),
            "p99 ≤ 250 ms",
            within("tap (first)", 0.25),
        ),
        Line(f"tap again (already done) at {n} identities", figure("tap (repeat)"), "", None),
    ]


async def cpu(args: argparse.Namespace) -> list[Line]:
    """The server process's CPU per request, one client at a time."""
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    costs = await request_cpu.run(args.cpu_orders, args.cpu_taps, args.cpu_floor, profiles=args.profile)
    say("server CPU per request, one client at a time (SQLite, oms serve in its own process):")
    say(request_cpu.HEADER)
    for cost in costs:
        say(cost.line())
    for name in ("order.txt", "tap.txt") if args.profile else ():
        say(support.profile_summary(args.profile / name))
    floor, order, tap = costs

    def figure(cost: request_cpu.Cost) -> str:
        wall = ms(support.median(cost.latencies))
        return (
            f"{cost.cpu_after_ms:.2f} ms CPU ({cost.cpu_ms:.2f} in the request; wall p50 {wall}, {cost.count} requests)"
        )

    return [
        Line("CPU per request, one client: empty aiohttp handler (floor)", figure(floor), "", None),
        Line("CPU per request, one client: `/order`", figure(order), "≤ 2 ms", order.cpu_after_ms <= 2),
        Line("CPU per request, one client: a tap (a real transition)", figure(tap), "≤ 8 ms", tap.cpu_after_ms <= 8),
    ]


async def workers(args: argparse.Namespace) -> list[Line]:
    """``oms serve --workers 2`` against 1 on PostgreSQL: requests per second, as a multiple."""
    if args.skip_pg:
        return [Line("`oms serve --workers 2` on PostgreSQL", "skipped (--skip-pg)", "", None)]
    runs = {n: await serve_workers.one_run(n, args.requests, 20, args.workers_seconds) for n in (1, 2)}
    cores = os.cpu_count()
    lines = []
    say(
        f"oms serve --workers N on PostgreSQL, {args.requests} requests per path"
        f" (or ~{args.workers_seconds:.0f} s), 20 clients:"
    )
    for path in serve_workers.PATHS:
        rates = {n: len(runs[n][path][1]) / runs[n][path][0] for n in runs}
        busy = runs[2][path][3]
        for n in runs:
            latencies = runs[n][path][1]
            say(
                f"  {path:<20} workers {n}: {rates[n]:6.1f} req/s, p99 {ms(support.pct(latencies, 99))};"
                f" CPU of the machine: {support.shares_line(runs[n][path][4])}"
            )
        ratio = rates[2] / rates[1]
        hot_row = path == serve_workers.ONE_SKU  # one stock row: the orders take turns, by design
        lines.append(
            Line(
                f"`{path}` throughput, oms serve --workers 2 ÷ 1, PostgreSQL" + (", one SKU" if hot_row else ""),
                f"{ratio:.2f}× ({rates[1]:.1f} → {rates[2]:.1f} req/s; {cores} cores, {busy:.0%} busy at N = 2)",
                "" if hot_row else "≥ 1.7× at N = 2 on 2 cores",
                None if hot_row else ratio >= 1.7,
            )
        )
    return lines


def print_table(lines: list[Line], header: str) -> None:
    cells = [("path", "measured", "aim")] + [(line.path, line.measured, line.aim) for line in lines]
    widths = [max(len(cell) for cell in column) for column in zip(*cells, strict=True)]
    print(header)
    print(f"| {'path':<{widths[0]}} | {'measured':<{widths[1]}} | {'aim':<{widths[2]}} | met? |")
    print(f"| {'-' * widths[0]} | {'-' * widths[1]} | {'-' * widths[2]} | ---- |")
    for line in lines:
        print(
            f"| {line.path:<{widths[0]}} | {line.measured:<{widths[1]}} | {line.aim:<{widths[2]}} | {line.verdict:<4} |"
        )
    missed = [line.path for line in lines if line.met is False]
    print()
    print("aims not met: " + ("; ".join(missed) if missed else "none"))


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "core", "bot", "integrations"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() + (" (product code changed since)" if dirty.stdout.strip() else "")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (noisier), about half the time")
    parser.add_argument("--skip-pg", action="store_true", help="no PostgreSQL: SQLite placement, console and CPU only")
    parser.add_argument(
        "--only", default=",".join(PIECES), help=f"comma-separated pieces to run, of {', '.join(PIECES)}"
    )
    parser.add_argument("--skip", default="", help="comma-separated pieces to leave out")
    parser.add_argument("--identities", type=int, default=50, help="concurrent console identities (default 50)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the server during the CPU batches into DIR (order.txt, tap.txt)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.orders, args.seconds = (300, 3.0) if quick else (1000, 5.0)  # placement: per path, whichever first
    args.rounds = 3 if quick else 5  # console: rounds per identity (the first tap is the transition)
    args.cpu_orders, args.cpu_taps, args.cpu_floor = (60, 20, 300) if quick else (150, 100, 1000)
    args.requests = 100 if quick else 300  # workers: requests per path and worker count,
    args.workers_seconds = 8.0 if quick else 15.0  # or what is answered in this time
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    skipped = {p.strip() for p in args.skip.split(",") if p.strip()}
    if unknown := (set(chosen) | skipped) - set(PIECES):
        parser.error(f"unknown pieces: {', '.join(sorted(unknown))} (choose from {', '.join(PIECES)})")
    args.pieces = [p for p in PIECES if p in chosen and p not in skipped]
    return args


async def main(args: argparse.Namespace) -> int:
    started = datetime.datetime.now(datetime.UTC)
    began = time.perf_counter()
    runners = {"placement": placement, "console": console, "cpu": cpu, "workers": workers}
    lines: list[Line] = []
    for piece in args.pieces:
        say(f"--- {piece} ({time.perf_counter() - began:.0f} s in)")
        lines += await runners[piece](args)
    header = (
        f"hot paths, {started:%Y-%m-%d %H:%M} UTC, commit {commit()}, {'quick, ' if args.quick else ''}"
        f"{time.perf_counter() - began:.0f} s; {support.load_line()} at the end"
    )
    print_table(lines, header)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
