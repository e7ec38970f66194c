"""What the benchmarks share: percentiles and table rows, servers (in this process or one of their
own), an empty aiohttp floor, databases with the demo data and N console identities, CPU readings.

Kept apart from the scripts so each one says only what it measures.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.auth import Actor  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.migrate import upgrade  # noqa: E402
from core.masterdata.loader import load_master_data  # noqa: E402
from core.masterdata.schema import parse_document  # noqa: E402
from core.services import Services  # noqa: E402
from integrations.cli.demo import DEMO_DATA  # noqa: E402

OMS = str(Path(sys.executable).parent / "oms")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
HEADER = f"{'path':<28} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"


# --- figures ---------------------------------------------------------------------------------------


def pct(samples: Iterable[float], p: float) -> float:
    """The ``p``-th percentile by nearest rank on the sorted samples (p99 of 50 samples is the largest)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def median(samples: Iterable[float]) -> float:
    return statistics.median(list(samples))


def row(name: str, samples: list[float], width: int = 28) -> str:
    """One table line: count, p50, p99, max in milliseconds, of latencies given in seconds."""
    ms = [s * 1000 for s in samples]
    return f"{name:<{width}} {len(ms):>6} {statistics.median(ms):>8.1f} {pct(ms, 99):>8.1f} {max(ms):>8.1f}"


def merge(results: Iterable[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per-client sample lists, joined per key."""
    merged: dict[str, list[float]] = {}
    for result in results:
        for key, values in result.items():
            merged.setdefault(key, []).extend(values)
    return merged


def load_line() -> str:
    return f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


# --- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    """``app`` on a free loopback port in this process's loop: (runner to clean up, port)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def empty_app() -> web.Application:
    """The floor: a handler that does nothing but answer, on GET and POST ``/``."""

    async def nothing(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", nothing)
    app.router.add_post("/", nothing)
    return app


# The floor's own process runs only this: aiohttp and a handler, none of the product's imports.
FLOOR = """
import sys
from aiohttp import web

async def nothing(_):
    return web.json_response({"ok": True})

app = web.Application()
app.router.add_get("/", nothing)
app.router.add_post("/", nothing)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def wait_listening(url: str, seconds: float = 60) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"nothing answers at {url}")


def oms_env(database_url: str, **extra: str) -> dict[str, str]:
    """This environment without anyone's OMS_ settings, pointed at ``database_url``, console open."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(OMS_DATABASE_URL=database_url, OMS_CONSOLE_MODE="open", **extra)
    return env


def oms(env: dict[str, str], *args: str) -> None:
    """One ``oms`` command, failing loudly with its output."""
    done = subprocess.run([OMS, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"oms {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class ServerProcess:
    """``oms serve`` running on its own: where it listens, and how much CPU it has used."""

    process: subprocess.Popen
    base: str

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def start_oms_serve(env: dict[str, str], workers: int = 1) -> ServerProcess:
    """The real ``oms serve`` (every adapter, outbox, event delivery, timers) on a free loopback port."""
    port = free_port()
    command = [OMS, "serve", "--workers", str(workers)]
    return await _started(command, {**env, "OMS_PORT": str(port)}, f"http://127.0.0.1:{port}", "/healthz")


async def start_floor() -> ServerProcess:
    """The empty handler (``FLOOR``) in a process of its own, answering GET and POST ``/``."""
    port = free_port()
    return await _started([sys.executable, "-c", FLOOR, str(port)], None, f"http://127.0.0.1:{port}", "/")


async def _started(command: list[str], env: dict[str, str] | None, base: str, probe: str) -> ServerProcess:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ServerProcess(process, base)
    try:
        await wait_listening(base + probe)
    except BaseException:
        server.stop()
        raise
    return server


# --- databases -------------------------------------------------------------------------------------


def identities_document(n: int, *, stock: int = 100_000, deep: tuple[str, ...] = ("TEA-001",)) -> str:
    """Master data for ``n`` console identities ``b0`` … (salespeople and approvers) and deep stock of
    the ``deep`` SKUs in Shanghai."""
    users = "".join(
        f"  - {{name: bench{i}, roles: [sales, approver], identities: {{console: b{i}}}}}\n" for i in range(n)
    )
    levels = "".join(f"  - {{sku: {sku}, warehouse: SH, on_hand: {stock}}}\n" for sku in deep)
    return (f"users:\n{users}" if n else "") + f"stock:\n{levels}"


async def seed_console(services: Services, n: int, deep: tuple[str, ...] = ("TEA-001",)) -> None:
    """The demo master data and ``n`` identities, through the services (a schema made in-process)."""
    async with services.unit_of_work(Actor.system("bench")) as ctx:
        await load_master_data(ctx, parse_document(DEMO_DATA.read_text(encoding="utf-8")))
        # set_stock: the demo has already opened these SKUs' rows, and a load only opens a balance
        await load_master_data(ctx, parse_document(identities_document(n, deep=deep)), set_stock=True)


async def prepare(database_url: str, identities: int, deep: tuple[str, ...] = ("TEA-001",)) -> None:
    """A database ``oms serve`` accepts: the schema by the migrations (what it checks), the demo data and
    ``identities`` console identities, deep stock of the ``deep`` SKUs; in this process, which is
    quicker than three ``oms`` commands."""
    services = Services.from_settings(Settings(_env_file=None, database_url=database_url))
    try:
        await upgrade(services.engine)
        await seed_console(services, identities, deep)
    finally:
        await services.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'bench.db'}"


async def pg_database(server: str = DEFAULT_PG) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A fresh database on ``server`` (any driver in the URL) for one run, and how to drop it."""
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(server)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"oms_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()

    async def drop() -> None:
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    return base.set(database=name, drivername="postgresql+asyncpg").render_as_string(hide_password=False), drop


# --- CPU -------------------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid``, all its threads (aiosqlite's too), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        return _cpu_seconds(stat.read().rsplit(")", 1)[1].split())


def _cpu_seconds(fields: list[str]) -> float:
    """utime + stime from /proc/PID/stat's fields after the command (fields 14 and 15 of stat(5))."""
    return (int(fields[11]) + int(fields[12])) / TICKS


OWNERS = ("oms serve", "PostgreSQL", "client", "other")


def cpu_by_process(server_pid: int) -> dict[int, tuple[str, float]]:
    """Every live process's CPU seconds so far, with whose it is: the server (``server_pid`` and
    its children, the workers), PostgreSQL, this client, or another. Two readings around a load
    (``cpu_shares``) say which of them filled the machine."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        command, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        pid, parent = int(entry.name), int(fields[1])
        if server_pid in (pid, parent):
            owner = "oms serve"
        elif command.startswith("postgres"):
            owner = "PostgreSQL"
        else:
            owner = "client" if pid == os.getpid() else "other"
        found[pid] = (owner, _cpu_seconds(fields))
    return found


def cpu_shares(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float
) -> dict[str, float]:
    """Each owner's CPU between two ``cpu_by_process`` readings, as a share of the machine's cores
    over ``seconds`` (a process that ended meanwhile is not counted)."""
    used = dict.fromkeys(OWNERS, 0.0)
    for pid, (owner, cpu) in after.items():
        used[owner] += cpu - before.get(pid, (owner, 0.0))[1]
    cores = os.cpu_count() or 1
    return {owner: value / (seconds * cores) for owner, value in used.items()}


def shares_line(shares: dict[str, float]) -> str:
    return ", ".join(f"{owner} {share:.0%}" for owner, share in shares.items())


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


# --- profiles --------------------------------------------------------------------------------------

PY_SPY = str(Path(sys.executable).parent / "py-spy")
OURS = re.compile(r"\((core|bot|integrations)/")


@contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy sampling process ``pid`` while the block runs, into ``out`` (collapsed stacks), unless None.

    py-spy pauses the process for each sample (so it can tell idle threads from busy ones): that
    adds to the latencies measured meanwhile, hardly to the process's CPU time.
    """
    if out is None:
        yield
        return
    command = [PY_SPY, "record", "--pid", str(pid), "--rate", "250", "--nolineno"]
    spy = subprocess.Popen(
        [*command, "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    time.sleep(1.0)  # attached before the first request
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes the file when interrupted
        _, err = spy.communicate(timeout=60)
        if not out.exists():
            print(f"py-spy wrote no profile ({err.decode(errors='replace').strip()})", file=sys.stderr)


IDLE = ("EpollSelector.select (selectors.py)", "_connection_worker_thread (aiosqlite/core.py)")


def profile_summary(path: Path, top: int = 12) -> str:
    """Where the busy samples in a collapsed-stack file went: by the innermost of our functions on
    the stack (which of our calls the time is spent under, in SQLAlchemy or wherever), and by the
    function the sample was in (anyone's).

    Samples waiting (the event loop in ``select``, aiosqlite's threads waiting for work) are counted
    apart: py-spy cannot tell them idle here. Samples in aiosqlite's threads are SQLite itself.
    """
    ours: Counter[str] = Counter()
    own: Counter[str] = Counter()
    package: Counter[str] = Counter()
    idle = busy = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames, n = [_short(frame) for frame in stack.split(";")], int(count)
        if frames[-1] in IDLE:
            idle += n
            continue
        busy += n
        own[frames[-1]] += n
        package[_package(frames[-1])] += n
        mine = [frame for frame in frames if OURS.search(frame)]
        if any("aiosqlite/core.py" in frame for frame in frames) and not mine:
            ours["(SQLite itself, in aiosqlite's thread)"] += n
        else:
            ours[mine[-1] if mine else "(none of ours: " + frames[-1] + ")"] += n
    if not busy:
        return f"{path.name}: no busy samples ({idle} waiting)"

    def share(counter: Counter[str]) -> list[str]:
        return [f"  {n / busy:6.1%}  {frame}" for frame, n in counter.most_common(top)]

    return "\n".join(
        [
            f"{path.name}: {busy} busy samples ({idle} more waiting, not counted)",
            " by the package the sample was in: "
            + ", ".join(f"{name} {n / busy:.0%}" for name, n in package.most_common(8)),
            " under the innermost of our functions:",
            *share(ours),
            " in the function itself:",
            *share(own),
        ]
    )


def _package(frame: str) -> str:
    """``func (sqlalchemy/orm/session.py)`` → ``sqlalchemy``; the standard library's modules by name."""
    where = frame.rpartition(" (")[2].rstrip(")")
    return where.split("/", 1)[0].removesuffix(".py") if where else "?"


def _short(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py)`` → ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"
