"""``core.orders.listing.list_orders``: pages newest first, the shared filter, the actor's limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import Actor, PermissionDenied, Role
from core.customers.models import Customer
from core.masterdata.loader import load_file
from core.orders.filters import OrderFilter
from core.orders.listing import PageSizeOutOfRange, UnknownCursor, list_orders
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.status import OrderStatus, PaymentTerms
from integrations.cli.demo import DEMO_DATA

SYSTEM = Actor.system("test")


async def _place(services, customer: str, terms: PaymentTerms) -> str:
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await place_order(ctx, OrderDraft(customer, (DraftLine("CUP-01", 1),), payment_terms=terms))
        return order.order_no


async def test_pages_are_newest_first_and_filtered(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_file(ctx, DEMO_DATA)
    credit = [await _place(services, "C001", PaymentTerms.CREDIT) for _ in range(3)]
    prepaid = await _place(services, "C003", PaymentTerms.PREPAID)
    async with services.reading() as session:
        ctx = services._context(session, SYSTEM)
        first = await list_orders(ctx, OrderFilter(), limit=2)
        assert [o.order_no for o in first.orders] == [prepaid, credit[2]] and first.has_more
        rest = await list_orders(ctx, OrderFilter(), limit=2, starting_after=credit[2])
        assert [o.order_no for o in rest.orders] == [credit[1], credit[0]] and not rest.has_more
        waiting = await list_orders(ctx, OrderFilter(statuses=(OrderStatus.AWAITING_PAYMENT,)))
        assert [o.order_no for o in waiting.orders] == [prepaid]
        with pytest.raises(PageSizeOutOfRange):
            await list_orders(ctx, OrderFilter(), limit=101)
        with pytest.raises(UnknownCursor):
            await list_orders(ctx, OrderFilter(), starting_after="SO-1")
        c003 = await session.scalar(select(Customer.id).where(Customer.code == "C003"))
        customer = Actor(name="c3", roles=frozenset({Role.CUSTOMER}), source="test", customer_id=c003)
        own = await list_orders(services._context(session, customer), OrderFilter())
        assert [o.order_no for o in own.orders] == [prepaid]
        with pytest.raises(UnknownCursor):  # another customer's order is no cursor for them
            await list_orders(services._context(session, customer), OrderFilter(), starting_after=credit[0])
        nobody = Actor(name="x", roles=frozenset(), source="test")
        with pytest.raises(PermissionDenied):
            await list_orders(services._context(session, nobody), OrderFilter())
