"""The ``oms`` command as a user runs it: a real process, a real database file, exit codes and output."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import MASTER, OMS, copy_database, oms, refused


@pytest.fixture
def db(tmp_path, upgraded_template) -> Path:
    """A database of this test's own after ``oms db upgrade`` (a copy of the worker's template)."""
    return copy_database(upgraded_template, tmp_path / "cli.db")


@pytest.fixture
def loaded(tmp_path, loaded_template) -> Path:
    """A database of this test's own after ``oms db upgrade`` and ``oms load`` of the master data."""
    return copy_database(loaded_template, tmp_path / "cli.db")


def test_help_lists_the_commands(tmp_path):
    out = oms(tmp_path / "x.db", "--help").stdout
    for command in ("db", "load", "order", "stock", "serve", "demo"):
        assert command in out


def test_upgrade_twice_is_harmless(db):
    assert "revision" in oms(db, "db", "upgrade").stdout


def test_commands_before_upgrade_say_what_to_do(tmp_path):
    fresh = tmp_path / "fresh.db"
    refused(oms(fresh, "order", "show", "SO-100001", check=False), f"no database at {fresh}: run `oms db upgrade`")
    refused(oms(fresh, "load", str(MASTER), check=False), "run `oms db upgrade`")
    assert not fresh.exists()  # no empty database left behind
    sqlite3.connect(fresh).close()  # a file without tables
    refused(oms(fresh, "stock", "TEA-001", check=False), "the database has no tables yet: run `oms db upgrade` first")
    assert "revision" in oms(fresh, "db", "upgrade").stdout


def test_unknown_order_is_one_line(db):
    refused(oms(db, "order", "show", "SO-999999", check=False), "Order SO-999999 does not exist")


def test_load_place_show_and_stock(loaded):
    placed = json.loads(
        oms(loaded, "order", "place", "C001", "TEA-001*2", "CUP-01", "x3", "--pay", "credit", "--json").stdout
    )
    assert placed["order_no"] == "SO-100001"
    shown = json.loads(oms(loaded, "order", "show", "SO-100001", "--json").stdout)
    for key in ("order_no", "status", "payment_status", "customer", "lines", "total", "history"):
        assert key in shown
    line = shown["lines"][0]
    assert {"sku", "qty", "unit_price", "allocations"} <= set(line)
    assert line["unit_price"] == "118.00"  # the VIP price list
    assert shown["history"][0]["actor"] == "system"
    stock = json.loads(oms(loaded, "stock", "TEA-001", "--json").stdout)
    sh = {w["warehouse"]: w for w in stock["warehouses"]}["SH"]
    assert (sh["on_hand"], sh["reserved"], sh["available"]) == (100, 2, 98)
    kit = json.loads(oms(loaded, "stock", "GIFT-01", "--json").stdout)
    assert kit["kit"] is True


def test_show_in_text_has_the_history_in_the_business_zone(loaded):
    oms(loaded, "order", "place", "C001", "TEA-001*2", "--pay", "credit")
    shown = json.loads(oms(loaded, "order", "show", "SO-100001", "--json").stdout)

    text = oms(loaded, "order", "show", "SO-100001").stdout.splitlines()

    start = text.index("history (times in Asia/Shanghai):")
    assert len(text[start + 1 :]) == len(shown["history"])
    first = shown["history"][0]
    at = datetime.fromisoformat(first["at"]).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert text[start + 1] == f"  {at}  create  — → {first['to']}  by system"


def test_loading_twice_changes_nothing(loaded):
    out = oms(loaded, "load", str(MASTER)).stdout
    assert "created" not in out.replace("0 created", "")


def on_hand(db: Path, sku: str, warehouse: str) -> tuple[int, int]:
    view = json.loads(oms(db, "stock", sku, "--json").stdout)
    row = {w["warehouse"]: w for w in view["warehouses"]}[warehouse]
    return row["on_hand"], row["reserved"]


def test_loading_again_keeps_a_receipt_and_set_stock_overwrites_it(loaded):
    # Given 20 received after the master file was loaded
    oms(loaded, "receive", "TEA-001", "SH", "20", "--reason", "PO-7")
    # When the file is loaded again (twice), the receipt is kept and the output says so
    for _ in range(2):
        out = oms(loaded, "load", str(MASTER)).stdout
        assert "stock: 2 existing kept (1 differs from the file; use --set-stock to overwrite)" in out, out
        assert on_hand(loaded, "TEA-001", "SH") == (120, 0)
    # Then --set-stock makes the file's count the count, once
    assert "stock: 1 adjusted, 1 unchanged" in oms(loaded, "load", "--set-stock", str(MASTER)).stdout
    assert on_hand(loaded, "TEA-001", "SH") == (100, 0)
    assert "stock: 2 unchanged" in oms(loaded, "load", "--set-stock", str(MASTER)).stdout


def test_set_stock_below_what_is_reserved_is_refused_naming_the_row(loaded, tmp_path):
    oms(loaded, "order", "place", "C001", "TEA-001*5", "--pay", "credit")
    counted = tmp_path / "count.yaml"
    counted.write_text("stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 2}\n", encoding="utf-8")
    refused(
        oms(loaded, "load", "--set-stock", str(counted), check=False),
        "stock row 1 (TEA-001@SH): on_hand: cannot set TEA-001 in SH to 2: 5 are reserved",
    )
    assert on_hand(loaded, "TEA-001", "SH") == (100, 5)


def test_load_help_explains_opening_balances_and_set_stock(db):
    out = oms(db, "load", "--help").stdout
    assert "--set-stock" in out and "opening balances" in out


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("warehouses: [ {code: SH, name: x", "line"),
        ("stock:\n  - {sku: TEA-001, warehouse: XX, on_hand: 5}\n", "warehouse"),
        ("stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: -5}\n", "on_hand"),
        ("products:\n  - {sku: NEW-1, name: New, price: abc}\n", "price"),
    ],
)
def test_bad_master_data_exits_non_zero_with_one_line_and_changes_nothing(loaded, tmp_path, yaml_text, message):
    before = oms(loaded, "stock", "TEA-001", "--json").stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "products:\n  - {sku: NEW-0, name: Fine, price: '1.00'}\n" + yaml_text
        if not yaml_text.startswith("products")
        else yaml_text,
        encoding="utf-8",
    )
    refused(oms(loaded, "load", str(bad), check=False), message)
    assert oms(loaded, "stock", "TEA-001", "--json").stdout == before
    refused(oms(loaded, "stock", "NEW-0", check=False), "Unknown SKU NEW-0")


def test_negative_quantity_in_an_order_is_refused(loaded):
    refused(oms(loaded, "order", "place", "C001", "TEA-001*-2", check=False), "at least 1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["TEA-001*x"], "Cannot read TEA-001*x as an item; write SKU*QTY, e.g. TEA-001*2."),
        (["x2"], "x2 is a quantity with no SKU before it"),
        (["TEA-001*1", "--discount", "150"], "The discount must be a percentage from 0 to 100, not 150."),
        (["TEA-001*1", "--address", "nowhere"], "Customer C001 has no address labelled nowhere."),
    ],
)
def test_bad_order_arguments_are_one_clear_line(loaded, args, message):
    refused(oms(loaded, "order", "place", "C001", *args, check=False), message)


def test_a_discount_that_is_not_a_number_is_refused_in_words(loaded):
    result = oms(loaded, "order", "place", "C001", "TEA-001*1", "--discount", "abc", check=False)

    assert result.returncode != 0
    assert "must be a number of percent, e.g. 5 (not abc)" in result.stderr
    assert "Traceback" not in result.stderr and "ConversionSyntax" not in result.stderr


def test_a_huge_quantity_is_refused_by_name_and_nothing_is_stored(loaded):
    result = oms(loaded, "order", "place", "C001", "TEA-001*100000000000000000000000", check=False)
    assert result.returncode == 1
    refused(result, "error: TEA-001: a quantity can be at most 1,000,000.")
    refused(oms(loaded, "order", "show", "SO-100001", check=False), "Order SO-100001 does not exist")


def test_an_order_of_more_lines_than_the_bound_is_refused(loaded):
    result = oms(loaded, "order", "place", "C001", *["TEA-001*1"] * 20_000, check=False)
    assert result.returncode == 1
    refused(result, "An order can have at most 200 lines; this one has 20,000.")


def test_an_argument_that_is_not_utf8_is_refused_in_one_line(loaded):
    not_utf8 = os.fsdecode(b"\xff")  # the process receives the raw byte 0xFF
    refused(oms(loaded, "order", "place", "C001", "TEA-001*1", "--coupon", not_utf8, check=False), "UTF-8")


def test_acting_as_a_user_applies_their_roles(loaded):
    oms(loaded, "order", "place", "C001", "TEA-001*1")
    refused(
        oms(loaded, "--as", "李雷", "receive", "TEA-001", "SH", "5", check=False), "may not receive or adjust stock"
    )


def test_demo_builds_without_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    result = subprocess.run(
        [OMS, "demo", "--no-serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "SO-100001" in result.stdout and "wangfang" in result.stdout
    assert (tmp_path / "oms-demo.db").exists()


def test_console_links_are_printed_for_an_admin_and_sessions_ended(db: Path):
    oms(db, "load", str(MASTER))
    link = oms(db, "console", "link", "王芳")
    [url] = link.stdout.split()
    assert url.startswith("http://127.0.0.1:8080/console/signin?token=") and len(url) > 80
    assert "once" in link.stderr
    assert oms(db, "console", "link", "王芳").stdout != link.stdout  # every link is new
    assert oms(db, "console", "logout", "王芳").stdout.strip() == "ended 0 console sessions of 王芳"
    unknown = oms(db, "console", "link", "nobody", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error:") and "nobody" in unknown.stderr


def test_demo_on_a_busy_port_says_so_in_one_line_and_keeps_the_old_database(tmp_path: Path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        old = tmp_path / "oms-demo.db"
        old.write_bytes(b"yesterday's demo")
        result = subprocess.run(
            [OMS, "demo", "--port", str(port)], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "OMS_PORT" in line
    assert old.read_bytes() == b"yesterday's demo"
