"""``oms serve --workers N``: N server processes on one port, kept running by a small supervisor.

The supervisor forks N workers that each listen on the port with ``SO_REUSEPORT``: the kernel
hands each new connection to one of them, spread evenly (a socket shared by all would let whichever
worker woke first take a whole burst of connections). Each worker is a whole server: the console,
the chat adapters, the outbox, event delivery and the timers, each of which already claims its
rows in the database (timers and outbox rows with leases, events with a conditional UPDATE,
inbound events by their unique key), so N of them do each thing once. Live console and dashboard
streams are woken across processes by ``integrations.web.changes`` (PostgreSQL ``LISTEN/NOTIFY``).

A worker that exits on its own is started again (after a second, longer if it keeps dying at once);
while it is down the others take every new connection. SIGTERM or SIGINT to the supervisor stops
every worker gracefully (SIGTERM each, its sends in flight finish) and then the supervisor. Workers
run in their own process group, so a Ctrl-C in the terminal reaches them once, through the
supervisor; a worker whose supervisor vanished (``kill -9``) stops by itself.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from core.config import Settings
from core.db.engine import normalise_url

STOP_SECONDS = 30.0  # how long workers get to finish on shutdown before they are killed
QUICK_EXIT_SECONDS = 10.0  # a worker that died sooner than this after starting backs off longer
MAX_RESTART_DELAY = 30.0
HEADER = "X-OMS-Worker"  # which worker answered (1..N): for operators and the tests


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot serve these settings, in one line (None: they can)."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if not normalise_url(settings.database_url).startswith("postgresql"):
        return (
            f"--workers {workers} needs PostgreSQL: SQLite has one writer, so a second process would only "
            "wait on its lock; serve with --workers 1, or set OMS_DATABASE_URL to a PostgreSQL database"
        )
    if settings.telegram_bot_token:
        from integrations.telegram.adapter import resolve_mode

        if resolve_mode(settings) == "polling":
            return (
                f"--workers {workers} with Telegram in polling mode: Telegram allows one getUpdates poller per bot; "
                "use webhook mode (OMS_TELEGRAM_WEBHOOK_SECRET) or --workers 1"
            )
    return None


def run_worker(settings: Settings, host: str, port: int, index: int, supervisor: int) -> None:
    """One worker: the whole server, listening on the shared port."""
    from aiohttp import web

    from integrations.bootstrap import bootstrap

    os.setpgid(0, 0)  # a terminal's Ctrl-C goes to the supervisor, which stops us once
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _stop_when_orphaned(supervisor)
    app, _enabled = bootstrap(settings)

    async def name_worker(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers[HEADER] = str(index)

    app.on_response_prepare.append(name_worker)
    web.run_app(app, host=host, port=port, reuse_port=True, print=None, shutdown_timeout=5)


def _stop_when_orphaned(supervisor: int) -> None:
    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def supervise(settings: Settings, host: str, port: int, workers: int, say: Callable[[str], Any] = print) -> int:
    """Run ``workers`` workers until SIGTERM or SIGINT; returns the exit status (0)."""
    forking = multiprocessing.get_context("fork")
    stopping = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    me = os.getpid()

    def start(index: int) -> Any:
        process = forking.Process(
            target=run_worker, args=(settings, host, port, index, me), name=f"oms-worker-{index}", daemon=False
        )
        process.start()
        return process

    running = {index: start(index) for index in range(1, workers + 1)}
    started = {index: time.monotonic() for index in running}
    delays = dict.fromkeys(running, 1.0)
    restart_at: dict[int, float] = {}
    say(f"workers: {workers} processes ({', '.join(str(p.pid) for p in running.values())})")
    while not stopping.is_set():
        alive = [p.sentinel for i, p in running.items() if i not in restart_at]
        multiprocessing.connection.wait(alive, timeout=0.5)
        now = time.monotonic()
        for index, process in running.items():
            if index in restart_at or process.exitcode is None or stopping.is_set():
                continue
            quick = now - started[index] < QUICK_EXIT_SECONDS
            delays[index] = min(delays[index] * 2, MAX_RESTART_DELAY) if quick else 1.0
            restart_at[index] = now + delays[index]
            say(
                f"worker {index} (pid {process.pid}) exited with status {process.exitcode}; "
                f"starting it again in {delays[index]:.0f} s"
            )
        for index, at in list(restart_at.items()):
            if now >= at and not stopping.is_set():
                running[index] = start(index)
                started[index] = time.monotonic()
                del restart_at[index]
                say(f"worker {index} started again (pid {running[index].pid})")
    for process in running.values():
        if process.exitcode is None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in running.values():
        process.join(max(0.0, deadline - time.monotonic()))
    for process in running.values():
        if process.exitcode is None:
            say(f"worker pid {process.pid} did not stop in {STOP_SECONDS:.0f} s; killed")
            process.kill()
            process.join()
    return 0
