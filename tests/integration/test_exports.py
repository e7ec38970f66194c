"""Orders and lines for finance: CSV and XLSX contents, the shared filter, batches, and who may export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from bot.conversation import Speaker, answer_text
from bot.printing.exports import write_export
from core.auth import NoneOfPermissions
from core.documents.errors import BadSince, UnknownFormat, UnknownStatus
from core.documents.export import export_orders
from core.orders import payments
from core.orders.filters import OrderFilter, parse_since
from core.orders.status import OrderStatus, PaymentTerms
from core.users.models import User
from tests.support.clock import Clock
from tests.support.master_data import actor, seed
from tests.support.service_calls import as_user, detail, place

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=SHANGHAI)


@pytest.fixture
async def shop(services):
    """Four orders: one 40 days old, one paid, one on credit for C001, one from a shop for C002."""
    clock = Clock(NOW - timedelta(days=40))
    services.clock = clock
    await seed(services)
    old = await place(services, items={"TEA-001": 1})
    clock.now = NOW - timedelta(days=2)
    paid = await place(services, items={"TEA-001": 2, "CUP-01": 3})
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, paid))
    credit = await place(services, items={"CUP-01": 1}, payment_terms=PaymentTerms.CREDIT)
    shop = await place(services, customer="C002", items={"TEA-001": 1}, channel="shop1")
    clock.now = NOW
    return {"old": old, "paid": paid, "credit": credit, "shop": shop}


async def exported(services, where: OrderFilter, fmt: str = "csv", who: str = "王芳", **options) -> bytes:
    async def write(ctx):
        out = io.BytesIO()
        await write_export(fmt, export_orders(ctx, where, **options), out, locale="en", timezone="Asia/Shanghai")
        return out.getvalue()

    return await as_user(services, who, write)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_csv_has_a_row_per_line_with_decimal_strings_and_offsets(services, shop):
    rows = csv_rows(await exported(services, OrderFilter()))
    assert [r["Order"] for r in rows] == [shop["old"], shop["paid"], shop["paid"], shop["credit"], shop["shop"]]
    paid = [r for r in rows if r["Order"] == shop["paid"]]
    order = await detail(services, shop["paid"])
    assert [(r["SKU"], r["Qty"]) for r in paid] == [("TEA-001", "2"), ("CUP-01", "3")]
    assert paid[0]["Product"] == "龙井茶 250g" and paid[0]["Customer"] == "杭州茶社"
    assert paid[0]["Total"] == order["total"] and paid[0]["Paid"] == order["total"]
    assert paid[0]["Unit price"] == f"{Decimal(order['lines'][0]['unit_price']):.2f}"
    assert Decimal(paid[0]["Line total"]) + Decimal(paid[1]["Line total"]) == Decimal(paid[0]["Subtotal"])
    assert paid[0]["Status"] == "ready_to_pick" and paid[0]["Payment status"] == "paid"
    assert paid[0]["Created"] == (NOW - timedelta(days=2)).isoformat()  # 2026-11-28T15:00:00+08:00
    assert rows[-1]["Channel"] == "shop1" and rows[-1]["Customer code"] == "C002"


async def test_filters_are_the_apis(services, shop):
    async def orders(**where) -> list[str]:
        rows = csv_rows(await exported(services, OrderFilter.build(**where)))
        return list(dict.fromkeys(r["Order"] for r in rows))

    since = parse_since("30d", NOW, SHANGHAI)
    assert await orders(created_since=since) == [shop["paid"], shop["credit"], shop["shop"]]
    assert await orders(statuses=["ready_to_pick"], customer="c001") == [shop["paid"], shop["credit"]]
    assert await orders(statuses=["awaiting_payment"]) == [shop["old"], shop["shop"]]
    assert await orders(channel="shop1") == [shop["shop"]]
    assert await orders(updated_since=NOW - timedelta(days=3)) == [shop["paid"], shop["credit"], shop["shop"]]
    assert await orders(customer="C999") == []
    with pytest.raises(UnknownStatus):
        OrderFilter.build(statuses=["lost"])
    assert OrderFilter.build(statuses=["Shipped"]).statuses == (OrderStatus.SHIPPED,)


async def test_batches_cover_every_order_once(services, shop):
    one_by_one = csv_rows(await exported(services, OrderFilter(), batch_size=1))
    assert one_by_one == csv_rows(await exported(services, OrderFilter()))


def test_since_takes_days_hours_dates_and_times():
    assert parse_since("7d", NOW, SHANGHAI) == NOW - timedelta(days=7)
    assert parse_since("12h", NOW, SHANGHAI) == NOW - timedelta(hours=12)
    assert parse_since("2026-11-01", NOW, SHANGHAI) == datetime(2026, 11, 1, tzinfo=SHANGHAI)
    assert parse_since("2026-11-01T08:00:00+00:00", NOW, SHANGHAI).utcoffset() == timedelta(0)
    for bad in ("30", "yesterday", "2026-13-01", "-3d"):
        with pytest.raises(BadSince):
            parse_since(bad, NOW, SHANGHAI)


async def test_xlsx_has_an_orders_sheet_and_a_lines_sheet(services, shop):
    data = await exported(services, OrderFilter.build(customer="C001"), fmt="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Orders", "Lines"]
    orders = list(book["Orders"].iter_rows(values_only=True))
    lines = list(book["Lines"].iter_rows(values_only=True))
    assert orders[0][:3] == ("Order", "Created", "Updated")
    assert [row[0] for row in orders[1:]] == [shop["old"], shop["paid"], shop["credit"]]
    total = orders[0].index("Total")
    expected = Decimal((await detail(services, shop["paid"]))["total"])
    assert Decimal(str(orders[2][total])) == expected
    assert lines[0] == ("Order", "SKU", "Product", "Qty", "Unit price", "Line total")
    assert [row[:4] for row in lines[1:] if row[0] == shop["paid"]] == [
        (shop["paid"], "TEA-001", "龙井茶 250g", 2),
        (shop["paid"], "CUP-01", "青瓷杯", 3),
    ]
    with pytest.raises(UnknownFormat):
        await exported(services, OrderFilter(), fmt="pdf")


async def test_only_finance_and_reporting_roles_export(services, shop):
    for who in ("李雷", "张仓", "杭州茶社"):
        with pytest.raises(NoneOfPermissions):
            await exported(services, OrderFilter(), who=who)


async def say(services, who: str, text: str, locale: str = "en"):
    speaker = await actor(services, who)
    async with services.sessions() as session:
        user_id = (await session.scalars(select(User.id).where(User.name == who))).one()
    return await answer_text(services, Speaker(user_id, speaker, locale), "console", text)


async def test_export_in_chat_sends_a_spreadsheet(services, shop):
    [reply] = await say(services, "王芳", "/export orders 30d status=ready_to_pick")
    assert reply.text == "2 orders exported."
    assert reply.attachment.filename == "orders-20261130-1500.xlsx"
    assert reply.attachment.media_type.endswith("spreadsheetml.sheet") and reply.attachment.kind == "file"
    book = openpyxl.load_workbook(io.BytesIO(reply.attachment.data), read_only=True)
    assert [row[0] for row in book["Orders"].iter_rows(min_row=2, values_only=True)] == [shop["paid"], shop["credit"]]

    [reply] = await say(services, "王芳", "/导出 订单 30d status=待付款 csv", locale="zh-CN")
    assert reply.text == "已为您导出 1 个订单。"
    rows = list(csv.reader(io.StringIO(reply.attachment.data.decode("utf-8-sig"))))
    assert rows[0][0] == "订单" and rows[1][0] == shop["shop"]

    [refused] = await say(services, "李雷", "/export orders 30d")
    assert refused.attachment is None and "You may not view reports or confirm payments" in refused.text
    [wrong] = await say(services, "王芳", "/export orders 30d status=lost")
    assert wrong.attachment is None and wrong.text == "lost is not an order status."
