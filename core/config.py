"""One typed settings object, read from ``OMS_*`` environment variables (and an optional file).

Nothing else in the code reads the environment: the composition root builds ``Settings`` once and
passes it down.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
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
    # A salesperson's manual discount above this percentage puts the order on hold (price).
    max_manual_discount_percent: Decimal = Decimal("15")
    # The daily digest: local time (in ``timezone``) and who receives it; empty roles turn it off.
    digest_time: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    digest_roles: list[str] = ["manager"]
    # Also post it to a group chat, e.g. "dingtalk:cid123" (sent through the outbox).
    digest_chat: str | None = Field(default=None, pattern=r"^(dingtalk|wecom|slack|telegram):\S+$")
    # SQLite only: how long a writer waits for the lock before giving up.
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    sqlite_synchronous: str = "NORMAL"
