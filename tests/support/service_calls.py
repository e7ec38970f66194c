"""Shortcuts for integration tests: run one service call as a named user, read rows back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import func, select

from core.audit.models import AuditRecord, DomainEvent
from core.catalog.models import Product
from core.context import Context
from core.inventory.models import StockLevel, Warehouse
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.views import order_detail
from core.services import Services
from tests.support.master_data import SYSTEM, actor

T = TypeVar("T")


async def as_user(services: Services, name: str | None, fn: Callable[[Context], Awaitable[T]]) -> T:
    who = SYSTEM if name is None else await actor(services, name)
    async with services.unit_of_work(who) as ctx:
        return await fn(ctx)


async def place(
    services: Services,
    customer: str = "C001",
    items: dict[str, int] | None = None,
    by: str | None = "李雷",
    **draft: Any,
) -> str:
    lines = tuple(DraftLine(sku, qty) for sku, qty in (items or {"TEA-001": 2}).items())
    order = await as_user(services, by, lambda ctx: place_order(ctx, OrderDraft(customer, lines, **draft)))
    return order.order_no


async def detail(services: Services, order_no: str) -> dict[str, Any]:
    return await as_user(services, None, lambda ctx: order_detail(ctx, order_no))


async def stock(services: Services, sku: str, warehouse: str) -> tuple[int, int]:
    async def read(ctx: Context) -> tuple[int, int]:
        row = (
            await ctx.session.execute(
                select(StockLevel.on_hand, StockLevel.reserved)
                .join(Product)
                .join(Warehouse)
                .where(Product.sku == sku, Warehouse.code == warehouse)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else (0, 0)

    return await as_user(services, None, read)


async def events(services: Services, name: str) -> list[dict[str, Any]]:
    async def read(ctx: Context) -> list[dict[str, Any]]:
        return list(
            await ctx.session.scalars(
                select(DomainEvent.payload).where(DomainEvent.name == name).order_by(DomainEvent.id)
            )
        )

    return await as_user(services, None, read)


async def audit_count(services: Services) -> int:
    return await as_user(services, None, lambda ctx: ctx.session.scalar(select(func.count(AuditRecord.id))))
