"""``oms serve --workers 2`` on one port and one PostgreSQL database, as an operator starts it:
orders and taps land on both processes (the ``X-OMS-Worker`` header says which answered), every
timer fires once, every webhook (an outbox row) is sent once, a console stream and a dashboard
stream held open on one process hear about a change made through the other; and SQLite is refused
with the reason."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from integrations.cli.demo import DEMO_DATA
from integrations.cli.workers import HEADER
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.cli import OMS
from tests.support.postgres import new_pg_database
from tests.support.waiting import until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    return {**env, "OMS_DATABASE_URL": url, **extra}


def oms_on(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([OMS, *args], capture_output=True, text=True, env=env_for(url), timeout=60, cwd=cwd)
    assert result.returncode == 0, f"oms {' '.join(args)} failed: {result.stderr}"
    return result


class Worker:
    """One keep-alive connection that landed on a given worker: what it sends, that worker answers."""

    def __init__(self, session: aiohttp.ClientSession, base: str, index: str) -> None:
        self.session, self.base, self.index = session, base, index

    async def post(self, path: str, body: dict) -> dict:
        async with self.session.post(self.base + path, json=body) as response:
            assert response.status == 200, await response.text()
            assert response.headers[HEADER] == self.index  # the same connection, the same process
            return await response.json()

    async def say(self, user: str, text: str) -> list[str]:
        answer = await self.post("/console/api/messages", {"user": user, "text": text})
        return [r["text"] for r in answer["replies"] if r["text"]]


async def on_worker(base: str, index: str, timeout: float = 30.0) -> Worker:
    """Open connections until one is accepted by worker ``index`` (the kernel picks per connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        try:
            async with session.get(base + "/healthz") as response:
                assert response.status == 200
                if response.headers[HEADER] == index:
                    return Worker(session, base, index)
        except aiohttp.ClientConnectionError:  # no worker listening this instant (one restarting)
            await asyncio.sleep(0.05)
        await session.close()
    raise AssertionError(f"no connection reached worker {index}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_pg_template(tmp_path_factory) -> AsyncIterator[str]:
    """A PostgreSQL database after ``oms db upgrade`` and ``oms load`` of the demo data, made by those
    commands once per module and worker instead of once per test (two subprocesses, 2-4 s); each
    test serves a copy of its own (``CREATE DATABASE … TEMPLATE``, a fraction of a second)."""
    async with new_pg_database() as url:
        cwd = tmp_path_factory.mktemp("pg-template")
        oms_on(url, "db", "upgrade", cwd=cwd)
        oms_on(url, "load", str(DEMO_DATA), cwd=cwd)
        yield make_url(url).database


@pytest.fixture
async def demo_pg_url(demo_pg_template: str) -> AsyncIterator[str]:
    """A copy of ``demo_pg_template`` for one test, dropped afterwards."""
    async with new_pg_database(template=demo_pg_template) as url:
        yield url


@pytest.fixture
async def served(demo_pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str, WebhookReceiver, Path]]:
    pg_url = demo_pg_url  # after `oms db upgrade` and `oms load` of the demo data
    receiver = await WebhookReceiver().start()
    added = oms_on(
        pg_url,
        "webhook",
        "add",
        receiver.url,
        "--name",
        "erp",
        "--events",
        "order.received,approval.requested",
        cwd=tmp_path,
    ).stdout
    receiver.secret = re.search(r"signing secret: (whsec_\S+)", added).group(1)
    port, log = free_port(), tmp_path / "serve.log"
    env = env_for(pg_url, OMS_PORT=str(port), OMS_CONSOLE_MODE="open")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [OMS, "serve", "--workers", "2"], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        if server.poll() is not None:
            return True
        try:
            async with aiohttp.ClientSession() as s, s.get(base + "/healthz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await until(healthy, timeout=60)
        assert server.poll() is None, log.read_text()
        for index in ("1", "2"):  # both listening (one may boot later than the other)
            await (await on_worker(base, index, timeout=60)).session.close()
        yield base, pg_url, receiver, log
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            status = None
        await receiver.stop()
    assert status == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


async def sql(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


@pytest.mark.pg
async def test_two_workers_share_the_work_and_each_thing_happens_once(served):
    base, url, receiver, _log = served
    one, two = await on_worker(base, "1"), await on_worker(base, "2")
    try:
        # Orders above the approval threshold from both processes: each asks 王芳 to approve.
        placed = []
        for i in range(6):
            worker = (one, two)[i % 2]
            [reply, *_] = await worker.say("lilei", "/neworder C002 TEA-001*45")
            placed.append(re.search(r"SO-\d+", reply).group(0))
        assert len(set(placed)) == 6
        cards: dict[str, dict] = {}

        async def approval_cards() -> bool:
            async with one.session.get(base + "/console/api/inbox", params={"user": "wangfang"}) as r:
                entries = (await r.json())["entries"]
            for e in entries:
                if e["card"] and e["card"]["buttons"] and (found := re.search(r"SO-\d+", e["card"]["title"])):
                    cards[found.group(0)] = e["card"]
            return set(placed) <= set(cards)

        await until(approval_cards, timeout=30)
        # Taps on both processes: the first three orders approved, half through each worker, and a
        # second tap on each of them through the other worker changes nothing.
        for i, no in enumerate(placed[:3]):
            card = cards[no]
            [action] = [b["action"] for b in card["buttons"] if b["label"] == "Approve"]
            tap = {"user": "wangfang", "card_id": card["card_id"], "action": action}
            first, again = ((one, two), (two, one))[i % 2]
            replies = [r["text"] for r in (await first.post("/console/api/actions", tap))["replies"]]
            assert replies == [f"Approved {no}."]
            await again.post("/console/api/actions", tap)
        confirmed = await sql(
            url,
            "select entity_key, count(*) from audit_record where entity = 'order' and to_state = 'confirmed' "
            "group by entity_key",
        )
        assert {r[0]: r[1] for r in confirmed if r[0] in placed} == dict.fromkeys(placed[:3], 1)

        # The three waiting orders' reminders fall due now: both processes tick, each fires once.
        waiting = await sql(url, "select id, key from timer where status = 'pending' and kind = 'approval.remind'")
        assert waiting, await sql(url, "select kind, key, status from timer")
        await sql(
            url,
            "update timer set due_at = now() - interval '1 second' where id = any($1::int[])",
            [r["id"] for r in waiting],
        )

        async def fired() -> list:
            rows = await sql(
                url, "select status, attempts from timer where id = any($1::int[])", [r["id"] for r in waiting]
            )
            return rows if all(r["status"] == "done" for r in rows) else []

        assert {tuple(r) for r in await until(fired, timeout=30)} == {("done", 1)}

        async def reminders() -> list[str]:
            async with one.session.get(base + "/console/api/inbox", params={"user": "wangfang"}) as r:
                return [
                    e["text"] for e in (await r.json())["entries"] if e["text"] and e["text"].startswith("Reminder")
                ]

        async def three_reminders() -> list[str]:
            texts = await reminders()
            return texts if len(texts) >= 3 else []

        texts = await until(three_reminders, timeout=30)
        assert sorted(texts) == sorted(f"Reminder: {no} still waits for your approval." for no in placed[3:])

        # Every webhook row sent once: 6 order.received and 6 approval.requested, no repeat at the receiver.
        async def all_sent() -> list:
            rows = await sql(url, "select status, attempts from outbox_message where platform = 'webhook'")
            return rows if len(rows) == 12 and all(r["status"] == "sent" for r in rows) else []

        assert {tuple(r) for r in await until(all_sent, timeout=30)} == {("sent", 1)}
        assert len(receiver.accepted) == 12 and receiver.duplicates == 0 and len(receiver.requests) == 12
        kinds = sorted(e["type"] for e in receiver.accepted.values())
        assert kinds == ["approval.requested"] * 6 + ["order.received"] * 6
    finally:
        await one.session.close()
        await two.session.close()


async def _events(response: aiohttp.ClientResponse, wanted: str, found: list[str]) -> None:
    """Read server-sent events until one named ``wanted`` arrives; its data goes into ``found``."""
    name = None
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name == wanted:
            found.append(line.removeprefix("data: "))
            if wanted != "entry" or "SO-" in found[-1]:
                return


@pytest.mark.pg
async def test_a_stream_on_one_worker_hears_a_change_made_through_the_other(served):
    base, _url, _receiver, _log = served
    one, two = await on_worker(base, "1"), await on_worker(base, "2")
    watcher = await on_worker(base, "1")  # streams get their own connections, as browsers open them
    dashboard = await on_worker(base, "1")
    try:
        async with one.session.get(base + "/console/api/inbox", params={"user": "wangfang"}) as r:
            after = (await r.json())["last_id"]
        stream = await watcher.session.get(base + "/console/api/stream", params={"user": "wangfang", "after": after})
        board = await dashboard.session.get(base + "/console/api/dashboard/stream", params={"user": "zhaojl"})
        assert stream.headers[HEADER] == board.headers[HEADER] == "1"
        ready: list[str] = []
        await asyncio.wait_for(_events(board, "ready", ready), 10)

        [reply, *_] = await two.say("lilei", "/neworder C002 TEA-001*45")  # through worker 2
        no = re.search(r"SO-\d+", reply).group(0)
        entries: list[str] = []
        changed: list[str] = []
        # The dashboard's stream waits on no timer of its own (it pings every 15 s): only worker
        # 2's notice can wake it on worker 1 this quickly.
        await asyncio.wait_for(
            asyncio.gather(_events(stream, "entry", entries), _events(board, "changed", changed)), 10
        )
        assert no in entries[-1]  # 王芳's approval card, written by worker 2, streamed by worker 1
        assert changed == ["{}"]
        stream.close()
        board.close()
    finally:
        for worker in (one, two, watcher, dashboard):
            await worker.session.close()


def test_more_than_one_worker_on_sqlite_is_refused_with_the_reason(tmp_path: Path):
    db = tmp_path / "one.db"
    oms_on(f"sqlite+aiosqlite:///{db}", "db", "upgrade", cwd=tmp_path)
    result = subprocess.run(
        [OMS, "serve", "--workers", "2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env_for(f"sqlite+aiosqlite:///{db}"),
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: --workers 2 needs PostgreSQL: SQLite has one writer"), line
    assert result.stdout == ""  # refused before anything was started


def test_serve_help_explains_workers():
    result = subprocess.run([OMS, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--workers" in result.stdout and "needs PostgreSQL" in result.stdout


@pytest.mark.pg
async def test_a_worker_that_dies_is_started_again_while_the_other_serves(served):
    base, _url, _receiver, log = served
    pids = await until(lambda: re.search(r"workers: 2 processes \((\d+), (\d+)\)", log.read_text()), timeout=10)
    os.kill(int(pids.group(1)), signal.SIGKILL)  # worker 1, mid-flight, no chance to clean up
    two = await on_worker(base, "2")
    try:
        assert await two.say("lilei", "/whoami")  # the port still answers meanwhile
        await until(lambda: "worker 1 started again" in log.read_text(), timeout=15)
        again = await on_worker(base, "1")  # booted and accepting on the same port
        await again.session.close()
    finally:
        await two.session.close()
