"""Rows written in bulk across tables: on PostgreSQL one flush's append-only rows of every table go
in one statement (data-modifying CTEs), and must arrive whole, in the order they were added, and
go with a rolled-back savepoint like any other row; a flush too big for one statement's bind
parameters is still written whole."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit.models import AuditRecord, DomainEvent
from core.audit.record import audit
from core.catalog.models import Product
from core.context import Context
from core.events.catalogue import OrderReceived
from core.events.store import record
from core.inventory.models import MovementKind, StockMovement, Warehouse
from core.inventory.reservations import movement
from core.services import Services
from tests.support.master_data import SYSTEM, seed
from tests.support.statements import statements


async def a_product_and_warehouse(services: Services) -> tuple[int, int]:
    await seed(services)
    async with services.reading() as session:
        product = await session.scalar(select(Product.id).order_by(Product.id).limit(1))
        warehouse = await session.scalar(select(Warehouse.id).order_by(Warehouse.id).limit(1))
    return product, warehouse


def history_of(ctx: Context, tag: str, product: int, warehouse: int, n: int = 3) -> None:
    for i in range(n):
        audit(ctx, entity="test", key=f"{tag}-{i}", action="note", reason=None if i == 0 else f"reason {i}")
        record(ctx, OrderReceived(order_no=f"{tag}-{i}", customer="C001", channel="test", at=ctx.now()))
        movement(ctx, MovementKind.ADJUSTMENT, product, warehouse, on_hand=i, reason=f"{tag}-{i}")


async def written(services: Services, tag: str) -> tuple[list, list, list]:
    async with services.reading() as session:
        audits = list(
            await session.execute(
                select(AuditRecord.entity_key, AuditRecord.reason, AuditRecord.data)
                .where(AuditRecord.entity_key.startswith(tag))
                .order_by(AuditRecord.id)
            )
        )
        events = list(
            await session.execute(
                select(DomainEvent.payload["order_no"].as_string(), DomainEvent.version, DomainEvent.processed_at)
                .where(DomainEvent.payload["order_no"].as_string().startswith(tag))
                .order_by(DomainEvent.id)
            )
        )
        moves = list(
            await session.execute(
                select(StockMovement.reason, StockMovement.on_hand_delta)
                .where(StockMovement.reason.startswith(tag))
                .order_by(StockMovement.id)
            )
        )
    return audits, events, moves


async def rows_arrive_whole_and_in_order(services: Services) -> list[str]:
    product, warehouse = await a_product_and_warehouse(services)
    with statements(services) as seen:
        async with services.unit_of_work(SYSTEM) as ctx:
            history_of(ctx, "whole", product, warehouse)
            await ctx.session.flush()
    audits, events, moves = await written(services, "whole")
    assert [tuple(row) for row in audits] == [
        ("whole-0", None, {}),
        ("whole-1", "reason 1", {}),
        ("whole-2", "reason 2", {}),
    ]
    assert [tuple(row) for row in events] == [(f"whole-{i}", 1, None) for i in range(3)]
    assert [tuple(row) for row in moves] == [(f"whole-{i}", i) for i in range(3)]
    return [s for s in seen if "INSERT INTO" in s]


async def test_rows_of_several_tables_arrive_whole_and_in_order(services):
    inserts = await rows_arrive_whole_and_in_order(services)
    assert len(inserts) == 3  # SQLite: one INSERT per table


@pytest.mark.pg
async def test_on_postgres_rows_of_several_tables_go_in_one_statement(pg_services):
    inserts = await rows_arrive_whole_and_in_order(pg_services)
    assert len(inserts) == 1, inserts
    [statement] = inserts
    assert statement.startswith("WITH ")
    for table in ("audit_record", "domain_event", "stock_movement"):
        assert f"INSERT INTO {table} " in statement


@pytest.mark.pg
async def test_on_postgres_a_rolled_back_savepoint_takes_its_bulk_rows_with_it(pg_services):
    product, warehouse = await a_product_and_warehouse(pg_services)
    async with pg_services.turn(SYSTEM) as ctx:
        history_of(ctx, "kept", product, warehouse, n=1)

        async def refused(step: Context) -> None:
            history_of(step, "undone", product, warehouse, n=2)
            await step.session.flush()  # written in one statement, then rolled back with the savepoint
            raise RuntimeError("refused")

        with pytest.raises(RuntimeError):
            await pg_services.run(SYSTEM, refused)
    kept = await written(pg_services, "kept")
    undone = await written(pg_services, "undone")
    assert [len(rows) for rows in kept] == [1, 1, 1]
    assert [len(rows) for rows in undone] == [0, 0, 0]


@pytest.mark.pg
async def test_on_postgres_a_flush_beyond_one_statements_parameters_is_written_whole(pg_services):
    # 4,000 audit rows of 11 columns are 44,000 parameters: more than one PostgreSQL statement takes
    product, warehouse = await a_product_and_warehouse(pg_services)
    async with pg_services.unit_of_work(SYSTEM) as ctx:
        for i in range(4000):
            audit(ctx, entity="test", key=f"big-{i:04}", action="note")
        history_of(ctx, "bigger", product, warehouse, n=2)
    audits, _, _ = await written(pg_services, "big-")
    assert [row[0] for row in audits] == [f"big-{i:04}" for i in range(4000)]
    assert [len(rows) for rows in await written(pg_services, "bigger")] == [2, 2, 2]
