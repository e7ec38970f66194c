"""One typed settings object, read from ``OMS_*`` environment variables (and an optional file).

Nothing else in the code reads the environment: the composition root builds ``Settings`` once and
passes it down.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.inventory.planning import ShortagePolicy, Strategy

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///oms.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"

    allocation_strategy: Strategy = Strategy.NEAREST
    shortage_policy: ShortagePolicy = ShortagePolicy.BACKORDER
    # Review before confirmation when no workflow rule decides: orders above this total.
    approval_threshold: Decimal = Decimal("5000")
    # A contract milestone still not accepted the morning after its due date reminds the
    # salesperson; this many days later it is escalated to the managers.
    milestone_escalate_days: int = Field(default=3, ge=1, le=90)
    # A salesperson's manual discount above this percentage puts the order on hold (price).
    max_manual_discount_percent: Decimal = Decimal("15")
    # The daily digest: local time (in ``timezone``) and who receives it; empty roles turn it off.
    digest_time: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    digest_roles: list[str] = ["manager"]
    # Also post it to a group chat, e.g. "dingtalk:cid123" (sent through the outbox).
    digest_chat: str | None = Field(default=None, pattern=r"^(dingtalk|wecom|slack|telegram):\S+$")
    # The web console (SPEC §9): ``signin`` speaks only for the person signed in with a single-use
    # link; ``open`` lets anyone act as anyone (a demo; loopback addresses only); ``off`` unmounts
    # it. Unset: ``signin`` for ``oms serve``, ``open`` for ``oms demo``.
    console_mode: Literal["signin", "open", "off"] | None = None
    # The address people and platforms reach the server at (sign-in links; its host is accepted).
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+(/[^\s?#]*)?$")
    signin_link_minutes: int = Field(default=10, ge=1, le=60)
    console_session_idle_minutes: int = Field(default=12 * 60, ge=5)
    console_session_max_hours: int = Field(default=7 * 24, ge=1)

    # Printable documents: a folder whose files replace the shipped templates of the same name
    # (``picklist.html``, ``slip.html``, ``statement.html``, ``base.html``, ``style.css``, images).
    template_dir: Path | None = None

    # SQLite only: how long a writer waits for the lock before giving up.
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    sqlite_synchronous: str = "NORMAL"

    # Bounds on one request (refused with a clear error, nothing stored). Quantities and row ids
    # stay within PostgreSQL's INTEGER columns.
    max_order_lines: int = Field(default=200, ge=1, le=10_000)
    max_line_qty: int = Field(default=1_000_000, ge=1, le=2**31 - 1)  # per order line or stock movement
    max_text_length: int = Field(default=4000, ge=1)  # characters in one chat message
    max_json_body_bytes: int = Field(default=64 * 1024, ge=1024)  # the console's JSON requests
    max_json_depth: int = Field(default=32, ge=2, le=200)  # nesting in any JSON body we read
    # Images and files sent into chat (a chart, a PDF): larger ones are refused before anything is
    # queued; the stored bytes are forgotten after ``attachment_keep_days``.
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    attachment_keep_days: int = Field(default=30, ge=1)

    # Chat platforms (SPEC §9). An adapter whose credentials are absent stays off; every base URL
    # can be pointed elsewhere (a private proxy, or a test's fake platform).
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None  # xapp-…: Socket Mode, for deployments with no public URL
    slack_api_url: str = "https://slack.com/api/"

    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,256}$")
    # webhook (needs a public HTTPS URL) or polling; unset: webhook when a secret is given, else polling.
    telegram_mode: Literal["webhook", "polling"] | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"

    dingtalk_client_id: str | None = None  # the app's AppKey (also its robot code unless set below)
    dingtalk_client_secret: str | None = None
    dingtalk_mode: Literal["stream", "http"] = "stream"
    dingtalk_card_template_id: str | None = None
    dingtalk_callback_token: str | None = None  # http mode: the event subscription's token
    dingtalk_callback_aes_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{43}$")
    dingtalk_robot_code: str | None = None
    dingtalk_agent_id: str | None = None  # work notifications to one person; robot 1:1 messages without it
    dingtalk_api_url: str = "https://api.dingtalk.com"
    dingtalk_oapi_url: str = "https://oapi.dingtalk.com"

    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_encoding_aes_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{43}$")
    wecom_api_url: str = "https://qyapi.weixin.qq.com"

    # Sales channels (master data ``channels:``). Their secrets are per channel and never in the
    # file: ``OMS_CHANNEL_<CODE>_SECRET`` (signs the webhooks) and ``OMS_CHANNEL_<CODE>_TOKEN`` (the
    # channel's API), gathered here as {"SHOP1_SECRET": …} from the environment unless given.
    channel_credentials: dict[str, str] = {}
    channel_max_attempts: int = Field(default=8, ge=1, le=50)  # then the delivery is dead-lettered
    max_webhook_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)  # a channel's order JSON

    # Carrier tracking pushes (``POST /webhooks/carriers/…``); a push to a provider whose secret is
    # unset is refused (401). Kuaidi100 signs with the salt given when subscribing.
    kuaidi100_salt: str | None = None
    aftership_webhook_secret: str | None = None
    carrier_webhook_secret: str | None = None  # Standard Webhooks "whsec_…", for carriers and 3PLs posting directly
    max_carrier_push_bytes: int = Field(default=1024 * 1024, ge=1024)  # a Kuaidi100 param with a long history
    # A parcel with no scan for this long (and not delivered) becomes an exception, reason ``stalled``.
    tracking_stall_days: int = Field(default=3, ge=1, le=90)
    # Subscribing: with a key set, every shipped parcel is subscribed (through the outbox, retried)
    # so its pushes start: Kuaidi100 if its key is set (the callback is OMS_PUBLIC_URL +
    # /webhooks/carriers/kuaidi100, signed with the salt above), otherwise AfterShip (its webhook
    # URL and secret are set in AfterShip's dashboard). The API URLs can point at a proxy or a fake.
    kuaidi100_key: str | None = None
    kuaidi100_api_url: str = "https://poll.kuaidi100.com/poll"
    aftership_api_key: str | None = None
    aftership_api_url: str = "https://api.aftership.com/tracking/2025-01"

    @model_validator(mode="after")
    def _channel_credentials(self) -> Settings:
        if not self.channel_credentials:
            found = {m.group(1): value for name, value in os.environ.items() if (m := _CHANNEL_ENV.match(name))}
            self.channel_credentials = found
        return self

    def channel_secret(self, code: str, which: Literal["SECRET", "TOKEN"] = "SECRET") -> str | None:
        return self.channel_credentials.get(f"{channel_env_code(code)}_{which}") or None


_CHANNEL_ENV = re.compile(r"^OMS_CHANNEL_(.+_(?:SECRET|TOKEN))$")


def channel_env_code(code: str) -> str:
    """``shop-1`` → ``SHOP_1``: a channel code as it appears in its environment variables."""
    return re.sub(r"[^A-Z0-9]", "_", code.upper())
