"""The digest and /report stalls name the parcels the carrier went quiet about, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.i18n import Translator
from bot.workflows.digest import compose
from core.reports.daily import DailyFigures
from core.reports.stages import StalledParcel, StallReport

SINCE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def report(*parcels: StalledParcel) -> StallReport:
    return StallReport(SINCE, [], [], list(parcels))


def test_the_digest_lists_stalled_parcels_with_their_quiet_moment():
    figures = DailyFigures(0, Decimal("0"), [])
    text = compose(
        Translator("zh-CN"), figures, report(StalledParcel("SO-100001", "YTO", "YT1", SINCE)), "Asia/Shanghai"
    )
    assert "长时间无物流更新的包裹：" in text
    assert "SO-100001 · YTO YT1 · 自 12-01 09:00 起无更新" in text


def test_no_stalled_parcel_no_line():
    text = compose(Translator("en"), DailyFigures(0, Decimal("0"), []), report(), "UTC")
    assert "no news" not in text
