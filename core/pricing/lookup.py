"""Reads the price lists and promotions that apply to an order into the pure pricing types.

Both change only by ``oms load``: what was read is kept as a copy per process under the config
stamp (``core.db.stamp``), so a placement prices from memory until someone loads new terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.models import Product
from core.customers.models import Customer
from core.db.stamp import Copies
from core.pricing.models import PriceList, PriceListItem, PromotionRow
from core.pricing.quote import PriceEntry, Promotion


async def price_entries(
    session: AsyncSession,
    skus: Iterable[str],
    tier: str | None,
    channel: str | None,
    *,
    customer_group: str | None = None,
    customer: Customer | None = None,
) -> list[PriceEntry]:
    """The rows of every list that may apply: for everyone, or for this tier, channel, group, customer."""
    wanted = sorted(set(skus))
    buyer = (customer.id, customer.code) if customer is not None else None
    key = (_database(session), "prices", tuple(wanted), tier, channel, customer_group, buyer)

    async def read() -> tuple[PriceEntry, ...]:
        return await _price_entries(session, wanted, tier, channel, customer_group, buyer)

    return list(await _COPIES.get(session, key, read))


async def _price_entries(
    session: AsyncSession,
    skus: list[str],
    tier: str | None,
    channel: str | None,
    customer_group: str | None,
    buyer: tuple[int, str] | None,
) -> tuple[PriceEntry, ...]:
    rows = await session.execute(
        select(
            PriceList.name,
            PriceList.tier,
            PriceList.channel,
            PriceList.customer_group,
            PriceList.customer_id,
            Product.sku,
            PriceListItem.min_qty,
            PriceListItem.price,
        )
        .join(PriceListItem, PriceListItem.price_list_id == PriceList.id)
        .join(Product, Product.id == PriceListItem.product_id)
        .where(
            Product.sku.in_(skus),
            or_(PriceList.tier.is_(None), PriceList.tier == tier),
            or_(PriceList.channel.is_(None), PriceList.channel == channel),
            or_(PriceList.customer_group.is_(None), PriceList.customer_group == customer_group),
            or_(PriceList.customer_id.is_(None), PriceList.customer_id == (buyer[0] if buyer else None)),
        )
    )
    return tuple(
        PriceEntry(
            price_list=name,
            sku=sku,
            price=price,
            min_qty=min_qty,
            tier=t,
            channel=c,
            customer_group=g,
            customer=buyer[1] if buyer is not None and customer_id is not None else None,
        )
        for name, t, c, g, customer_id, sku, min_qty, price in rows
    )


def to_promotion(row: PromotionRow) -> Promotion:
    terms = row.terms or {}

    def dec(key: str) -> Decimal | None:
        return Decimal(terms[key]) if terms.get(key) is not None else None

    return Promotion(
        kind=row.kind,
        name=row.name,
        code=row.code,
        percent_off=dec("percent_off"),
        amount_off=dec("amount_off"),
        spend=dec("spend"),
        save=dec("save"),
        repeat=bool(terms.get("repeat", False)),
        bundle={k: int(v) for k, v in terms["bundle"].items()} if terms.get("bundle") else None,
        bundle_price=dec("bundle_price"),
        min_spend=dec("min_spend"),
        active=row.active,
    )


async def active_promotions(session: AsyncSession) -> list[Promotion]:
    return list(await _COPIES.get(session, (_database(session), "promotions"), lambda: _active_promotions(session)))


async def _active_promotions(session: AsyncSession) -> tuple[Promotion, ...]:
    rows = await session.scalars(select(PromotionRow).where(PromotionRow.active.is_(True)).order_by(PromotionRow.id))
    return tuple(to_promotion(row) for row in rows)


def _database(session: AsyncSession) -> str:
    """Copies are per database: a process (a test run) may use several."""
    return str(session.sync_session.get_bind().url)


_COPIES = Copies()
