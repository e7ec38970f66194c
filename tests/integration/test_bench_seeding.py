"""The benchmarks measure the paths they name: their seeded stock is the deep stock they ask for.

The demo file opens TEA-001's stock rows first, and a second load only opens balances, so the
benchmarks' 100,000 units never applied: from the third order on, "tap Approve (a real
transition)" backordered and asked for a purchase instead of allocating."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import support  # noqa: E402
from core.catalog.models import Product  # noqa: E402
from core.inventory.models import StockLevel, Warehouse  # noqa: E402
from tests.support.databases import make_services, sqlite_settings  # noqa: E402


async def test_the_benchmarks_deep_skus_hold_the_stock_they_ask_for(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "bench.db"))
    try:
        await support.seed_console(services, 2, deep=("TEA-001", "TEA-002"))
        async with services.reading() as session:
            levels = dict(
                (
                    await session.execute(
                        select(Product.sku, StockLevel.on_hand)
                        .join(StockLevel, StockLevel.product_id == Product.id)
                        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                        .where(Warehouse.code == "SH", Product.sku.in_(["TEA-001", "TEA-002", "TEA-003"]))
                    )
                ).all()
            )
        assert levels["TEA-001"] == levels["TEA-002"] == 100_000
        assert levels.get("TEA-003", 0) < 100_000  # not asked for: the demo's own count
    finally:
        await services.close()
