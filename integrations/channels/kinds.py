"""Every channel kind by its ``ChannelKind`` value: what the route and the worker look a channel's kind up in."""

from __future__ import annotations

from core.channels.normalised import ChannelKind
from integrations.channels import douyin, shopify, standard, woocommerce
from integrations.channels.base import Kind

KINDS: dict[str, Kind] = {
    ChannelKind.SHOPIFY.value: shopify.KIND,
    ChannelKind.WOOCOMMERCE.value: woocommerce.KIND,
    ChannelKind.DOUYIN.value: douyin.KIND,
    ChannelKind.STANDARD.value: standard.KIND,
}
