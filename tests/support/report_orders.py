"""A handful of orders written straight to the database, with sums worked out by hand, for the report tests.

The business is in Asia/Shanghai (UTC+8): the local day 2026-11-20 starts at 2026-11-19 16:00 UTC.
A (today, 256.00, 浙江省), B (yesterday's last second, 180.00, 浙江, one cup of four returned), C
(today, cancelled), D (today, shopify, 412.20 after 10 % off; a gift box without cost and a tea),
E (eight days ago, 100.00, 上海市, its return rejected).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from core.catalog.models import Product
from core.customers.models import Customer
from core.orders.models import Order, OrderLine, ReturnRequest
from core.users.models import User
from tests.support.clock import Clock
from tests.support.master_data import SYSTEM, seed

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY_START = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)


def D(value: str) -> Decimal:
    return Decimal(value)


async def build(services) -> None:
    services.clock = Clock(NOW)
    await seed(services)
    async with services.unit_of_work(SYSTEM) as ctx:
        s = ctx.session
        await s.execute(update(Product).where(Product.sku == "TEA-001").values(product_line="茶叶"))
        await s.execute(update(Product).where(Product.sku == "CUP-01").values(product_line="茶具"))
        products = {p.sku: p for p in await s.scalars(select(Product))}
        customer = await s.scalar(select(Customer).where(Customer.code == "C001"))
        lilei = await s.scalar(select(User).where(User.name == "李雷"))
        counter = iter(range(1, 100))

        def order(at, total, lines, *, status="confirmed", province="浙江", channel="direct", sales=True, sub=None):
            order_lines = [
                OrderLine(
                    product_id=products[sku].id,
                    sku=sku,
                    name=sku,
                    qty=qty,
                    list_price=D(price),
                    unit_price=D(price),
                    line_total=D(price) * qty,
                    shipped_qty=shipped,
                    returned_qty=returned,
                )
                for sku, qty, price, shipped, returned in lines
            ]
            subtotal = sub or sum((line.line_total for line in order_lines), D("0"))
            row = Order(
                order_no=f"SO-{next(counter)}",
                customer_id=customer.id,
                status=status,
                channel=channel,
                ship_to={"province": province, "city": "x"},
                subtotal=subtotal,
                discount_total=D(total) - subtotal,
                total=D(total),
                salesperson_id=lilei.id if sales else None,
                created_at=at,
                updated_at=at,
                status_changed_at=at,
                lines=order_lines,
            )
            s.add(row)
            return row

        # A: the first moment of today, local time.
        order(DAY_START, "256.00", [("TEA-001", 2, "128.00", 0, 0)], province="浙江省")
        # B: the last second of yesterday; shipped 4 cups, one came back.
        b = order(DAY_START - timedelta(seconds=1), "180.00", [("CUP-01", 4, "45.00", 4, 1)], province="浙江")
        # C: today but cancelled: in no figure.
        order(DAY_START + timedelta(hours=1), "1000.00", [("TEA-001", 5, "200.00", 0, 0)], status="cancelled")
        # D: today, from the shop, 10% off the order; the gift box has no cost.
        order(
            DAY_START + timedelta(hours=2),
            "412.20",
            [("GIFT-01", 1, "330.00", 0, 0), ("TEA-001", 1, "128.00", 0, 0)],
            province="广东省",
            channel="shopify",
            sales=False,
        )
        # E: eight local days ago, in the 30 days only.
        e = order(DAY_START - timedelta(days=8), "100.00", [("TEA-001", 1, "100.00", 1, 0)], province="上海市")
        await s.flush()
        for target, status, refund in ((b, "approved", "45.00"), (e, "rejected", "0")):
            s.add(
                ReturnRequest(
                    rma_no=f"RMA-{target.id}",
                    order_id=target.id,
                    status=status,
                    refund_amount=D(refund),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


async def add_non_sales(services) -> None:
    """Today's orders that are not sales: one received, one on hold and one pending approval (not
    accepted yet), and a project contract (its own report, /projects) of 280,000.00 with 李雷."""
    async with services.unit_of_work(SYSTEM) as ctx:
        s = ctx.session
        tea = await s.scalar(select(Product).where(Product.sku == "TEA-001"))
        customer = await s.scalar(select(Customer).where(Customer.code == "C001"))
        lilei = await s.scalar(select(User).where(User.name == "李雷"))
        at = DAY_START + timedelta(hours=1)
        for no, status in (("NS-1", "received"), ("NS-2", "on_hold"), ("NS-3", "pending_approval")):
            line = OrderLine(
                product_id=tea.id, sku="TEA-001", name="TEA-001", qty=3, list_price=D("128.00"),
                unit_price=D("128.00"), line_total=D("384.00"), shipped_qty=0, returned_qty=0,
            )  # fmt: skip
            s.add(
                Order(
                    order_no=no,
                    customer_id=customer.id,
                    status=status,
                    channel="direct",
                    ship_to={"province": "浙江", "city": "x"},
                    subtotal=D("384.00"),
                    discount_total=D("0"),
                    total=D("384.00"),
                    salesperson_id=lilei.id,
                    created_at=at,
                    updated_at=at,
                    status_changed_at=at,
                    lines=[line],
                )  # fmt: skip
            )
        s.add(
            Order(
                order_no="PRJ-1",
                kind="contract",
                customer_id=customer.id,
                status="confirmed",
                channel="direct",
                ship_to={"province": "浙江", "city": "x"},
                subtotal=D("280000.00"),
                discount_total=D("0"),
                total=D("280000.00"),
                salesperson_id=lilei.id,
                created_at=at,
                updated_at=at,
                status_changed_at=at,
            )  # fmt: skip
        )
