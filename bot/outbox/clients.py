"""What the dispatcher needs from a platform client, and the answers it understands.

Each adapter (DingTalk, WeCom, Slack, Telegram) provides a client; it translates a neutral
payload into its platform's call and a platform's throttling or error into these exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.views import Attachment

__all__ = [
    "Attachment",
    "DeliveryError",
    "PlatformClient",
    "Rejected",
    "Throttled",
]  # Attachment: what send_attachment gets


class DeliveryError(Exception):
    """The platform did not take the message; try again later."""


@dataclass
class Throttled(DeliveryError):
    """The platform asked us to slow down; ``retry_after`` seconds is its own word on when.

    Most platforms' limits are for the whole app (Slack per method and workspace, WeCom and
    DingTalk per app), so nothing more goes to that platform until then; ``chat_only`` when the
    limit was for one chat (a Telegram flood in a group, a DingTalk person's flow control).
    """

    retry_after: float
    chat_only: bool = False


class Rejected(Exception):
    """The platform will never take this message (bad recipient, malformed card): do not retry."""


class Dropped(Rejected):
    """Nobody wants this message any more (its webhook endpoint was removed or disabled): it ends
    ``dead`` without an alert (whoever removed it knows; a disabling was alerted once)."""


class PlatformClient(Protocol):
    platform: str
    per_second: float  # overall rate the platform allows
    per_chat_per_minute: float  # rate one chat allows (e.g. DingTalk robots: 20 a minute)
    # Optional: ``chat_per_minute(recipient) -> float`` when groups and direct chats differ (Telegram).
    # Optional: ``retry_schedule: tuple[float, ...]``, seconds to wait after the 1st, 2nd, ...
    # failure, dead once it is used up (instead of the dispatcher's ``max_attempts`` and backoff).
    # Optional: ``dead_alert(row, reason) -> (message, params)``, the admins' alert for a dead row,
    # told on all their platforms (for a client that is not a chat platform, as webhooks).

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        """Deliver; return the platform's message id (needed to edit the message later)."""

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        """Replace an earlier message (a card whose outcome changed)."""

    # Optional: ``send_attachment(recipient, attachment, payload, dedupe_key) -> str`` sends an image
    # or a file (``bot.views.Attachment``; ``payload["text"]`` is its caption, ``payload["attachment"]``
    # names it) the platform's own way and returns its message id. A client without it has every
    # attachment refused (dead, the admins told) rather than silently sent as text.
