"""A channel's master-data row and its secrets from the settings, as a kind module needs them."""

from __future__ import annotations

from core.channels.models import Channel
from core.config import Settings
from integrations.channels.base import ChannelConfig


def config_for(channel: Channel, settings: Settings) -> ChannelConfig:
    return ChannelConfig(
        code=channel.code,
        kind=channel.kind,
        secret=settings.channel_secret(channel.code),
        token=settings.channel_secret(channel.code, "TOKEN"),
        shop_domain=channel.shop_domain,
        api_url=channel.api_url,
    )
