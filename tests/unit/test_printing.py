"""Templates to PDF: shipped and overridden templates, clear errors for broken ones, a locked URL fetcher.

Documents are built by hand (no database); the PDFs are read back with pypdf.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.printing.documents import packing_slip_pdf, pick_list_pdf, statement_pdf
from bot.printing.pdf import SHIPPED, Printer, locked_fetcher
from core.documents.errors import ResourceRefused, TemplateBroken
from core.documents.picklist import PickLine, PickList, PickOrder
from core.documents.slip import PackingSlip, SlipLine
from core.documents.statement import EntryKind, Statement, StatementEntry
from tests.support.pdf_text import pdf_fonts, pdf_text

NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PICKS = PickList(
    "SH",
    "上海仓",
    NOW,
    (PickOrder("SO-100001", "杭州茶社", NOW, 3),),
    (
        PickLine("A-01", "CUP-01", "青瓷杯", 1, ("SO-100001",)),
        PickLine("B-02", "TEA-001", "龙井茶 250g", 2, ("SO-100001",)),
    ),
)
# A one-pixel PNG, for an override that shows a logo.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def printer(template_dir=None, locale="zh-CN") -> Printer:
    return Printer(template_dir, locale=locale, timezone="Asia/Shanghai")


def test_pick_list_prints_in_chinese_with_the_named_cjk_font():
    printed = pick_list_pdf(printer(), PICKS)
    text = pdf_text(printed.data)
    assert "拣货单" in text and "上海仓" in text
    assert "青瓷杯" in text and "龙井茶 250g" in text
    assert text.index("CUP-01") < text.index("TEA-001")  # walked by location
    assert "2026-11-03 10:00" in text  # the business's time, not UTC
    assert any("Noto-Sans-CJK-SC" in name for name in pdf_fonts(printed.data))
    assert printed.filename == "picklist-SH-20261103-1000.pdf"


def test_labels_follow_the_readers_language():
    text = pdf_text(pick_list_pdf(printer(locale="en"), PICKS).data)
    assert "Pick list" in text and "Location" in text
    assert "拣货单" not in text
    assert "青瓷杯" in text  # the data stays as it is


def test_slip_and_statement_render_money_and_names():
    slip = PackingSlip(
        order_no="SO-100001",
        created_at=NOW,
        printed_at=NOW,
        customer_code="C001",
        customer_name="杭州茶社 <b>&</b>",
        customer_phone="13800138000",
        ship_to={
            "contact": "王先生",
            "phone": "",
            "province": "浙江",
            "city": "杭州",
            "line": "西湖区龙井路1号",
            "postcode": "",
        },
        currency="CNY",
        payment_terms="credit",
        payment_status="unpaid",
        lines=(SlipLine("TEA-001", "龙井茶 250g", 10, 0, Decimal("128.00"), Decimal("1280.00")),),
        subtotal=Decimal("1280.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("1280.00"),
        note=None,
        warehouses=("SH",),
        shipments=(("SF", "SF123"),),
    )
    text = pdf_text(packing_slip_pdf(printer(), slip).data)
    assert "送货单" in text and "SO-100001" in text
    assert "杭州茶社 <b>&</b>" in text  # autoescaped: markup in data is text, not markup
    assert "西湖区龙井路1号" in text and "1,280.00" in text and "顺丰" in text

    entry = StatementEntry(
        NOW, EntryKind.PAYMENT, "SO-100001", "SO-100001", Decimal("0"), Decimal("100.00"), Decimal("20.00")
    )
    statement = Statement(
        "C001",
        "杭州茶社",
        None,
        "2026-11",
        NOW.date(),
        NOW.date(),
        "CNY",
        NOW,
        Decimal("120.00"),
        (entry,),
        Decimal("20.00"),
    )
    text = pdf_text(statement_pdf(printer(), statement).data)
    assert "对账单" in text and "杭州茶社" in text
    assert "期初余额" in text and "120.00" in text and "期末余额" in text and "20.00" in text


def test_an_override_in_the_template_folder_replaces_that_file_only(tmp_path):
    (tmp_path / "picklist.html").write_text(
        '{% extends "base.html" %}{% block body %}<h1>我们的拣货单 {{ doc.warehouse_code }}</h1>'
        '<img src="logo.png" alt="">{% endblock %}',
        encoding="utf-8",
    )
    (tmp_path / "logo.png").write_bytes(PIXEL)
    text = pdf_text(pick_list_pdf(printer(tmp_path), PICKS).data)
    assert "我们的拣货单 SH" in text
    assert "打印于" in text  # base.html still comes from the shipped folder


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ("<p>ok</p>\n<p>{{ doc.warehouse_code }</p>\n", 2, "unexpected '}'"),  # does not parse
        ("<p>ok</p>\n\n<p>{{ doc.no_such_field }}</p>\n", 3, "no_such_field"),  # fails while rendering
        ("<p>{{ doc.__class__.__mro__ }}</p>\n", 1, "unsafe"),  # the sandbox refuses
    ],
)
def test_a_broken_override_names_its_file_and_line(tmp_path, body, line, problem):
    (tmp_path / "picklist.html").write_text(body, encoding="utf-8")
    with pytest.raises(TemplateBroken) as caught:
        pick_list_pdf(printer(tmp_path), PICKS)
    error = caught.value
    assert error.file == str(tmp_path / "picklist.html")
    assert error.line == line
    assert problem in error.problem
    assert f"picklist.html is broken at line {line}" in error.message


@pytest.mark.parametrize(
    "tag",
    [
        '<img src="file:///etc/hostname">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<img src="http://127.0.0.1:9/probe.png">',
        '<img src="../../../../etc/hostname">',
    ],
)
def test_the_fetcher_refuses_anything_outside_the_template_folders(tmp_path, tag):
    (tmp_path / "picklist.html").write_text(f"<html><body>{tag}<p>x</p></body></html>", encoding="utf-8")
    with pytest.raises(ResourceRefused) as caught:
        pick_list_pdf(printer(tmp_path), PICKS)
    assert caught.value.file == "picklist.html"


def test_the_fetcher_serves_the_folders_and_data_urls(tmp_path):
    (tmp_path / "logo.png").write_bytes(PIXEL)
    fetcher = locked_fetcher([tmp_path, SHIPPED])
    assert fetcher.fetch((tmp_path / "logo.png").as_uri()).read() == PIXEL
    assert b"@page" in fetcher.fetch((SHIPPED / "style.css").as_uri()).read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    (tmp_path / "style.css").write_text("html { color: red }", encoding="utf-8")  # the override wins
    assert fetcher.fetch((SHIPPED / "style.css").as_uri()).read() == b"html { color: red }"
    for url in ("file:///etc/hostname", "https://example.com/x.css", (tmp_path / "missing.png").as_uri()):
        with pytest.raises(fetcher.refusal):
            fetcher.fetch(url)


def test_a_template_cannot_include_files_outside_the_folders(tmp_path):
    (tmp_path / "picklist.html").write_text('<p>x</p>\n{% include "../../../etc/hostname" %}\n', encoding="utf-8")
    with pytest.raises(TemplateBroken) as caught:
        pick_list_pdf(printer(tmp_path), PICKS)
    assert caught.value.line == 2 and "etc/hostname" in caught.value.problem
