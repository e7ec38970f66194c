"""``oms serve`` as an operator starts it: settings in the environment switch adapters on, the
server says which, and their routes answer (refusing what is not signed) even while the platforms
themselves are unreachable."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.cli import OMS, copy_database, oms

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_serve_switches_on_the_configured_adapters_and_they_refuse_unsigned_requests(
    tmp_path: Path, loaded_template: Path
):
    db = copy_database(loaded_template, tmp_path / "serve.db")  # after `oms db upgrade` and `oms load`
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        "channels:\n"
        "  - {code: SHOP1, kind: shopify, name: 官网, poll_minutes: 0}\n"
        "  - {code: woo-2, kind: woocommerce, name: 独立站, poll_minutes: 0}\n",
        encoding="utf-8",
    )
    oms(db, "load", str(channels))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(
        OMS_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        OMS_CHANNEL_SHOP1_SECRET="shpss_serve",
        OMS_HOST="0.0.0.0",  # as in production: reachable from outside, so the console needs sign-in
        OMS_PORT=str(port),
        OMS_SLACK_BOT_TOKEN="xoxb-test",
        OMS_SLACK_SIGNING_SECRET="8f742231b10e8888abcd99yyyzzz85a5",
        OMS_SLACK_API_URL=UNREACHABLE + "/api/",
        OMS_TELEGRAM_BOT_TOKEN="123:abc",
        OMS_TELEGRAM_WEBHOOK_SECRET="s3cret",
        OMS_TELEGRAM_API_URL=UNREACHABLE + "/bot",
        OMS_DINGTALK_CLIENT_ID="dingtestkey",  # stream mode: keeps trying to reach the gateway
        OMS_DINGTALK_CLIENT_SECRET="secret",
        OMS_DINGTALK_API_URL=UNREACHABLE,
        OMS_WECOM_CORP_ID="ww1436e0e65a779aee",
        OMS_WECOM_AGENT_ID="1000002",
        OMS_WECOM_SECRET="secret",
        OMS_WECOM_TOKEN="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
        OMS_WECOM_ENCODING_AES_KEY="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
        OMS_WECOM_API_URL=UNREACHABLE,
    )
    server = subprocess.Popen([OMS, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    answers: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and answers.get("healthz") != 200:
            try:
                answers["healthz"] = status(base + "/healthz")
            except OSError:
                time.sleep(0.2)
        answers["slack"] = status(base + "/slack/events", b'{"type":"url_verification","challenge":"x"}')
        answers["telegram"] = status(
            base + "/telegram/webhook", b'{"update_id":1}', {"Content-Type": "application/json"}
        )
        answers["wecom"] = status(base + "/wecom/callback?msg_signature=0&timestamp=1&nonce=2&echostr=abc")
        answers["dingtalk"] = status(base + "/dingtalk/callback", b"{}")
        answers["shopify-forged"] = status(
            base + "/webhooks/channels/SHOP1",
            b'{"id": 1}',
            {"X-Shopify-Hmac-Sha256": "Zm9yZ2Vk", "X-Shopify-Topic": "orders/create"},
        )
        answers["woo-no-secret"] = status(base + "/webhooks/channels/WOO-2", b"{}")
        answers["console"] = status(base + "/console")
        answers["api-openapi"] = status(base + "/api/v1/openapi.json")
        answers["api-no-key"] = status(base + "/api/v1/orders")
        answers["api-docs"] = status(base + "/api/docs")
        answers["console-identities"] = status(base + "/console/api/identities")
        answers["console-message"] = status(
            base + "/console/api/messages",
            json.dumps({"user": "wangfang", "text": "/neworder C001 TEA-001*2"}).encode(),
            {"Content-Type": "application/json"},
        )
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0].decode()
    # dingtalk is in stream mode: it has no inbound URL
    expected = {"healthz": 200, "slack": 401, "telegram": 403, "wecom": 403, "dingtalk": 404, "console": 200}
    expected |= {"console-identities": 404, "console-message": 401}  # nobody acts without signing in
    expected |= {"shopify-forged": 401, "woo-no-secret": 401}
    expected |= {"api-openapi": 200, "api-no-key": 401, "api-docs": 200}  # the REST API is always on
    assert answers == expected, output
    assert "sign in with a link" in output and "OMS_PUBLIC_URL" in output, output
    assert "adapters on: api, console, dingtalk, wecom, slack, telegram" in output, output
    assert "channels: SHOP1 (shopify) at /webhooks/channels/SHOP1, WOO-2 (woocommerce)" in output, output
    assert "channel WOO-2: its deliveries are refused until OMS_CHANNEL_WOO_2_SECRET is set" in output, output
    assert "Traceback" not in output, output


def test_the_open_console_refuses_to_listen_beyond_loopback(tmp_path: Path, upgraded_template: Path):
    db = copy_database(upgraded_template, tmp_path / "open.db")  # after `oms db upgrade`
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(OMS_DATABASE_URL=f"sqlite+aiosqlite:///{db}", OMS_CONSOLE_MODE="open", OMS_HOST="0.0.0.0")
    result = subprocess.run([OMS, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "loopback" in line and "0.0.0.0" in line and "OMS_CONSOLE_MODE=signin" in line
    assert "listening" not in result.stdout


def serve_env(db: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    # OMS_CONSOLE_MODE: the console's sign-in mode (open = anyone on the network); ignored where unknown
    env.update(OMS_DATABASE_URL=f"sqlite+aiosqlite:///{db}", OMS_PORT=str(port), OMS_CONSOLE_MODE="open")
    return env


def healthz(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_on_a_database_without_the_schema_says_to_upgrade_and_never_listens(tmp_path: Path):
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()  # a file, but no tables
    port = free_port()
    result = subprocess.run(
        [OMS, "serve"], env=serve_env(db, port), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["error: the database has no schema yet: run `oms db upgrade` first"]
    assert "listening" not in result.stdout
    missing = subprocess.run(
        [OMS, "serve"], env=serve_env(tmp_path / "none.db", port), cwd=tmp_path, capture_output=True, text=True
    )
    assert missing.returncode != 0 and "run `oms db upgrade`" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def test_serve_behind_the_latest_migration_names_both_revisions(tmp_path: Path):
    db = tmp_path / "old.db"
    oms(db, "db", "upgrade", "--revision", "0001")
    result = subprocess.run(
        [OMS, "serve"], env=serve_env(db, free_port()), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the database is at revision 0001, the code needs ") and "oms db upgrade" in line


def test_healthz_answers_503_when_the_database_file_is_deleted_under_the_server(tmp_path: Path, loaded_template: Path):
    db = copy_database(loaded_template, tmp_path / "serve.db")  # after `oms db upgrade` and `oms load`
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [OMS, "serve"], env=serve_env(db, port), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = healthz(base)
            except OSError:
                time.sleep(0.2)
        assert answer == (200, {"status": "ok", "database": "sqlite"})
        db.unlink()
        assert healthz(base) == (503, {"status": "error", "database": "file missing or replaced"})
        assert not db.exists()  # the server did not quietly create an empty one
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output
