"""From a channel's words to ours: its SKUs to our products, its buyers to our customers.

A channel SKU maps through the channel's ``sku_map`` (from the master-data file, or learned when a
person fixed a held order), else it is taken as our SKU. A buyer is matched by phone or e-mail,
else by the customer created for them before (``<CHANNEL>-<buyer id>``), else created with the
channel's default tier. Nothing here refuses an order: what does not fit holds it for a person.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from core.audit.record import audit
from core.channels.models import Channel, ChannelSku
from core.channels.normalised import ChannelCustomer, ChannelLine
from core.context import Context
from core.customers.models import Customer

SKU_LENGTH = 64  # OrderLine.sku


def key(channel_sku: str) -> str:
    """Channel SKUs and variant ids are matched without regard to case or surrounding spaces."""
    return channel_sku.strip().upper()


async def sku_map(ctx: Context, channel: Channel) -> dict[str, str]:
    rows = await ctx.session.execute(
        select(ChannelSku.channel_sku, ChannelSku.sku).where(ChannelSku.channel_id == channel.id)
    )
    return {key(channel_sku): sku for channel_sku, sku in rows.all()}


def our_sku(line: ChannelLine, mapping: dict[str, str]) -> str:
    """Our SKU for a channel line: mapped by its SKU, then by its variant id, else its own SKU
    (``VARIANT-<id>`` when the channel sent none), which holds the order if we do not sell it."""
    for candidate in (line.channel_sku, line.variant_id):
        if candidate and key(candidate) in mapping:
            return mapping[key(candidate)]
    if line.channel_sku and line.channel_sku.strip():
        return key(line.channel_sku)[:SKU_LENGTH]
    return f"VARIANT-{line.variant_id or 'NONE'}"[:SKU_LENGTH]


async def learn(ctx: Context, channel: Channel, channel_sku: str, sku: str) -> None:
    """Remember that ``channel_sku`` on this channel is our ``sku`` (a fix made once)."""
    existing = await ctx.session.scalar(
        select(ChannelSku).where(ChannelSku.channel_id == channel.id, ChannelSku.channel_sku == key(channel_sku))
    )
    if existing is None:
        ctx.session.add(ChannelSku(channel_id=channel.id, channel_sku=key(channel_sku), sku=sku, learned=True))
    elif existing.sku != sku:
        existing.sku, existing.learned = sku, True
    audit(ctx, entity="channel", key=channel.code, action="map_sku", reason=f"{key(channel_sku)} → {sku}")


async def customer_for(ctx: Context, channel: Channel, buyer: ChannelCustomer | None) -> Customer:
    """The customer an order from ``buyer`` belongs to, created if the channel's buyer is new."""
    phone = (buyer.phone or "").strip() if buyer else ""
    email = (buyer.email or "").strip().lower() if buyer else ""
    matches = ([Customer.phone == phone] if phone else []) + ([func.lower(Customer.email) == email] if email else [])
    if matches:
        found = (
            await ctx.session.scalars(
                select(Customer)
                .where(or_(*matches))
                .options(selectinload(Customer.addresses))
                .order_by(Customer.id)
                .limit(1)
            )
        ).first()
        if found is not None:
            return found
    buyer_id = (buyer.channel_customer_id or "").strip() if buyer else ""
    code = f"{channel.code}-{buyer_id or 'GUEST'}"[:64]
    found = (
        await ctx.session.scalars(
            select(Customer).where(Customer.code == code).options(selectinload(Customer.addresses))
        )
    ).one_or_none()
    if found is not None:
        return found
    name = (buyer.name or "").strip() if buyer else ""
    customer = Customer(
        code=code,
        name=(name or f"{channel.name} {buyer_id or 'guest'}")[:200],
        tier=channel.default_tier,
        phone=phone or None,
        email=email or None,
        addresses=[],
    )
    ctx.session.add(customer)
    await ctx.session.flush()
    audit(ctx, entity="customer", key=code, action="create", reason=f"new buyer from channel {channel.code}")
    return customer
