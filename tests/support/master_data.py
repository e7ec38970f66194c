"""Small master-data builders for tests that need a few rows, not the whole YAML loader."""

from __future__ import annotations

from decimal import Decimal

from core.auth import Actor, Role
from core.catalog.models import KitComponent, Product
from core.customers.models import Address, Customer
from core.inventory.models import StockLevel, Warehouse
from core.services import Services
from core.users.models import ChatIdentity, User

SYSTEM = Actor.system("test")

WAREHOUSES = [
    ("SH", "上海仓", "华东", 31.23, 121.47, 10),
    ("GZ", "广州仓", "华南", 23.13, 113.26, 20),
    ("BJ", "北京仓", "华北", 39.90, 116.40, 30),
]


async def seed(
    services: Services,
    *,
    stock: dict[tuple[str, str], int] | None = None,
    credit_limit: str = "50000",
    safety: dict[str, int] | None = None,
) -> None:
    """Three warehouses, TEA-001 / CUP-01 and the GIFT-01 kit, a VIP and a standard customer, one user per role."""
    stock = {("TEA-001", "SH"): 100, ("CUP-01", "GZ"): 40} if stock is None else stock
    safety = safety or {}
    async with services.unit_of_work(SYSTEM) as ctx:
        s = ctx.session
        warehouses = {
            code: Warehouse(code=code, name=name, region=region, lat=lat, lon=lon, priority=prio)
            for code, name, region, lat, lon, prio in WAREHOUSES
        }
        tea = Product(
            sku="TEA-001",
            name="龙井茶 250g",
            price=Decimal("128.00"),
            cost=Decimal("60.00"),
            safety_stock=safety.get("TEA-001", 0),
        )
        cup = Product(
            sku="CUP-01",
            name="青瓷杯",
            price=Decimal("45.00"),
            cost=Decimal("12.00"),
            safety_stock=safety.get("CUP-01", 0),
        )
        gift = Product(sku="GIFT-01", name="茶礼盒", price=Decimal("330.00"), is_kit=True)
        s.add_all([*warehouses.values(), tea, cup, gift])
        await s.flush()
        s.add_all(
            [
                KitComponent(kit_id=gift.id, component_id=tea.id, qty=2),
                KitComponent(kit_id=gift.id, component_id=cup.id, qty=2),
            ]
        )
        products = {"TEA-001": tea, "CUP-01": cup}
        for (sku, code), qty in stock.items():
            s.add(StockLevel(product_id=products[sku].id, warehouse_id=warehouses[code].id, on_hand=qty, reserved=0))
        vip = Customer(
            code="C001",
            name="杭州茶社",
            tier="vip",
            phone="13800138000",
            credit_limit=Decimal(credit_limit),
            addresses=[
                Address(label="default", province="浙江", city="杭州", line="西湖区龙井路1号", lat=30.25, lon=120.13)
            ],
        )
        std = Customer(
            code="C002",
            name="广州茶馆",
            tier="standard",
            phone="13900139000",
            credit_limit=Decimal("0"),
            addresses=[
                Address(label="default", province="广东", city="广州", line="天河区体育西路2号", lat=23.13, lon=113.32)
            ],
        )
        s.add_all([vip, std])
        await s.flush()
        users = [
            ("王芳", ["approver", "finance"], [], None),
            ("李雷", ["sales"], [], None),
            ("张仓", ["warehouse"], ["SH"], None),
            ("广仓", ["warehouse"], ["GZ"], None),
            ("经理", ["manager"], [], None),
            ("客服", ["service"], [], None),
            ("管理员", ["admin"], [], None),
            ("杭州茶社", ["customer"], [], vip.id),
            ("广州茶馆", ["customer"], [], std.id),
        ]
        for name, roles, whs, customer_id in users:
            s.add(
                User(
                    name=name,
                    roles=roles,
                    warehouses=whs,
                    customer_id=customer_id,
                    identities=[ChatIdentity(platform="console", external_id=name)],
                )
            )


async def actor(services: Services, name: str) -> Actor:
    from core.users.actors import actor_by_name

    async with services.unit_of_work(SYSTEM) as ctx:
        return await actor_by_name(ctx.session, name, f"test:{name}")


ROLE_OF = {r.value: r for r in Role}
