"""When ``oms serve --workers N`` refuses to start, and that it says why in one line."""

from __future__ import annotations

from core.config import Settings
from integrations.cli.workers import refusal

PG = "postgresql://oms@db.internal/oms"


def test_one_worker_serves_anything():
    assert refusal(Settings(database_url="sqlite+aiosqlite:///oms.db"), 1) is None


def test_more_than_one_worker_needs_postgresql_in_any_spelling():
    reason = refusal(Settings(database_url="sqlite:///oms.db"), 3)
    assert reason is not None and reason.startswith("--workers 3 needs PostgreSQL: SQLite has one writer")
    assert "\n" not in reason
    assert refusal(Settings(database_url=PG), 2) is None
    assert refusal(Settings(database_url="postgres://oms@db.internal/oms"), 2) is None


def test_telegram_polling_has_one_poller_per_bot():
    polling = Settings(database_url=PG, telegram_bot_token="123:abc")
    assert "one getUpdates poller per bot" in refusal(polling, 2)
    webhook = Settings(database_url=PG, telegram_bot_token="123:abc", telegram_webhook_secret="s3cret")
    assert refusal(webhook, 2) is None


def test_no_workers_is_refused():
    assert refusal(Settings(database_url=PG), 0) == "--workers must be at least 1"
