"""What an order needs from the shelves: kit lines expanded to components, summed per SKU.

Summing before the check is what stops two lines (or a kit and a plain line) that share a SKU
from each passing the availability check on their own and overselling together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from core.catalog.models import KitComponent, Product

# Built once: every allocation asks it (building a statement costs more than SQLite takes to run it).
_PRODUCTS = select(Product).where(Product.id.in_(bindparam("ids", expanding=True))).execution_options(autoflush=False)
_HELD_PRODUCTS = "oms_held_products"  # session.info: product id -> the product hold_products loaded


@dataclass(frozen=True)
class LineNeed:
    """Units of one stocked product that one order line needs (a kit line has one per component)."""

    line_id: int
    product_id: int
    qty: int


async def kit_recipes(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """{kit product id: [(component product id, qty per kit), ...]} for the kits among ``product_ids``."""
    ids = list(set(product_ids))
    loaded = loaded_products(session, ids, "is_kit")
    if len(loaded) == len(ids) and not any(p.is_kit for p in loaded.values()):
        return {}  # no kits among products this transaction already read: nothing to expand
    rows = await session.execute(
        select(KitComponent.kit_id, KitComponent.component_id, KitComponent.qty)
        .where(KitComponent.kit_id.in_(ids))
        .order_by(KitComponent.kit_id, KitComponent.component_id)
    )
    recipes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for kit_id, component_id, qty in rows:
        recipes[kit_id].append((component_id, qty))
    return dict(recipes)


def line_needs(lines: Sequence[tuple[int, int, int]], recipes: Mapping[int, list[tuple[int, int]]]) -> list[LineNeed]:
    """Expand (line id, product id, qty) triples into needs of stocked products."""
    needs: list[LineNeed] = []
    for line_id, product_id, qty in lines:
        if product_id in recipes:
            needs.extend(LineNeed(line_id, component, qty * per_kit) for component, per_kit in recipes[product_id])
        else:
            needs.append(LineNeed(line_id, product_id, qty))
    return needs


async def skus_by_id(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, str]:
    ids = set(product_ids)
    found = {pid: product.sku for pid, product in loaded_products(session, ids, "sku").items()}
    missing = ids - set(found)
    if missing:
        rows = await session.execute(select(Product.id, Product.sku).where(Product.id.in_(missing)))
        found.update({pid: sku for pid, sku in rows})
    return found


async def hold_products(session: AsyncSession, ids: Iterable[int]) -> None:
    """Load the products ``ids`` that this session does not hold yet, in one query, and keep them
    for the session's life, so what a change asks of them next (make to order, kit, SKU, safety
    stock) is read from the session, not the database: approving an order read its products four
    times, a column or two each. (The session's identity map holds unchanged objects weakly: one
    nobody references is gone by the next question.) Without an autoflush: a product the session
    changed is in its identity map, so not read here, and the change's status walk is written once."""
    identity_map = session.sync_session.identity_map
    held = session.info.setdefault(_HELD_PRODUCTS, {})
    missing = []
    for pid in set(ids):
        product = identity_map.get(identity_key(Product, pid))
        if product is None:
            missing.append(pid)
        else:
            held[pid] = product
    if missing:
        held.update((product.id, product) for product in await session.scalars(_PRODUCTS, {"ids": missing}))


def loaded_products(session: AsyncSession, ids: Iterable[int], *attributes: str) -> dict[int, Product]:
    """Products this session already holds with ``attributes`` loaded, so a placement does not read
    them twice. What the session holds is what a query would see after its autoflush (the
    session's own changes included); an expired attribute is not loaded, so asks the database."""
    identity_map = session.sync_session.identity_map
    loaded = {}
    for pid in ids:
        product = identity_map.get(identity_key(Product, pid))
        if product is not None and all(name in product.__dict__ for name in attributes):
            loaded[pid] = product
    return loaded
