"""A channel's order as the core understands it, whatever shape it arrived in.

Each channel adapter (``integrations/channels``) turns its own payload into a ``ChannelOrder``;
everything after that (mapping, customers, holds, updates, cancellations) is the same for every
channel. Money is what the buyer paid on the channel, in Decimal; times are timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class ChannelKind(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    DOUYIN = "douyin"
    STANDARD = "standard"


class ChannelPayment(StrEnum):
    PAID = "paid"
    PENDING = "pending"
    COD = "cod"  # cash on delivery: the carrier collects


class UpstreamState(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ChannelLine:
    channel_sku: str | None  # the SKU as the channel knows it (may be empty on Shopify)
    title: str
    qty: int
    unit_price: Decimal  # what the buyer paid per unit, before order-level discounts
    variant_id: str | None = None  # the channel's product/variant id, a fallback key for sku_map


@dataclass(frozen=True)
class ChannelCustomer:
    channel_customer_id: str | None
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ChannelOrder:
    order_id: str  # the channel's own id (Shopify ``id``, Woo ``id``, Douyin ``p_id``): our idempotency key
    display_no: str  # what the merchant sees: ``#1001``
    updated_at: datetime  # orders "latest state wins" by this
    state: UpstreamState
    payment: ChannelPayment
    currency: str
    lines: tuple[ChannelLine, ...]
    customer: ChannelCustomer | None  # None: redacted or a guest with nothing given
    # Our ship-to shape (``core.customers.models.Address.snapshot``): contact, phone, province,
    # city, line, postcode; None when the channel sent none (or redacted it).
    ship_to: dict[str, object] | None
    shipping: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")  # order-level discounts the channel applied
    total: Decimal = Decimal("0")  # what the buyer pays in all
    note: str | None = None
    cancel_reason: str | None = None
    test: bool = False  # a channel's test order (Shopify ``test: true``)
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
