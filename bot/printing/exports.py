"""Orders and lines for finance as CSV or XLSX, written as they are read (``core.documents.export``).

CSV: one row per order line, the order's fields repeated, money as Decimal strings ("128.00"),
times ISO 8601 with the business's offset; UTF-8 with a byte-order mark so Excel shows Chinese.
XLSX (openpyxl in write-only mode, rows streamed to disk): a sheet of orders and a sheet of
lines, money as exact numbers with two places, times as the same ISO text.
Statuses stay as their codes (``ready_to_pick``), the words the filters take.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from core.documents.errors import UnknownFormat
from core.documents.export import ExportLine, ExportOrder

FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

ORDER_COLUMNS: list[tuple[str, Callable[[ExportOrder, ZoneInfo], Any]]] = [
    (N_("Order"), lambda o, z: o.order_no),
    (N_("Created"), lambda o, z: o.created_at.astimezone(z).isoformat(timespec="seconds")),
    (N_("Updated"), lambda o, z: o.updated_at.astimezone(z).isoformat(timespec="seconds")),
    (N_("Customer code"), lambda o, z: o.customer_code),
    (N_("Customer"), lambda o, z: o.customer_name),
    (N_("Status"), lambda o, z: o.status),
    (N_("Payment status"), lambda o, z: o.payment_status),
    (N_("Payment terms"), lambda o, z: o.payment_terms),
    (N_("Channel"), lambda o, z: o.channel),
    (N_("Currency"), lambda o, z: o.currency),
    (N_("Subtotal"), lambda o, z: o.subtotal),
    (N_("Discount"), lambda o, z: o.discount_total),
    (N_("Total"), lambda o, z: o.total),
    (N_("Paid"), lambda o, z: o.paid_amount),
    (N_("Refunded"), lambda o, z: o.refunded_amount),
]
LINE_COLUMNS: list[tuple[str, Callable[[ExportLine], Any]]] = [
    (N_("SKU"), lambda line: line.sku),
    (N_("Product"), lambda line: line.name),
    (N_("Qty"), lambda line: line.qty),
    (N_("Unit price"), lambda line: line.unit_price),
    (N_("Line total"), lambda line: line.line_total),
]


def format_of(name: str) -> str:
    chosen = name.strip().lower().lstrip(".")
    if chosen not in FORMATS:
        raise UnknownFormat(format=name)
    return chosen


async def write_export(
    fmt: str, orders: AsyncIterator[ExportOrder], out: BinaryIO, *, locale: str, timezone: str
) -> int:
    """Write the orders to ``out`` in ``fmt`` (csv or xlsx); returns how many orders were written."""
    writer = _write_csv if format_of(fmt) == "csv" else _write_xlsx
    return await writer(orders, out, Translator(locale), ZoneInfo(timezone))


async def _write_csv(orders: AsyncIterator[ExportOrder], out: BinaryIO, _: Translator, zone: ZoneInfo) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    text.write(codecs.BOM_UTF8.decode("utf-8"))
    rows = csv.writer(text)
    rows.writerow([_(h) for h, _f in ORDER_COLUMNS] + [_(h) for h, _f in LINE_COLUMNS])
    count = 0
    async for order in orders:
        head = [_cell(get(order, zone)) for _h, get in ORDER_COLUMNS]
        for line in order.lines or (None,):
            rows.writerow(head + ([_cell(get(line)) for _h, get in LINE_COLUMNS] if line else []))
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


async def _write_xlsx(orders: AsyncIterator[ExportOrder], out: BinaryIO, _: Translator, zone: ZoneInfo) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    order_sheet = book.create_sheet(_("Orders"))
    line_sheet = book.create_sheet(_("Lines"))
    order_sheet.append([_(h) for h, _f in ORDER_COLUMNS])
    line_sheet.append([_("Order")] + [_(h) for h, _f in LINE_COLUMNS])

    def cells(sheet: Any, values: list[Any]) -> list[Any]:
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, Decimal):
                cell.number_format = "0.00"
            row.append(cell)
        return row

    count = 0
    async for order in orders:
        order_sheet.append(cells(order_sheet, [get(order, zone) for _h, get in ORDER_COLUMNS]))
        for line in order.lines:
            line_sheet.append(cells(line_sheet, [order.order_no] + [get(line) for _h, get in LINE_COLUMNS]))
        count += 1
    book.save(out)
    return count
