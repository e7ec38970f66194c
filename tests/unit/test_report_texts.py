"""/report's words: what it understands, how groups are labelled, the bars of a long breakdown."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.i18n import Translator
from bot.reports import ReportRequest, bars_of, group_label, parse
from core.reports.figures import Breakdown, Group
from core.reports.periods import named


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], ReportRequest("today", None)),
        (["today"], ReportRequest("today", None)),
        (["7D"], ReportRequest("7d", None)),
        (["30天"], ReportRequest("30d", None)),
        (["今天", "按", "地区"], ReportRequest("today", "region")),
        (["7天", "按产品线"], ReportRequest("7d", "line")),
        (["30d", "by", "channel"], ReportRequest("30d", "channel")),
        (["7d", "sales"], ReportRequest("7d", "sales")),
        (["by", "region"], ReportRequest("today", "region")),
        (["渠道"], ReportRequest("today", "channel")),
    ],
)
def test_what_report_understands(args, expected):
    assert parse(args) == expected


@pytest.mark.parametrize("args", [["yesterday"], ["7d", "by"], ["7d", "colour"], ["7d", "region", "x"], ["按"]])
def test_what_it_does_not(args):
    assert parse(args) is None


def test_group_labels_in_both_languages():
    en, zh = Translator("en"), Translator("zh-CN")
    assert group_label(en, "channel", "direct") == "direct sales" and group_label(zh, "channel", "direct") == "直销"
    assert group_label(zh, "region", "") == "无省份" and group_label(en, "sales", "") == "no salesperson"
    assert group_label(en, "channel", "shopify") == "shopify"


def test_a_long_breakdown_ends_in_one_bar_for_the_rest():
    period = named("7d", datetime(2026, 11, 20, tzinfo=UTC), "Asia/Shanghai")
    groups = [Group(f"P{i:02d}", 1, Decimal(100 - i)) for i in range(15)]
    labels, values = bars_of(Translator("en"), Breakdown(period, "region", groups))
    assert len(labels) == 12 and labels[:11] == [f"P{i:02d}" for i in range(11)] and labels[-1] == "other"
    assert values[-1] == sum(Decimal(100 - i) for i in range(11, 15))
    assert sum(values) == sum(g.sales for g in groups)
