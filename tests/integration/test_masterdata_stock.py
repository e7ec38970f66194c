"""Stock in the master-data file is an opening balance: reloading the file never undoes the day's
receipts, shipments or reservations; ``set_stock`` overwrites on purpose, as audited adjustments."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.audit.models import AuditRecord
from core.inventory.models import StockMovement
from core.masterdata.loader import OPENING_BALANCE, SET_STOCK
from core.masterdata.schema import MasterDataError
from core.orders import backorders
from tests.support.loading import load, row_counts
from tests.support.master_data import SYSTEM
from tests.support.service_calls import as_user, detail, place, stock

MASTER = Path(__file__).resolve().parents[1] / "data" / "master.yaml"
TEA_SH_3 = "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 3}\n"


async def movements(services) -> list[tuple[str, str, int, str | None, str]]:
    async with services.unit_of_work(SYSTEM) as ctx:
        rows = await ctx.session.execute(
            select(StockMovement.kind, StockMovement.on_hand_delta, StockMovement.reason, StockMovement.actor).order_by(
                StockMovement.id
            )
        )
        return [(str(kind), delta, reason, actor) for kind, delta, reason, actor in rows]


async def test_a_new_stock_row_opens_at_the_files_count_as_a_movement(services):
    report = await load(services)
    assert await stock(services, "TEA-001", "SH") == (100, 0)
    assert await stock(services, "CUP-01", "GZ") == (40, 0)
    assert await movements(services) == [
        ("adjustment", 100, OPENING_BALANCE, "system (test)"),
        ("adjustment", 40, OPENING_BALANCE, "system (test)"),
    ]
    assert report.counts["stock"]["created"] == 2
    assert "stock: 2 new rows;" in report.summary()


async def test_reloading_the_file_keeps_a_receipt_booked_since(services):
    # Given the file loaded and 20 received since
    await load(services)
    await as_user(services, None, lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 20, "PO-1"))
    # When the file is loaded again (to add a user, say)
    report = await load(services)
    # Then the receipt is still there, and the report says the count was kept
    assert await stock(services, "TEA-001", "SH") == (120, 0)
    assert "stock: 2 existing kept (1 differs from the file; use --set-stock to overwrite)" in report.summary()
    assert [m[:2] for m in await movements(services)] == [("adjustment", 100), ("adjustment", 40), ("receipt", 20)]


async def test_reloading_keeps_what_orders_hold_and_what_was_written_off(services):
    await load(services)
    no = await place(services, items={"TEA-001": 5}, by="李雷")
    await as_user(services, None, lambda ctx: backorders.adjust(ctx, "TEA-001", "SH", -10, "broken"))
    before = await row_counts(services)
    await load(services)
    assert await stock(services, "TEA-001", "SH") == (90, 5)
    assert (await detail(services, no))["status"] != "backordered"
    assert await row_counts(services) == before  # no movement, no audit row


async def test_loading_the_same_file_twice_writes_nothing_the_second_time(services):
    await load(services)
    before = await row_counts(services)
    report = await load(services)
    assert await row_counts(services) == before
    assert report.counts["stock"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert "stock: 2 existing kept;" in report.summary()


async def test_set_stock_books_the_difference_as_an_audited_adjustment(services):
    await load(services)
    await as_user(services, None, lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 20))
    report = await load(services, "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 95}\n", set_stock=True)
    assert await stock(services, "TEA-001", "SH") == (95, 0)
    assert (await movements(services))[-1] == ("adjustment", -25, SET_STOCK, "system (test)")
    async with services.unit_of_work(SYSTEM) as ctx:
        record = (await ctx.session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1))).one()
    assert (record.entity, record.entity_key, record.action, record.reason) == (
        "stock",
        "TEA-001@SH",
        "adjustment",
        SET_STOCK,
    )
    assert (record.actor, record.source, record.data) == ("system", "test", {"delta": -25})
    assert report.summary() == "stock: 1 adjusted"


async def test_set_stock_twice_adjusts_only_once(services):
    await load(services)
    await as_user(services, None, lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 20))
    first = await load(services, set_stock=True)
    before = await row_counts(services)
    second = await load(services, set_stock=True)
    assert await stock(services, "TEA-001", "SH") == (100, 0)
    assert await row_counts(services) == before
    assert "stock: 1 adjusted, 1 unchanged;" in first.summary()
    assert "stock: 2 unchanged;" in second.summary()


async def test_set_stock_below_what_is_reserved_refuses_the_whole_file(services):
    await load(services)
    await place(services, items={"TEA-001": 5}, by="李雷")
    before = await row_counts(services)
    text = (
        "products:\n  - {sku: NEW-1, name: New, price: '1.00'}\n"
        "stock:\n  - {sku: CUP-01, warehouse: GZ, on_hand: 7}\n  - {sku: TEA-001, warehouse: SH, on_hand: 3}\n"
    )
    with pytest.raises(
        MasterDataError, match=r"stock row 2 \(TEA-001@SH\): on_hand: cannot set TEA-001 in SH to 3: 5 are reserved"
    ):
        await load(services, text, set_stock=True)
    assert await row_counts(services) == before
    assert (await stock(services, "TEA-001", "SH"), await stock(services, "CUP-01", "GZ")) == ((100, 5), (40, 0))


async def test_without_set_stock_a_count_below_reserved_is_simply_kept(services):
    await load(services)
    await place(services, items={"TEA-001": 5}, by="李雷")
    report = await load(services, TEA_SH_3)
    assert await stock(services, "TEA-001", "SH") == (100, 5)
    assert report.summary() == "stock: 1 existing kept (1 differs from the file; use --set-stock to overwrite)"


async def test_set_stock_raising_the_count_serves_waiting_backorders_like_oms_adjust(services):
    # Given a count taken down to 3 and an order for 5 waiting
    await load(services)
    await load(services, TEA_SH_3, set_stock=True)
    waiting = await place(services, items={"TEA-001": 5}, by="李雷")
    assert (await detail(services, waiting))["status"] == "backordered"
    # When a stock take sets the count to 10
    report = await load(services, "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 10}\n", set_stock=True)
    # Then the waiting order gets its stock, as a positive `oms adjust` would give it
    assert report.served == [waiting]
    assert report.summary() == f"stock: 1 adjusted; allocated {waiting}"
    assert (await detail(services, waiting))["status"] != "backordered"
    assert await stock(services, "TEA-001", "SH") == (10, 5)


async def test_a_new_stock_row_also_serves_waiting_backorders(services):
    await load(services, MASTER.read_text(encoding="utf-8").replace("on_hand: 100", "on_hand: 0"))
    waiting = await place(services, items={"TEA-001": 5}, by="李雷")
    assert (await detail(services, waiting))["status"] == "backordered"
    report = await load(services, "stock:\n  - {sku: TEA-001, warehouse: GZ, on_hand: 8}\n")
    assert report.served == [waiting]
    assert await stock(services, "TEA-001", "GZ") == (8, 5)


@pytest.mark.pg
async def test_set_stock_on_postgresql_locks_and_adjusts(pg_services):
    await load(pg_services)
    await as_user(pg_services, None, lambda ctx: backorders.receive(ctx, "TEA-001", "SH", 20))
    kept = await load(pg_services)
    assert await stock(pg_services, "TEA-001", "SH") == (120, 0)
    adjusted = await load(pg_services, set_stock=True)
    assert await stock(pg_services, "TEA-001", "SH") == (100, 0)
    assert "1 differs from the file" in kept.summary() and "stock: 1 adjusted, 1 unchanged" in adjusted.summary()


async def test_a_stock_rows_location_is_master_data_the_file_sets_again(services):
    from core.catalog.models import Product
    from core.inventory.models import StockLevel, Warehouse

    async def location() -> str | None:
        async with services.unit_of_work(SYSTEM) as ctx:
            return await ctx.session.scalar(
                select(StockLevel.location)
                .join(Product)
                .join(Warehouse)
                .where(Product.sku == "TEA-001", Warehouse.code == "SH")
            )

    await load(services)
    assert await location() is None
    await load(services, "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 100, location: A-03-2}\n")
    assert await location() == "A-03-2"  # moved on the shelf: the count is kept, the place is the file's
    assert await stock(services, "TEA-001", "SH") == (100, 0)
    await load(services)  # a file that does not say where leaves it where it is
    assert await location() == "A-03-2"
