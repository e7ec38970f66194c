"""Loading master data: idempotent upserts in dependency order, all inside the caller's transaction.

A bad reference raises ``MasterDataError`` naming the row; the caller's unit of work then rolls
everything back, so a file is loaded whole or not at all. Rows that did not change write nothing
(no audit row, no stock movement), so loading the same file twice is a no-op.

Stock in the file is an opening balance: it sets ``on_hand`` only for a stock row that does not
exist yet. Re-loading the file to add a user must not undo the day's receipts and shipments, so an
existing row keeps its count unless the load is asked to ``set_stock``; then the difference is
booked as an adjustment, exactly as ``oms adjust`` books one, and never below what is reserved.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from core.audit.record import audit
from core.auth import Permission
from core.catalog.models import KitComponent, Product
from core.catalog.search import nearest_sku
from core.channels.models import Channel, ChannelSku
from core.context import Context
from core.contracts.models import LabourRate
from core.customers.models import Address, Customer
from core.inventory.models import MovementKind, StockLevel, Warehouse
from core.inventory.reservations import check_safety_stock, movement
from core.inventory.stock import move_stock
from core.masterdata import schema
from core.masterdata.schema import MasterData, MasterDataError, where
from core.orders.backorders import release_backorders
from core.pricing.models import PriceList, PriceListItem
from core.pricing.models import PromotionRow as Promotion
from core.production.bom import find_cycle
from core.production.models import BomComponent
from core.rebates.models import RebateAgreement
from core.users.models import ChatIdentity, User

OPENING_BALANCE = "master data load (opening balance)"
SET_STOCK = "master data load (--set-stock)"


@dataclass
class LoadReport:
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"created": 0, "updated": 0, "unchanged": 0})
    )
    workflows: list[dict[str, Any]] = field(default_factory=list)
    set_stock: bool = False
    served: list[str] = field(default_factory=list)  # backordered orders the new stock allocated

    def count(self, section: str, outcome: str) -> None:
        self.counts[section][outcome] = self.counts[section].get(outcome, 0) + 1

    def summary(self) -> str:
        parts = []
        for section, counts in self.counts.items():
            said = self._stock(counts) if section == "stock" else [f"{n} {what}" for what, n in counts.items() if n]
            parts.append(f"{section}: {', '.join(said) or 'nothing'}")
        if self.workflows and "workflows" not in self.counts:
            parts.append(f"workflows: {len(self.workflows)} read")
        if self.served:
            parts.append(f"allocated {', '.join(self.served)}")
        return "; ".join(parts) or "nothing to load"

    def _stock(self, counts: dict[str, int]) -> list[str]:
        """Stock says what happened to the counts: an operator must see that a reload kept them."""
        new, adjusted, unchanged, kept = (counts.get(k, 0) for k in ("created", "updated", "unchanged", "kept"))
        said = [f"{new} new row{'s' if new != 1 else ''}"] if new else []
        if self.set_stock:
            return said + [f"{n} {what}" for what, n in (("adjusted", adjusted), ("unchanged", unchanged)) if n]
        if unchanged + kept:
            differ = f" ({kept} differ{'s' if kept == 1 else ''} from the file; use --set-stock to overwrite)"
            said.append(f"{unchanged + kept} existing kept" + (differ if kept else ""))
        return said


async def load_file(ctx: Context, path: Path | str, *, set_stock: bool = False) -> LoadReport:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise MasterDataError(where=str(path), problem=f"cannot read the file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise MasterDataError(where=str(path), problem="not UTF-8 text") from None
    return await load_master_data(ctx, schema.parse_document(text), set_stock=set_stock)


async def load_master_data(ctx: Context, data: MasterData, *, set_stock: bool = False) -> LoadReport:
    """``set_stock``: the file's counts overwrite existing ones (an audited adjustment each)."""
    ctx.actor.require(Permission.MASTER_DATA)
    loader = _Loader(ctx, LoadReport(set_stock=set_stock))
    await loader.warehouses(data.warehouses)
    await loader.products(data.products)
    await loader.stock(data.stock)
    await loader.customers(data.customers)
    await loader.price_lists(data.price_lists)
    await loader.promotions(data.promotions)
    await loader.rebates(data.rebates)
    await loader.users(data.users)
    await loader.channels(data.channels)
    await loader.labour_rates(data.labour_rates)
    # Not stored here: the workflow engine validates and stores them, and may count them in the report.
    loader.report.workflows = [row.model_dump(by_alias=True) for row in data.workflows]
    await ctx.session.flush()
    if loader.raised:  # like a receipt: more on hand serves the backorders (once everything else is loaded)
        loader.report.served = await release_backorders(ctx, loader.raised)
    return loader.report


def _fail(section: str, index: int, row: Any, reason: str) -> MasterDataError:
    location = where(section, index, row)
    return MasterDataError(where=location, problem=reason)


def _apply(entity: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set the values that differ; return {field: [old, new]} for the audit row."""
    changes = {}
    for name, value in values.items():
        old = getattr(entity, name)
        if old != value:
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(entity, name, value)
    return changes


class _Loader:
    def __init__(self, ctx: Context, report: LoadReport) -> None:
        self.ctx, self.report, self.session = ctx, report, ctx.session
        self.raised: set[int] = set()  # products whose on hand went up

    def _record(self, section: str, entity: str, key: str, created: bool, changes: dict[str, Any]) -> None:
        if created:
            self.report.count(section, "created")
            audit(self.ctx, entity=entity, key=key, action="load", reason="created by master data load")
        elif changes:
            self.report.count(section, "updated")
            audit(
                self.ctx, entity=entity, key=key, action="load", reason="updated by master data load", changes=changes
            )
        else:
            self.report.count(section, "unchanged")

    async def _by(self, model: Any, column: Any, keys: list[str], *options: Any) -> dict[str, Any]:
        if not keys:
            return {}
        rows = await self.session.scalars(select(model).where(column.in_(keys)).options(*options))
        return {getattr(row, column.key): row for row in rows}

    async def warehouses(self, rows: list[schema.WarehouseRow]) -> None:
        existing = await self._by(Warehouse, Warehouse.code, [r.code for r in rows])
        for row in rows:
            values = row.model_dump()
            warehouse = existing.get(row.code)
            if warehouse is None:
                self.session.add(Warehouse(**values))
                self._record("warehouses", "warehouse", row.code, True, {})
            else:
                self._record("warehouses", "warehouse", row.code, False, _apply(warehouse, values))
        await self.session.flush()

    async def _skus(self) -> dict[str, Product]:
        return {p.sku: p for p in await self.session.scalars(select(Product).options(selectinload(Product.components)))}

    async def _warehouse_ids(self) -> dict[str, int]:
        return dict((await self.session.execute(select(Warehouse.code, Warehouse.id))).all())

    def _unknown_sku(self, section: str, index: int, row: Any, sku: str, known: set[str], where_: str) -> None:
        if sku not in known:
            suggestion = nearest_sku(sku, known)
            hint = f"; did you mean {suggestion}?" if suggestion else ""
            raise _fail(section, index, row, f"{where_}: unknown SKU {sku}{hint}")

    async def products(self, rows: list[schema.ProductRow]) -> None:
        products = await self._skus()
        created: set[str] = set()
        changes: dict[str, dict[str, Any]] = defaultdict(dict)
        for row in rows:  # every product first, so a kit may name components from the same file
            values = {
                "name": row.name,
                "cost": row.cost,
                "safety_stock": row.safety_stock,
                "product_line": row.product_line,
                "is_kit": bool(row.kit),
                "make_to_order": row.make_to_order,
                "active": row.active,
            }
            if row.price is not None:
                values["price"] = row.price
            product = products.get(row.sku)
            if product is None:
                product = Product(sku=row.sku, components=[], **{"price": Decimal("0.00"), **values})
                self.session.add(product)
                products[row.sku] = product
                created.add(row.sku)
            else:
                changes[row.sku].update(_apply(product, values))
        await self.session.flush()
        known = set(products)
        for index, row in enumerate(rows):
            if row.kit:
                changes[row.sku].update(self._set_kit(index, row, products, known))
            elif products[row.sku].components:
                products[row.sku].components = []
                changes[row.sku]["kit"] = None
        await self.session.flush()
        await self._no_nested_kits(rows, products)
        await self._boms(rows, products, changes)
        for row in rows:
            self._record("products", "product", row.sku, row.sku in created, changes.get(row.sku, {}))
        await self.session.flush()

    async def _no_nested_kits(self, rows: list[schema.ProductRow], products: dict[str, Product]) -> None:
        """A kit named in this file may already be a component of another kit in the database."""
        kit_ids = {products[row.sku].id: index for index, row in enumerate(rows) if row.kit}
        if not kit_ids:
            return
        used = (
            await self.session.execute(
                select(KitComponent.component_id, Product.sku)
                .join(Product, Product.id == KitComponent.kit_id)
                .where(KitComponent.component_id.in_(kit_ids))
                .order_by(KitComponent.component_id, Product.sku)
            )
        ).first()
        if used is not None:
            index = kit_ids[used.component_id]
            row = rows[index]
            raise _fail("products", index, row, f"kit: {row.sku} is a component of kit {used.sku}; kits cannot nest")

    async def _boms(
        self, rows: list[schema.ProductRow], products: dict[str, Product], changes: dict[str, dict[str, Any]]
    ) -> None:
        """Bills of materials: components known and not kits, and no product made (at any depth) of
        itself, counting the bills already stored for products this file leaves out."""
        sku_of = {p.id: sku for sku, p in products.items()}
        stored: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
        for parent, component, qty, scrap in await self.session.execute(
            select(BomComponent.product_id, BomComponent.component_id, BomComponent.qty, BomComponent.scrap_rate)
        ):
            stored[sku_of[parent]][sku_of[component]] = (qty, scrap)
        known = set(products)
        graph = {sku: list(parts) for sku, parts in stored.items()}
        for index, row in enumerate(rows):
            for position, item in enumerate(row.bom or []):
                self._unknown_sku("products", index, row, item.sku, known, f"bom.{position}.sku")
                if products[item.sku].is_kit:
                    raise _fail("products", index, row, f"bom.{position}.sku: {item.sku} is a kit; name its parts")
            graph[row.sku] = [item.sku for item in row.bom or []]
        cycle = find_cycle(graph)
        if cycle is not None:
            in_file = {row.sku: index for index, row in enumerate(rows)}
            ring = cycle[:-1]  # [A, B, A] closes on its first SKU
            at = next(sku for sku in ring if sku in in_file)
            start = ring.index(at)
            path = " → ".join(ring[start:] + ring[:start] + [at])
            raise _fail("products", in_file[at], rows[in_file[at]], f"bom: a cycle: {path}")
        for row in rows:
            wanted = {item.sku: (item.qty, item.scrap_rate) for item in row.bom or []}
            if wanted == stored.get(row.sku, {}):
                continue
            product = products[row.sku]
            current = {
                c.component_id: c
                for c in await self.session.scalars(select(BomComponent).where(BomComponent.product_id == product.id))
            }
            for component_id, line in current.items():
                if sku_of[component_id] not in wanted:
                    await self.session.delete(line)
            for sku, (qty, scrap) in wanted.items():
                line = current.get(products[sku].id)
                if line is None:
                    self.session.add(
                        BomComponent(product_id=product.id, component_id=products[sku].id, qty=qty, scrap_rate=scrap)
                    )
                else:
                    line.qty, line.scrap_rate = qty, scrap
            changes[row.sku]["bom"] = {sku: [str(q), str(r)] for sku, (q, r) in wanted.items()} or None
        await self.session.flush()

    def _set_kit(self, index: int, row: schema.ProductRow, products: dict[str, Product], known: set[str]) -> dict:
        kit = products[row.sku]
        wanted = {}
        for sku, qty in (row.kit or {}).items():
            self._unknown_sku("products", index, row, sku, known, f"kit.{sku}")
            if products[sku].is_kit:
                raise _fail("products", index, row, f"kit.{sku}: {sku} is itself a kit")
            wanted[products[sku].id] = qty
        changes: dict[str, Any] = {}
        if {c.component_id: c.qty for c in kit.components} != wanted:
            kit.components = [KitComponent(component_id=pid, qty=qty) for pid, qty in sorted(wanted.items())]
            changes["kit"] = dict(row.kit or {})
        if row.price is None:  # unpriced kit: the sum of its parts
            total = sum((products[sku].price * qty for sku, qty in (row.kit or {}).items()), Decimal("0.00"))
            changes.update(_apply(kit, {"price": total}))
        return changes

    async def stock(self, rows: list[schema.StockRow]) -> None:
        if not rows:
            return
        products = await self._skus()
        warehouse_ids = await self._warehouse_ids()
        known = set(products)
        counted = await self._counts({products[r.sku].id for r in rows if r.sku in products})
        opened: set[int] = set()
        for index, row in enumerate(rows):
            self._unknown_sku("stock", index, row, row.sku, known, "sku")
            if row.warehouse not in warehouse_ids:
                raise _fail("stock", index, row, f"warehouse: unknown warehouse {row.warehouse}")
            product = products[row.sku]
            if product.is_kit:
                raise _fail("stock", index, row, f"sku: {row.sku} is a kit; stock its components")
            warehouse_id = warehouse_ids[row.warehouse]
            current = counted.get((product.id, warehouse_id))
            if current is None:
                self._open(row, product.id, warehouse_id)
                opened.add(product.id)
                continue
            on_hand, reserved = current
            if row.on_hand == on_hand:
                self.report.count("stock", "unchanged")
            elif not self.report.set_stock:
                self.report.count("stock", "kept")
            else:
                if row.on_hand < reserved:
                    wanted = f"cannot set {row.sku} in {row.warehouse} to {row.on_hand}"
                    raise _fail("stock", index, row, f"on_hand: {wanted}: {reserved} are reserved")
                delta = row.on_hand - on_hand
                await move_stock(
                    self.ctx, row.sku, row.warehouse, delta, kind=MovementKind.ADJUSTMENT, reason=SET_STOCK
                )
                self.report.count("stock", "updated")
                if delta > 0:
                    self.raised.add(product.id)
            if row.location is not None:  # where it sits is master data: the file's word stands
                await self.session.execute(
                    update(StockLevel)
                    .where(StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse_id)
                    .where(or_(StockLevel.location.is_(None), StockLevel.location != row.location))
                    .values(location=row.location)
                    .execution_options(synchronize_session=False)
                )
        await self.session.flush()
        if opened:
            await check_safety_stock(self.ctx, opened)

    async def _counts(self, product_ids: set[int]) -> dict[tuple[int, int], tuple[int, int]]:
        """{(product, warehouse): (on hand, reserved)}, locked when the counts are to be overwritten."""
        stmt = (
            select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved)
            .where(StockLevel.product_id.in_(sorted(product_ids)))
            .order_by(StockLevel.product_id, StockLevel.warehouse_id)
        )
        if self.report.set_stock:
            stmt = stmt.with_for_update()
        return {(p, w): (on_hand, reserved) for p, w, on_hand, reserved in await self.session.execute(stmt)}

    def _open(self, row: schema.StockRow, product_id: int, warehouse_id: int) -> None:
        """A new stock row starts at the file's count, booked as its first movement."""
        self.session.add(
            StockLevel(
                product_id=product_id, warehouse_id=warehouse_id, on_hand=row.on_hand, reserved=0, location=row.location
            )
        )
        if row.on_hand:
            movement(
                self.ctx, MovementKind.ADJUSTMENT, product_id, warehouse_id, on_hand=row.on_hand, reason=OPENING_BALANCE
            )
            self.raised.add(product_id)
        self._record("stock", "stock", row.key, True, {})

    async def customers(self, rows: list[schema.CustomerRow]) -> None:
        existing = await self._by(Customer, Customer.code, [r.code for r in rows], selectinload(Customer.addresses))
        for row in rows:
            values = row.model_dump(exclude={"addresses", "group"}) | {"customer_group": row.group}
            customer = existing.get(row.code)
            created = customer is None
            if created:
                customer = Customer(**values, addresses=[])
                self.session.add(customer)
                changes: dict[str, Any] = {}
            else:
                changes = _apply(customer, values)
            by_label = {a.label: a for a in customer.addresses}
            for address in row.addresses:
                fields = address.model_dump()
                if address.label in by_label:
                    if moved := _apply(by_label[address.label], fields):
                        changes[f"address.{address.label}"] = moved
                else:
                    customer.addresses.append(Address(**fields))
                    changes[f"address.{address.label}"] = "added"
            self._record("customers", "customer", row.code, created, changes)
        await self.session.flush()

    async def price_lists(self, rows: list[schema.PriceListRow]) -> None:
        if not rows:
            return
        products = await self._skus()
        known = set(products)
        existing = await self._by(PriceList, PriceList.name, [r.name for r in rows], selectinload(PriceList.items))
        customers = await self._customer_ids()
        for index, row in enumerate(rows):
            for item in row.items:
                self._unknown_sku("price_lists", index, row, item.sku, known, f"items.{item.sku}")
            if row.customer and row.customer not in customers:
                raise _fail("price_lists", index, row, f"customer: unknown customer {row.customer}")
            wanted = {(products[i.sku].id, i.min_qty): i.price for i in row.items}
            buyer = {
                "tier": row.tier,
                "channel": row.channel,
                "customer_group": row.group,
                "customer_id": customers.get(row.customer) if row.customer else None,
            }
            price_list = existing.get(row.name)
            created = price_list is None
            if created:
                price_list = PriceList(name=row.name, items=[], **buyer)
                self.session.add(price_list)
                changes: dict[str, Any] = {}
            else:
                changes = _apply(price_list, buyer)
            if _replace_items(price_list, wanted):
                changes["items"] = len(wanted)
            self._record("price_lists", "price_list", row.name, created, changes)
        await self.session.flush()

    async def promotions(self, rows: list[schema.PromotionRow]) -> None:
        if not rows:
            return
        known = set(await self._skus())
        existing = await self._by(Promotion, Promotion.name, [r.key for r in rows])
        codes = await self._by(Promotion, Promotion.code, [r.code for r in rows if r.code])
        holders = {code: promotion.name for code, promotion in codes.items()}
        for index, row in enumerate(rows):
            for sku in row.bundle or {}:
                self._unknown_sku("promotions", index, row, sku, known, f"bundle.{sku}")
            if row.code and holders.get(row.code, row.key) != row.key:
                raise _fail("promotions", index, row, f"code: {row.code} is already used by {holders[row.code]}")
            if row.code:
                holders[row.code] = row.key
            values = {"code": row.code, "kind": row.kind, "terms": row.terms(), "active": row.active}
            promotion = existing.get(row.key)
            if promotion is None:
                self.session.add(Promotion(name=row.key, **values))
                self._record("promotions", "promotion", row.key, True, {})
            else:
                self._record("promotions", "promotion", row.key, False, _apply(promotion, values))
        await self.session.flush()

    async def _customer_ids(self) -> dict[str, int]:
        return dict((await self.session.execute(select(Customer.code, Customer.id))).all())

    async def rebates(self, rows: list[schema.RebateRow]) -> None:
        """Rebate agreements: one per customer and one per group, on a product line that exists."""
        if not rows:
            return
        customers = await self._customer_ids()
        groups = set(await self.session.scalars(select(Customer.customer_group).distinct()))
        lines = set(await self.session.scalars(select(Product.product_line).distinct())) - {None}
        existing = await self._by(RebateAgreement, RebateAgreement.name, [r.name for r in rows])
        holders = {
            (a.customer_id, a.customer_group): a.name for a in await self.session.scalars(select(RebateAgreement))
        }
        for index, row in enumerate(rows):
            if row.customer and row.customer not in customers:
                raise _fail("rebates", index, row, f"customer: unknown customer {row.customer}")
            if row.group and row.group not in groups:
                raise _fail("rebates", index, row, f"group: no customer is in group {row.group}")
            if row.product_line and row.product_line not in lines:
                known = ", ".join(sorted(lines)) or "none"
                raise _fail(
                    "rebates", index, row, f"product_line: unknown product line {row.product_line} (known: {known})"
                )
            subject = (customers.get(row.customer) if row.customer else None, row.group)
            holder = holders.get(subject, row.name)
            if holder != row.name:
                who = f"customer {row.customer}" if row.customer else f"group {row.group}"
                raise _fail(
                    "rebates",
                    index,
                    row,
                    f"{'customer' if row.customer else 'group'}: {who} already has rebate agreement {holder}",
                )
            holders[subject] = row.name
            values = {
                "customer_id": subject[0],
                "customer_group": row.group,
                "period": row.period,
                "product_line": row.product_line,
                "steps": [{"above": str(s.above), "rate": str(s.rate)} for s in row.steps],
                "active": row.active,
            }
            agreement = existing.get(row.name)
            if agreement is None:
                self.session.add(RebateAgreement(name=row.name, **values))
                self._record("rebates", "rebate_agreement", row.name, True, {})
            else:
                self._record("rebates", "rebate_agreement", row.name, False, _apply(agreement, values))
            await self.session.flush()  # free a subject before another row takes it

    async def users(self, rows: list[schema.UserRow]) -> None:
        if not rows:
            return
        warehouses = set(await self._warehouse_ids())
        customers = dict((await self.session.execute(select(Customer.code, Customer.id))).all())
        existing = await self._by(User, User.name, [r.name for r in rows], selectinload(User.identities))
        bound = {
            (i.platform, i.external_id): name
            for i, name in (
                await self.session.execute(select(ChatIdentity, User.name).join(User, User.id == ChatIdentity.user_id))
            ).all()
        }
        for index, row in enumerate(rows):
            for code in row.warehouses:
                if code not in warehouses:
                    raise _fail("users", index, row, f"warehouses: unknown warehouse {code}")
            if row.customer and row.customer not in customers:
                raise _fail("users", index, row, f"customer: unknown customer {row.customer}")
            for platform, external_id in row.identities.items():
                owner = bound.get((platform, external_id))
                if owner is not None and owner != row.name:
                    raise _fail(
                        "users", index, row, f"identities.{platform}: {external_id} is already bound to {owner}"
                    )
                bound[(platform, external_id)] = row.name
            values = {
                "roles": [r.value for r in row.roles],
                "warehouses": list(row.warehouses),
                "customer_id": customers.get(row.customer) if row.customer else None,
                "locale": row.locale,
                "active": row.active,
            }
            user = existing.get(row.name)
            created = user is None
            if created:
                user = User(name=row.name, identities=[], **values)
                self.session.add(user)
                changes: dict[str, Any] = {}
            else:
                changes = _apply(user, values)
            wanted = set(row.identities.items())
            current = {(i.platform, i.external_id): i for i in user.identities}
            if set(current) != wanted:
                for pair, identity in current.items():
                    if pair not in wanted:
                        user.identities.remove(identity)
                        bound.pop(pair, None)
                added = sorted(wanted - set(current))
                user.identities.extend(ChatIdentity(platform=p, external_id=e) for p, e in added)
                changes["identities"] = dict(row.identities)
                await self.session.flush()  # free the old (platform, id) pairs before another user takes them
            self._record("users", "user", row.name, created, changes)
        await self.session.flush()

    async def channels(self, rows: list[schema.ChannelRow]) -> None:
        """Channels and their file SKU maps. A mapping a person learned on a held order stays unless
        the file names that channel SKU itself (then the file wins)."""
        if not rows:
            return
        known = set(await self.session.scalars(select(Product.sku)))
        existing = await self._by(Channel, Channel.code, [r.code for r in rows])
        for index, row in enumerate(rows):
            for channel_sku, sku in row.sku_map.items():
                self._unknown_sku("channels", index, row, sku, known, f"sku_map.{channel_sku}")
            values = row.model_dump(exclude={"code", "sku_map"})
            channel = existing.get(row.code)
            created = channel is None
            if created:
                channel = Channel(code=row.code, **values)
                self.session.add(channel)
                await self.session.flush()
                changes: dict[str, Any] = {}
            else:
                changes = _apply(channel, values)
            mapped = {
                m.channel_sku: m
                for m in await self.session.scalars(select(ChannelSku).where(ChannelSku.channel_id == channel.id))
            }
            for channel_sku, sku in row.sku_map.items():
                current = mapped.get(channel_sku)
                if current is None:
                    self.session.add(ChannelSku(channel_id=channel.id, channel_sku=channel_sku, sku=sku))
                    changes[f"sku_map.{channel_sku}"] = sku
                elif (current.sku, current.learned) != (sku, False):
                    current.sku, current.learned = sku, False
                    changes[f"sku_map.{channel_sku}"] = sku
            self._record("channels", "channel", row.code, created, changes)
        await self.session.flush()

    async def labour_rates(self, rows: list[schema.LabourRateRow]) -> None:
        """Rates per person or role for hours logged on contracts; rates not in the file stay."""
        existing = await self._by(LabourRate, LabourRate.name, [r.name for r in rows])
        for row in rows:
            rate = existing.get(row.name)
            if rate is None:
                self.session.add(LabourRate(name=row.name, rate=row.rate))
                self._record("labour_rates", "labour_rate", row.name, True, {})
            else:
                self._record("labour_rates", "labour_rate", row.name, False, _apply(rate, {"rate": row.rate}))
        await self.session.flush()


def _replace_items(price_list: PriceList, wanted: dict[tuple[int, int], Decimal]) -> bool:
    """Make the list's items exactly ``wanted`` ({(product_id, min_qty): price}); True if anything changed.

    Items are changed in place: deleting a break and inserting it again in one flush would insert
    first and trip the (list, product, min_qty) unique constraint.
    """
    changed = False
    kept = set()
    for item in list(price_list.items):
        key = (item.product_id, item.min_qty)
        if key not in wanted:
            price_list.items.remove(item)
            changed = True
            continue
        kept.add(key)
        if item.price != wanted[key]:
            item.price = wanted[key]
            changed = True
    for (product_id, min_qty), price in wanted.items():
        if (product_id, min_qty) not in kept:
            price_list.items.append(PriceListItem(product_id=product_id, min_qty=min_qty, price=price))
            changed = True
    return changed
