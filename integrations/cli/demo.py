"""``oms demo``: a fresh demo database with a few orders in interesting states, then the server."""

from __future__ import annotations

from pathlib import Path

from bot.wiring import load_master_file
from core.auth import Actor
from core.db.migrate import upgrade
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.status import PaymentTerms
from core.services import Services
from core.users.actors import actor_by_name

DEMO_DATA = Path(__file__).resolve().parents[2] / "core" / "demo" / "demo.yaml"

# (who enters it, customer, lines, terms): one order per interesting state.
DEMO_ORDERS = [
    ("李雷", "C001", {"TEA-001": 2, "CUP-01": 2}, PaymentTerms.CREDIT),  # VIP on credit: straight to the warehouse
    ("李雷", "C002", {"TEA-003": 20}, PaymentTerms.PREPAID),  # 5,360.00: waits for an approver
    ("李雷", "C003", {"TEA-002": 3}, PaymentTerms.PREPAID),  # waits for payment
    ("李雷", "C002", {"TEA-01": 1}, PaymentTerms.PREPAID),  # typo: on hold, with a suggestion
]


async def build_demo(services: Services) -> list[str]:
    """Schema, demo master data, and the demo orders; returns their numbers."""
    await upgrade(services.engine)
    async with services.unit_of_work(Actor.system("demo")) as ctx:
        await load_master_file(ctx, DEMO_DATA)
    numbers = []
    for who, customer, items, terms in DEMO_ORDERS:
        async with services.unit_of_work(Actor.system("demo")) as ctx:
            actor = await actor_by_name(ctx.session, who, "demo")
        async with services.unit_of_work(actor) as ctx:
            lines = tuple(DraftLine(sku, qty) for sku, qty in items.items())
            order = await place_order(ctx, OrderDraft(customer, lines, payment_terms=terms))
            numbers.append(f"{order.order_no} ({order.status})")
    return numbers
