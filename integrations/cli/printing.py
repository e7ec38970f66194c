"""``oms print`` (a pick list, delivery note or statement as a PDF) and ``oms export`` (orders for finance)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from integrations.cli.main import call, run_async, settings_from

LANGS = click.Choice(["en", "zh"])


def _printer(ctx: click.Context, lang: str) -> Any:
    from bot.printing.pdf import Printer

    settings = settings_from(ctx)
    return Printer(settings.template_dir, locale="zh-CN" if lang == "zh" else "en", timezone=settings.timezone)


def _write_atomically(path: Path, data: bytes) -> None:
    """The whole file or none: written next to its place, then renamed over it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


async def _print(
    ctx: click.Context, lang: str, out: Path, fetch: Callable[[Any], Awaitable[Any]], lay_out: Any
) -> None:
    doc = await call(ctx, fetch, write=False)
    printed = lay_out(_printer(ctx, lang), doc)
    _write_atomically(out, printed.data)
    click.echo(f"wrote {out} ({len(printed.data):,} bytes)")


OUT = click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
LANG = click.option("--lang", type=LANGS, default="en", show_default=True, help="Language of the labels.")


@click.group("print")
def print_group() -> None:
    """Printable documents as PDF, from the templates (OMS_TEMPLATE_DIR overrides them file by file)."""


@print_group.command("picklist")
@click.argument("warehouse")
@OUT
@LANG
@click.pass_context
@run_async
async def print_picklist(ctx: click.Context, warehouse: str, out: Path, lang: str) -> None:
    """The orders ready to pick in WAREHOUSE, lines by location."""
    from bot.printing.documents import pick_list_pdf
    from core.documents.picklist import pick_list

    await _print(ctx, lang, out, lambda c: pick_list(c, warehouse), pick_list_pdf)


@print_group.command("slip")
@click.argument("order_no")
@OUT
@LANG
@click.pass_context
@run_async
async def print_slip(ctx: click.Context, order_no: str, out: Path, lang: str) -> None:
    """The delivery note (送货单) for ORDER_NO."""
    from bot.printing.documents import packing_slip_pdf
    from core.documents.slip import packing_slip

    await _print(ctx, lang, out, lambda c: packing_slip(c, order_no), packing_slip_pdf)


@print_group.command("statement")
@click.argument("customer")
@click.argument("month", metavar="YYYY-MM")
@OUT
@LANG
@click.pass_context
@run_async
async def print_statement(ctx: click.Context, customer: str, month: str, out: Path, lang: str) -> None:
    """CUSTOMER's statement (对账单) for a month: opening balance, entries, closing balance."""
    from bot.printing.documents import statement_pdf
    from core.documents.statement import customer_statement

    await _print(ctx, lang, out, lambda c: customer_statement(c, customer, month), statement_pdf)


@click.group("export")
def export_group() -> None:
    """Data for finance and other tools."""


@export_group.command("orders")
@click.option("--since", help="Created since: 30d, 12h, 2026-11-01 or an ISO time.")
@click.option("--updated-since", help="Changed since (same forms as --since).")
@click.option("--status", "statuses", multiple=True, help="Only this status (repeat for several).")
@click.option("--customer", help="Only this customer (code).")
@click.option("--channel", help="Only this sales channel.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), help="Default: from the file name, else csv.")
@OUT
@LANG
@click.pass_context
@run_async
async def export_orders_cmd(
    ctx: click.Context,
    since: str | None,
    updated_since: str | None,
    statuses: tuple[str, ...],
    customer: str | None,
    channel: str | None,
    fmt: str | None,
    out: Path,
    lang: str,
) -> None:
    """Orders and their lines (CSV: one row per line; XLSX: an orders sheet and a lines sheet)."""
    from bot.printing.exports import write_export
    from core.documents.export import export_orders
    from core.orders.filters import OrderFilter, parse_since

    settings = settings_from(ctx)
    zone = ZoneInfo(settings.timezone)
    chosen = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    partial = out.with_name(f".{out.name}.partial")

    async def write(c: Any) -> int:
        where = OrderFilter.build(
            statuses=statuses,
            customer=customer,
            channel=channel,
            created_since=parse_since(since, c.now(), zone) if since else None,
            updated_since=parse_since(updated_since, c.now(), zone) if updated_since else None,
        )
        with partial.open("wb") as handle:  # rows go to disk as they are read
            return await write_export(
                chosen,
                export_orders(c, where),
                handle,
                locale="zh-CN" if lang == "zh" else "en",
                timezone=settings.timezone,
            )

    try:
        count = await call(ctx, write, write=False)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    click.echo(f"wrote {out}: {count} orders")
