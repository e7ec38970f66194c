"""``oms print`` and ``oms export`` as a user runs them: real processes, files written, one-line refusals."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import copy_database, oms, refused
from tests.support.pdf_text import pdf_text


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory, loaded_template):
    """The master data and one order, SO-100001, ready to pick in SH, made by ``oms`` once per worker."""
    db = copy_database(loaded_template, tmp_path_factory.mktemp("shop") / "cli.db")
    oms(db, "order", "place", "C001", "TEA-001*2", "--pay", "credit")
    return db


@pytest.fixture
def shop(tmp_path, shop_template):
    """A copy of ``shop_template`` for this test alone."""
    return copy_database(shop_template, tmp_path / "cli.db")


def test_print_writes_each_document(shop, tmp_path):
    out = oms(shop, "print", "picklist", "SH", "-o", str(tmp_path / "pick.pdf"), "--lang", "zh").stdout
    assert out.startswith(f"wrote {tmp_path / 'pick.pdf'}")
    text = pdf_text((tmp_path / "pick.pdf").read_bytes())
    assert "拣货单" in text and "SO-100001" in text and "TEA-001" in text

    oms(shop, "print", "slip", "SO-100001", "-o", str(tmp_path / "slip.pdf"))
    assert "Delivery note SO-100001" in pdf_text((tmp_path / "slip.pdf").read_bytes())

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    oms(shop, "print", "statement", "C001", month, "-o", str(tmp_path / "st.pdf"))
    text = pdf_text((tmp_path / "st.pdf").read_bytes())
    assert "Statement" in text and "Closing balance" in text and "SO-100001" in text


def test_print_refusals_are_one_line_and_write_nothing(shop, tmp_path):
    target = tmp_path / "x.pdf"
    refused(oms(shop, "print", "statement", "C001", "2026-13", "-o", str(target), check=False), "is not a month")
    refused(oms(shop, "print", "picklist", "GZ", "-o", str(target), check=False), "Nothing is ready to pick in GZ")
    refused(oms(shop, "print", "picklist", "XX", "-o", str(target), check=False), "Warehouse XX does not exist")
    refused(oms(shop, "--as", "李雷", "print", "picklist", "SH", "-o", str(target), check=False), "You may not")
    assert not target.exists()


def test_a_broken_template_override_names_the_file_and_line(shop, tmp_path, monkeypatch):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "slip.html").write_text("<p>ok</p>\n{% for x in %}\n", encoding="utf-8")
    monkeypatch.setenv("OMS_TEMPLATE_DIR", str(folder))
    result = oms(shop, "print", "slip", "SO-100001", "-o", str(tmp_path / "slip.pdf"), check=False)
    refused(result, f"The template {folder / 'slip.html'} is broken at line 2")


def test_export_orders_to_csv_and_xlsx(shop, tmp_path):
    out = oms(shop, "export", "orders", "--since", "30d", "--status", "ready_to_pick", "-o", str(tmp_path / "o.csv"))
    assert out.stdout.strip() == f"wrote {tmp_path / 'o.csv'}: 1 orders"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "o.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["Order"], r["SKU"], r["Qty"]) for r in rows] == [("SO-100001", "TEA-001", "2")]
    assert rows[0]["Unit price"] == "118.00"  # the VIP price list, as a Decimal string
    oms(shop, "export", "orders", "--customer", "C002", "-o", str(tmp_path / "none.xlsx"))
    assert (tmp_path / "none.xlsx").read_bytes().startswith(b"PK")  # an empty workbook, still a workbook
    result = oms(shop, "export", "orders", "--status", "lost", "-o", str(tmp_path / "bad.csv"), check=False)
    refused(result, "lost is not an order status.")
    assert not (tmp_path / "bad.csv").exists() and not (tmp_path / ".bad.csv.partial").exists()
