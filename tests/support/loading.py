"""Loading master data as ``oms load`` does, and counting every table's rows to show a load changed nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.registry import metadata
from core.masterdata.loader import load_file, load_master_data
from core.masterdata.schema import parse_document
from tests.support.cli import MASTER
from tests.support.master_data import SYSTEM


async def load(services, text: str | None = None, *, set_stock: bool = False):
    """The test master data (``tests/data/master.yaml``), or ``text``, in one unit of work."""
    async with services.unit_of_work(SYSTEM) as ctx:
        if text is None:
            return await load_file(ctx, MASTER, set_stock=set_stock)
        return await load_master_data(ctx, parse_document(text), set_stock=set_stock)


async def row_counts(services) -> dict[str, int]:
    async with services.unit_of_work(SYSTEM) as ctx:
        return {
            name: await ctx.session.scalar(select(func.count()).select_from(table))
            for name, table in metadata.tables.items()
        }
