"""The outbox's client for webhook endpoints: one signed POST per row (``bot.reactions.webhooks``).

The row names its endpoint; the URL and secret are read when sending, so nothing secret is in the
outbox and a removed or disabled endpoint's rows are dropped. Standard Webhooks' delivery rules:
2xx is delivered; a redirect is a failure (never followed); 410 Gone disables the endpoint (the
row ends ``dead`` and the admins are told once); 429, 502, 503 and 504 with ``Retry-After`` are
throttling of this order's events, obeyed without counting as a failure; anything else, a timeout
(15 s) or a refused connection is retried along ``RETRY_SCHEDULE`` (about three days), then dead,
with the admins told in chat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.outbox.clients import DeliveryError, Dropped, Rejected, Throttled
from bot.reactions.webhooks import DEAD_LETTER, PLATFORM
from core.auth import Actor
from core.context import Context
from core.services import Services
from core.webhooks import envelope as envelopes
from core.webhooks import service
from integrations.webhooks.signing import headers

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15.0
# Standard Webhooks' example ladder after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 24 h (ten attempts over about three days and four hours).
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
THROTTLING = {429, 502, 503, 504}
MAX_RETRY_AFTER = 86400.0


class WebhookClient:
    platform = PLATFORM
    per_second = 50.0
    per_chat_per_minute = 6000.0  # one order's events back to back; the order is kept by the outbox

    def __init__(
        self,
        services: Services,
        *,
        retry_schedule: tuple[float, ...] = RETRY_SCHEDULE,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.retry_schedule = retry_schedule
        self.timeout = ClientTimeout(total=timeout)
        self.clock = clock
        self._session: ClientSession | None = None

    def _http(self) -> ClientSession:
        if self._session is None:
            self._session = ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        name, event = payload["endpoint"], payload["envelope"]
        target = await self.services.query(Actor.system("webhook"), lambda ctx: _target(ctx, name))
        if target is None or target[0] != payload.get("endpoint_id"):
            raise Dropped(f"webhook endpoint {name} was removed")
        _, url, secret, disabled = target
        if disabled:
            raise Dropped(f"webhook endpoint {name} is disabled")
        body = envelopes.body(event)
        timestamp = int(self.clock())
        try:
            async with self._http().post(
                url, data=body, headers=headers(secret, event["id"], timestamp, body), allow_redirects=False
            ) as response:
                status, retry_after = response.status, response.headers.get("retry-after")
                await response.read()
        except (ClientError, TimeoutError) as error:
            await self._failed(name, f"{type(error).__name__}: {error}".rstrip(": "))
            raise DeliveryError(f"webhook {name}: {error or type(error).__name__}") from error
        if 200 <= status < 300:
            await self._record(lambda ctx: service.delivered(ctx, name, ctx.now()))
            return f"{event['id']}:{status}"
        if status == 410:
            reason = "HTTP 410 Gone: the endpoint is now disabled (oms webhook enable to turn it back on)"
            await self._failed(name, reason, disable=True)
            raise Rejected(reason)
        if status in THROTTLING and (wait := _seconds(retry_after, self.clock())) is not None:
            await self._failed(name, f"HTTP {status}, Retry-After {retry_after}")
            raise Throttled(wait, chat_only=True)
        reason = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        await self._failed(name, reason)
        raise DeliveryError(f"webhook {name}: {reason}")

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        raise Rejected("a webhook is never edited")

    def dead_alert(self, row: dict[str, Any], reason: str) -> tuple[str, dict[str, Any]]:
        event = row["payload"].get("envelope", {})
        return DEAD_LETTER, {
            "endpoint": row["payload"].get("endpoint", row["recipient"].split(":", 1)[0]),
            "event_id": event.get("id", "?"),
            "event": event.get("type", "?"),
            "attempts": row["attempts"],
            "reason": reason,
        }

    async def _failed(self, name: str, error: str, *, disable: bool = False) -> None:
        await self._record(lambda ctx: service.failed(ctx, name, ctx.now(), error, disable=disable))

    async def _record(self, action: Callable[[Context], Any]) -> None:
        try:
            await self.services.run(Actor.system("webhook"), action)
        except Exception:  # health is a convenience: a failure to note it must not change the outcome
            log.exception("webhook: could not record the endpoint's health")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _target(ctx: Context, name: str) -> tuple[int, str, str, bool] | None:
    endpoint = await service.find_endpoint(ctx, name)
    if endpoint is None:
        return None
    return endpoint.id, endpoint.url, endpoint.secret, endpoint.disabled_at is not None


def _seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now (a number or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
        if seconds != seconds:  # NaN
            return None
    return min(max(seconds, 0.1), MAX_RETRY_AFTER)
