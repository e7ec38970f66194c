"""``oms webhook`` as an operator uses it: the secret printed once with how to verify it, refusals
in one line that change nothing, each endpoint's health, a replay by either spelling of an id."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

from tests.support.cli import copy_database, oms, refused


def test_add_list_replay_remove(tmp_path: Path, loaded_template: Path):
    db = copy_database(loaded_template, tmp_path / "cli.db")  # after `oms db upgrade` and `oms load`
    added = oms(
        db, "webhook", "add", "https://erp.example.com/hook", "--name", "erp", "--events", "order.received,stock.low"
    ).stdout
    [secret] = [w for w in added.split() if w.startswith("whsec_")][:1]
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert "webhook-signature" in added and "standardwebhooks" in added and f'Webhook("{secret}")' in added

    refused(
        oms(db, "webhook", "add", "https://x.example", "--name", "x", "--events", "order.updated", check=False),
        "There is no event order.updated. The events are: approval.level_done",
    )
    refused(
        oms(db, "webhook", "add", "ftp://x.example", "--name", "x", "--events", "*", check=False),
        "ftp://x.example is not a web address",
    )
    refused(
        oms(db, "webhook", "add", "https://y.example", "--name", "erp", "--events", "*", check=False),
        "There is already a webhook endpoint called erp.",
    )
    refused(
        oms(db, "webhook", "add", "https://y.example", "--name", "a:b", "--events", "*", check=False),
        "a:b cannot name a webhook endpoint",
    )

    [row] = json.loads(oms(db, "webhook", "list", "--json").stdout)
    assert (row["name"], row["events"], row["pending"], row["dead"]) == ("erp", ["order.received", "stock.low"], 0, 0)
    assert "secret" not in row

    oms(db, "order", "place", "C001", "TEA-001*2", "--pay", "credit")  # its events wait for a server
    with sqlite3.connect(db) as con:
        [event_id] = con.execute("select id from domain_event where name = 'order.received'").fetchone()
    refused(oms(db, "webhook", "replay", "evt_999", check=False), "There is no event evt_999 to send again.")
    refused(oms(db, "webhook", "replay", "SO-1", check=False), "SO-1 is not an event id")
    assert f"evt_{event_id} is queued again for erp" in oms(db, "webhook", "replay", f"evt_{event_id}").stdout
    assert f"evt_{event_id} is queued again for erp" in oms(db, "webhook", "replay", str(event_id)).stdout
    listed = oms(db, "webhook", "list").stdout
    assert "erp  https://erp.example.com/hook  enabled" in listed and "pending 2  dead 0" in listed

    refused(oms(db, "webhook", "remove", "wms", check=False), "There is no webhook endpoint called wms.")
    assert "webhook erp removed" in oms(db, "webhook", "remove", "erp").stdout
    assert "no webhook endpoints" in oms(db, "webhook", "list").stdout
