"""The composition root: settings in, the whole server out.

``oms serve`` (and ``oms demo`` through it) builds the running system here and nowhere else: the
services with the chat layer's review policy, the app, and every dispatcher and adapter mounted in
one place. The adapters switch themselves on from the settings, so the list is complete. Tests that
need only part of the server call ``build_app`` with the mounts they need.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from bot.wiring import services_for
from core.config import Settings
from integrations.api import mount as api
from integrations.carriers.route import mount as carriers
from integrations.channels.route import mount as channels
from integrations.console.api import mount as console
from integrations.dingtalk.adapter import mount as dingtalk
from integrations.slack.adapter import mount as slack
from integrations.telegram.adapter import mount as telegram
from integrations.web import events, outbox
from integrations.web.app import Mount, build_app
from integrations.web.timers import mount as timers
from integrations.webhooks import mount as webhooks
from integrations.wecom.adapter import mount as wecom

# The REST API, the console and chat adapters, the sales channels' webhooks (with their worker and
# polls), the carriers' tracking pushes, the outbound webhooks' client, then what works in the
# background: the outbox sends replies (and webhooks), events reach subscribers, timers fire.
MOUNTS: tuple[Mount, ...] = (
    api,
    console,
    dingtalk,
    wecom,
    slack,
    telegram,
    channels,
    carriers,
    webhooks,
    outbox.mount,
    events.mount,
    timers,
)


def bootstrap(settings: Settings, *, mounts: Sequence[Mount] = MOUNTS) -> tuple[web.Application, list[str]]:
    """The server for ``settings`` and the names of the adapters that switched themselves on."""
    return build_app(services_for(settings), list(mounts))
