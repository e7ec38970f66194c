"""Runs the reconciliation polls: each due channel's API is asked what changed since its cursor,
and every order found goes through the same idempotent intake as a webhook's."""

from __future__ import annotations

import logging

from aiohttp import ClientSession

from core.auth import Actor
from core.channels import intake, polling
from core.config import channel_env_code
from core.services import Services
from integrations.channels.config import config_for
from integrations.channels.kinds import KINDS

log = logging.getLogger(__name__)


async def poll_due(services: Services, http: ClientSession) -> int:
    """Poll every channel that is due; returns how many orders the polls took in (new or changed)."""
    taken = 0
    for due in await polling.claim_due(services):
        channel = due.channel
        config = config_for(channel, services.settings)
        error: str | None = None
        if not config.token:  # every kind's API needs it; without one the webhooks are all there is
            await polling.finished(
                services, due, f"not polled: OMS_CHANNEL_{channel_env_code(channel.code)}_TOKEN is not set"
            )
            continue
        try:
            found = await KINDS[channel.kind].changed_since(config, due.since, http)
            for order in found:
                outcome = await services.run(
                    Actor.system(f"channel:{channel.code}"), lambda ctx, c=channel, o=order: intake.take(ctx, c, o)
                )
                if outcome.outcome not in (intake.Outcome.UNCHANGED, intake.Outcome.SKIPPED):
                    taken += 1
                    log.info("channel %s poll: %s (%s)", channel.code, outcome, order.display_no)
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            log.warning("channel %s poll failed: %s", channel.code, error)
        await polling.finished(services, due, error)
    return taken
