"""The outbox's clients for subscribing parcels with Kuaidi100 and AfterShip.

Each is a ``PlatformClient`` whose "chat" is one parcel (``SF:SF1001``) and whose payload says
what it is (``bot.reactions.subscriptions``); the key, the salt and the callback URL come from the
settings when the call is made. Their answers become the dispatcher's words: accepted, or already
subscribed, is delivered; a refusal that no retry can change (a bad key, a carrier or number the
aggregator will not take, our own missing setting) is ``Rejected``, so the row ends ``dead`` with
the reason and the admins are told; anything else (a 5xx, a timeout, Kuaidi100's ``500``) is a
``DeliveryError`` and is retried with the outbox's backoff.

Kuaidi100 ``POST /poll``, form ``schema=json`` and ``param`` = {company, number, key,
parameters: {callbackurl, salt, resultv2, phone}} (the official kuaidi100-api demos); the answer
is ``{"result":true,"returnCode":"200","message":"提交成功"}``, ``501`` is "already subscribed".
AfterShip ``POST <version>/trackings`` with header ``as-api-key`` and a JSON tracking; ``meta.code``
4003 is "already exists".
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.outbox.clients import DeliveryError, Rejected, Throttled
from core.config import Settings

log = logging.getLogger(__name__)
TIMEOUT = ClientTimeout(total=15)
CALLBACK_PATH = "/webhooks/carriers/kuaidi100"

KUAIDI100_DONE = {"200", "501"}  # submitted; already subscribed
# The subscriber, the data or the carrier is refused: the same call will be refused again.
KUAIDI100_REFUSED = {
    "600": "not a valid subscriber (OMS_KUAIDI100_KEY)",
    "601": "the key has expired",
    "700": "the subscription's data is wrong (carrier code, number or callback URL)",
    "701": "Kuaidi100 does not take subscriptions for this carrier",
    "702": "Kuaidi100 cannot tell the carrier of this number",
}
AFTERSHIP_EXISTS = 4003
AFTERSHIP_THROTTLE_SECONDS = 5.0


class _Client:
    per_second = 5.0
    per_chat_per_minute = 60.0  # one parcel, one call: no per-chat limit to speak of

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: ClientSession | None = None

    def _http(self) -> ClientSession:
        if self._session is None:
            self._session = ClientSession(timeout=TIMEOUT)
        return self._session

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        raise Rejected("a subscription is never edited")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Kuaidi100Subscriber(_Client):
    platform = "kuaidi100"

    def param(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The subscription's ``param`` as Kuaidi100 reads it (the key and salt added here)."""
        s = self.settings
        if not s.public_url:
            raise Rejected("OMS_PUBLIC_URL is not set: Kuaidi100 would have no callback URL")
        if not s.kuaidi100_salt:
            raise Rejected("OMS_KUAIDI100_SALT is not set: its pushes could not be verified")
        parameters = {
            "callbackurl": s.public_url.rstrip("/") + CALLBACK_PATH,
            "salt": s.kuaidi100_salt,
            "resultv2": "1",  # each data[] entry with its status label and area
        }
        if payload.get("phone"):  # SF checks the receiver's phone (its last four digits)
            parameters["phone"] = payload["phone"]
        return {
            "company": payload["company"],
            "number": payload["tracking_no"],
            "key": s.kuaidi100_key,
            "parameters": parameters,
        }

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        param = json.dumps(self.param(payload), ensure_ascii=False, separators=(",", ":"))
        try:
            async with self._http().post(
                self.settings.kuaidi100_api_url, data={"schema": "json", "param": param}
            ) as response:
                text = await response.text()
                if response.status >= 500:
                    raise DeliveryError(f"kuaidi100: HTTP {response.status}")
        except (ClientError, TimeoutError) as error:
            raise DeliveryError(f"kuaidi100: {error or type(error).__name__}") from error
        try:
            answer = json.loads(text)
        except ValueError as error:
            raise DeliveryError(f"kuaidi100: HTTP {response.status}, not JSON: {text[:100]!r}") from error
        if not isinstance(answer, dict):
            raise DeliveryError(f"kuaidi100: HTTP {response.status}, not an answer: {text[:100]!r}")
        code = str(answer.get("returnCode") or "")
        message = str(answer.get("message") or "")
        if code in KUAIDI100_DONE:
            return f"{payload['company']}:{payload['tracking_no']}:{code}"
        if code in KUAIDI100_REFUSED:
            raise Rejected(f"kuaidi100 {code} {message}: {KUAIDI100_REFUSED[code]}")
        raise DeliveryError(f"kuaidi100 {code or response.status} {message}".strip())


class AfterShipSubscriber(_Client):
    platform = "aftership"

    def body(self, payload: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tracking_number": payload["tracking_no"],
            "slug": payload["company"],
            "order_id": payload["order_no"],
            "order_number": payload["order_no"],
        }
        if payload.get("phone"):
            body["customers"] = [{"phone_number": payload["phone"]}]
        return body

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        url = self.settings.aftership_api_url.rstrip("/") + "/trackings"
        headers = {"as-api-key": self.settings.aftership_api_key or "", "Content-Type": "application/json"}
        try:
            async with self._http().post(url, json=self.body(payload), headers=headers) as response:
                status, text = response.status, await response.text()
                retry_after = response.headers.get("retry-after")
        except (ClientError, TimeoutError) as error:
            raise DeliveryError(f"aftership: {error or type(error).__name__}") from error
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        meta = answer.get("meta") if isinstance(answer, dict) else None
        code = meta.get("code") if isinstance(meta, dict) else None
        message = str(meta.get("message") or "") if isinstance(meta, dict) else text[:100]
        if 200 <= status < 300 or code == AFTERSHIP_EXISTS:
            data = answer.get("data") if isinstance(answer, dict) else None
            tracking = (data.get("tracking") or data) if isinstance(data, dict) else {}
            return str(tracking.get("id") or f"{payload['company']}:{payload['tracking_no']}")
        if status == 429:
            raise Throttled(_seconds(retry_after, AFTERSHIP_THROTTLE_SECONDS))
        if status >= 500:
            raise DeliveryError(f"aftership: HTTP {status} {message}".strip())
        raise Rejected(f"aftership {code or status} {message}".strip())


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(float(value), 0.1) if value else default
    except ValueError:
        return default


def clients(settings: Settings) -> list[_Client]:
    """The subscriber the settings switch on (the same rule as ``bot.reactions.subscriptions``)."""
    if settings.kuaidi100_key:
        if not settings.public_url or not settings.kuaidi100_salt:
            log.warning(
                "kuaidi100: OMS_KUAIDI100_KEY is set but OMS_PUBLIC_URL or OMS_KUAIDI100_SALT is not; "
                "subscriptions will be refused until both are"
            )
        return [Kuaidi100Subscriber(settings)]
    if settings.aftership_api_key:
        return [AfterShipSubscriber(settings)]
    return []
