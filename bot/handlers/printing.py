"""Printing and exporting from chat: ``/print`` sends a PDF, ``/export`` a spreadsheet, as files."""

from __future__ import annotations

import asyncio
import io
from zoneinfo import ZoneInfo

from bot.i18n import N_, translate
from bot.labels import STATUS, money
from bot.printing.documents import PrintedFile, packing_slip_pdf, pick_list_pdf, statement_pdf
from bot.printing.exports import FORMATS, format_of, write_export
from bot.printing.pdf import Printer
from bot.router import Chat, command
from bot.views import Attachment, Reply
from core.auth import Permission
from core.context import Context
from core.documents.export import export_orders, require_export
from core.documents.picklist import pick_list
from core.documents.slip import packing_slip
from core.documents.statement import customer_statement
from core.orders.filters import OrderFilter, parse_since

PICKLIST = ("picklist", "pick", "拣货单")
SLIP = ("slip", "delivery", "送货单")
STATEMENT = ("statement", "对账单")
ORDERS = ("orders", "订单")


def printer_for(chat: Chat) -> Printer:
    settings = chat.services.settings
    return Printer(settings.template_dir, locale=chat.locale, timezone=settings.timezone)


def _file_reply(text: str, printed: PrintedFile) -> list[Reply]:
    attachment = Attachment(filename=printed.filename, media_type=printed.media_type, data=printed.data, kind="file")
    return [Reply(text=text, attachment=attachment)]


@command(
    "print",
    "打印",
    usage=N_("/print picklist SH | slip SO-100001 | statement C001 2026-11"),
    summary=N_("A pick list, delivery note or statement as a PDF"),
    permission=(Permission.FULFIL, Permission.ORDER_VIEW, Permission.PAYMENT_CONFIRM, Permission.REPORT_VIEW),
)
async def print_cmd(chat: Chat, args: list[str]) -> list[Reply]:
    if len(args) < 2:
        raise chat.usage()
    what, key = args[0].lower(), args[1]
    printer = printer_for(chat)
    if what in PICKLIST:
        picks = await chat.services.query(chat.actor, lambda ctx: pick_list(ctx, key))
        printed = await asyncio.to_thread(pick_list_pdf, printer, picks)
        caption = chat._(
            "Pick list for {warehouse}: {orders} orders, {units} units.",
            warehouse=picks.warehouse_code,
            orders=len(picks.orders),
            units=picks.total_units,
        )
        return _file_reply(caption, printed)
    if what in SLIP:
        slip = await chat.services.query(chat.actor, lambda ctx: packing_slip(ctx, key))
        printed = await asyncio.to_thread(packing_slip_pdf, printer, slip)
        return _file_reply(chat._("Delivery note for {order_no}.", order_no=slip.order_no), printed)
    if what in STATEMENT and len(args) >= 3:
        month = args[2]
        statement = await chat.services.query(chat.actor, lambda ctx: customer_statement(ctx, key, month))
        printed = await asyncio.to_thread(statement_pdf, printer, statement)
        caption = chat._(
            "Statement for {customer} {month}: opening {opening}, closing {closing} {currency}.",
            customer=statement.customer_name,
            month=statement.month,
            opening=money(statement.opening_balance),
            closing=money(statement.closing_balance),
            currency=statement.currency,
        )
        return _file_reply(caption, printed)
    raise chat.usage()


def _status_code(word: str) -> str:
    """A status as typed: its code (``shipped``) or its name in Chinese (已发货)."""
    for code, label in STATUS.items():
        if word == translate("zh-CN", label):
            return code
    return word


@command(
    "export",
    "导出",
    usage=N_("/export orders 30d [status=shipped] [customer=C001] [channel=direct] [csv|xlsx]"),
    summary=N_("Orders and their lines as a spreadsheet, for finance"),
    permission=(Permission.REPORT_VIEW, Permission.PAYMENT_CONFIRM),
)
async def export_cmd(chat: Chat, args: list[str]) -> list[Reply]:
    if not args or args[0].lower() not in ORDERS:
        raise chat.usage()
    settings = chat.services.settings
    zone = ZoneInfo(settings.timezone)
    fmt, since, options = "xlsx", None, {}
    for word in args[1:]:
        key, eq, value = word.partition("=")
        if eq and key.lower() in ("status", "customer", "channel"):
            options[key.lower()] = value
        elif word.lower() in FORMATS:
            fmt = format_of(word)
        elif since is None and not eq:
            since = word
        else:
            raise chat.usage()

    async def build(ctx: Context) -> tuple[bytes, int]:
        require_export(ctx)
        where = OrderFilter.build(
            statuses=[_status_code(s) for s in options.get("status", "").split(",") if s],
            customer=options.get("customer"),
            channel=options.get("channel"),
            created_since=parse_since(since, ctx.now(), zone) if since else None,
        )
        out = io.BytesIO()
        count = await write_export(fmt, export_orders(ctx, where), out, locale=chat.locale, timezone=settings.timezone)
        return out.getvalue(), count

    data, count = await chat.services.query(chat.actor, build)
    stamp = chat.services.clock().astimezone(zone).strftime("%Y%m%d-%H%M")
    attachment = Attachment(filename=f"orders-{stamp}.{fmt}", media_type=FORMATS[fmt], data=data, kind="file")
    return [Reply(text=chat._("{count} orders exported.", count=count), attachment=attachment)]
