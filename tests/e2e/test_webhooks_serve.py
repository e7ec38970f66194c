"""``oms serve`` as a subprocess, ``kill -9``'d between an order change and its webhook's delivery:
the change is committed (placed with ``oms order place`` while the server runs), the receiver is
down so the event's delivery is still owed, the server dies without a chance to clean up, and the
restarted server delivers each event once, signed so the official ``standardwebhooks`` verifies it."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.cli import OMS, copy_database, oms
from tests.support.waiting import until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(OMS_DATABASE_URL=f"sqlite+aiosqlite:///{db}", OMS_PORT=str(port))
    with log.open("ab") as out:
        server = subprocess.Popen([OMS, "serve"], env=env, cwd=db.parent, stdout=out, stderr=subprocess.STDOUT)
    return server


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def webhook_rows(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "select status, attempts, recipient from outbox_message where platform = 'webhook' order by id"
        ).fetchall()


async def test_a_kill_9_between_the_change_and_its_delivery_still_delivers(tmp_path: Path, loaded_template: Path):
    db = copy_database(loaded_template, tmp_path / "serve.db")  # after `oms db upgrade` and `oms load`
    hook_port = free_port()  # nothing listens there yet: the receiver is down
    added = oms(
        db, "webhook", "add", f"http://127.0.0.1:{hook_port}/hook", "--name", "erp", "--events", "order.received"
    ).stdout
    secret = re.search(r"signing secret: (whsec_\S+)", added).group(1)
    port, log = free_port(), tmp_path / "serve.log"

    server = start_server(db, port, log)
    receiver = None
    try:
        await until(lambda: healthy(port) or server.poll() is not None, timeout=60)
        assert server.poll() is None, log.read_text()
        placed = oms(db, "order", "place", "C001", "TEA-001*2", "--pay", "credit").stdout
        order_no = re.search(r"SO-\d+", placed).group(0)
        # Committed and fanned out; the first attempt failed (connection refused), the next is owed.
        # the first attempt failed and the row waits for its retry (not mid-attempt: "sending")
        rows = await until(lambda: [r for r in webhook_rows(db) if r[1] >= 1 and r[0] == "pending"], timeout=30)
        assert rows == [("pending", 1, f"erp:{order_no}")]
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)

        receiver = await WebhookReceiver(secret=secret).start(hook_port)
        server = start_server(db, port, log)
        await until(lambda: receiver.accepted, timeout=60)
        await until(lambda: webhook_rows(db)[0][0] == "sent", timeout=10)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if receiver is not None:
            await receiver.stop()

    output = log.read_text()
    [(webhook_id, envelope)] = receiver.accepted.items()
    assert envelope["type"] == "order.received" and envelope["data"]["order_no"] == order_no, output
    assert webhook_id == envelope["id"] and webhook_id.startswith("evt_")
    assert all(r.verified for r in receiver.requests) and receiver.duplicates == 0
    assert webhook_rows(db) == [("sent", 2, f"erp:{order_no}")]
    listed = oms(db, "webhook", "list").stdout
    assert "erp" in listed and "pending 0  dead 0  sent 1" in listed
    assert "Traceback" not in output, output
