"""What every channel kind provides: check a delivery's bytes, name its keys, read its orders.

A kind module (``shopify``, ``woocommerce``, ``douyin``, ``standard``) is pure wire knowledge: it
verifies a request before anything is stored, says what to answer (each channel wants its own
exact ack), extracts the delivery key the channel repeats on retries, and later turns a stored
delivery into ``ChannelOrder``s, fetching from the channel's API where the push is thin (Douyin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiohttp import ClientSession

from core.channels.normalised import ChannelOrder


class Forged(Exception):
    """The signature does not match (or is missing): answer 401, store nothing."""


class Stale(Exception):
    """Signed, but outside the tolerance window (Standard Webhooks: 5 minutes): answer 401."""


class Malformed(Exception):
    """A stored delivery (or an API answer) is not the shape the kind reads: retrying cannot help,
    so the worker may dead-letter it at once."""


class ApiFailed(Exception):
    """The channel's API refused a call in its own terms (Douyin ``code`` other than 10000);
    transient or not, the worker retries it like any other error. HTTP errors stay
    ``aiohttp.ClientResponseError``."""

    def __init__(self, code: object, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Ack:
    """The exact answer a channel expects once the delivery is stored (or for a ping)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Delivery:
    """One verified unit of work to store in the inbox; a request may carry several (Douyin)."""

    key: str  # the de-duplication key: the same on the channel's retries of this delivery
    topic: str  # e.g. "orders/create", "order.updated", "douyin:100", "order.created"
    order_key: str | None  # the channel's order id when the request names it (None: in the body)
    body: bytes  # what to keep: the raw body (or, for a multi-message request, this message)
    occurred_at: datetime | None = None  # the channel's own event time, if it says
    headers: Mapping[str, str] = field(default_factory=dict)  # the headers worth keeping


@dataclass(frozen=True)
class Verified:
    deliveries: tuple[Delivery, ...]  # empty for a ping: answer ``ack`` and store nothing
    ack: Ack


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's master data plus its secrets, as a kind module needs them."""

    code: str
    kind: str
    secret: str | None
    # Per kind (each kind module's docstring has the detail):
    #   shopify      secret = webhook signing key        token = Admin API access token (polling only)
    #   woocommerce  secret = the webhook's Secret       token = REST "ck_…:cs_…" (polling only)
    #   douyin       secret = app_secret                 token = app_key[:access_token] (needed to verify)
    #   standard     secret = "whsec_…"                  token = bearer for {api_url}/orders (polling only)
    token: str | None = None
    shop_domain: str | None = None  # Shopify: acme.myshopify.com (checked when set); Douyin: the shop_id
    api_url: str | None = None  # the channel API's base URL (required for woocommerce and standard polls)


class Kind(Protocol):
    name: str

    def verify(self, channel: ChannelConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Verified:
        """Check the raw request; raise ``Forged`` or ``Stale``. Headers are case-insensitive."""
        ...

    async def orders(self, channel: ChannelConfig, topic: str, body: bytes, api: ClientSession) -> list[ChannelOrder]:
        """The orders a stored delivery speaks of, in their latest state known to it."""
        ...

    async def changed_since(self, channel: ChannelConfig, since: datetime, api: ClientSession) -> list[ChannelOrder]:
        """Reconciliation: every order the channel's API says changed at or after ``since``."""
        ...
