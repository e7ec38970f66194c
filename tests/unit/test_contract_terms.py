"""Milestone terms as typed (shares, dates, hours), how shares become amounts, and which
``milestone.accepted`` rules load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.workflows.schema import WorkflowError, parse_rules
from core.contracts.errors import HoursInvalid, MilestoneDueDateInvalid, MilestonesExceedValue, MilestoneShareInvalid
from core.contracts.service import _amount, _check_shares
from core.contracts.terms import MilestoneTerms, Share, parse_due, parse_hours, parse_share
from core.contracts.views import figures, margin_percent

D = Decimal
DUE = date(2026, 12, 20)


def terms(share: str, name: str = "M") -> MilestoneTerms:
    return MilestoneTerms(name, parse_share(share), DUE)


def test_shares_are_percentages_or_amounts():
    assert parse_share("30%") == Share(percent=D("30"))
    assert parse_share("12.5％") == Share(percent=D("12.5"))
    assert parse_share("84,000") == Share(amount=D("84000"))
    for bad in ("0%", "100.01%", "-5", "0", "abc", "1.005", "30.001%", "nan", "inf%"):
        with pytest.raises(MilestoneShareInvalid):
            parse_share(bad)


def test_dates_and_hours():
    assert parse_due("2026-12-20") == DUE
    with pytest.raises(MilestoneDueDateInvalid):
        parse_due("20.12.2026")
    assert parse_hours("8h") == D("8") and parse_hours("1.5") == D("1.5") and parse_hours("2小时") == D("2")
    for bad in ("0h", "-1h", "eight", "1.005h", "20000h"):
        with pytest.raises(HoursInvalid):
            parse_hours(bad)


def test_a_percentage_is_rounded_half_up_to_the_cent():
    assert _amount(D("100.01"), [], terms("33.33%")) == D("33.33")  # 33.333333
    assert _amount(D("0.10"), [], terms("25%")) == D("0.03")  # 0.025 → half up


def test_the_share_that_completes_100_percent_takes_what_is_left():
    # 50 % of 100.01 is 50.005: the first rounds up, the second gets the cent that is left
    first = _amount(D("100.01"), [], terms("50%"))
    second = _amount(D("100.01"), [(D("50"), first)], terms("50%"))
    assert (first, second, first + second) == (D("50.01"), D("50.00"), D("100.01"))
    _check_shares(D("100.01"), [], [terms("50%"), terms("50%")])  # not refused


def test_shares_over_the_value_are_refused_naming_what_is_left():
    with pytest.raises(MilestonesExceedValue) as refused:
        _check_shares(D("280000"), [], [terms("60%"), terms("140000", "施工")])
    assert (refused.value.amount, refused.value.allocated, refused.value.left) == (
        D("140000"),
        D("168000"),
        D("112000"),
    )
    with pytest.raises(MilestonesExceedValue):
        _check_shares(D("1000"), [], [terms("999.99"), terms("0.02")])
    _check_shares(D("1000"), [], [terms("999.99"), terms("0.01")])


def test_margin_is_value_less_cost_to_date():
    result = figures(D("280000.00"), [], {"labour": D("1678.75"), "material": D("247.00")})
    assert (result["cost"], result["margin"], result["margin_percent"]) == ("1925.75", "278074.25", "99.3")
    assert margin_percent(D("-50.00"), D("1000.00")) == D("-5.0")
    assert margin_percent(D("0.05"), D("1000.00")) == D("0.0") and margin_percent(D("0.50"), D("1000")) == D("0.1")


def test_milestone_rules_approve_and_nothing_else():
    [rule] = parse_rules(
        [
            {
                "name": "big",
                "on": "milestone.accepted",
                "when": "milestone.amount > 100000",
                "approve": {"role": "finance"},
            }
        ]
    )
    assert rule.approve[0].role == "finance"
    for extra in ({"notify": {"role": "sales"}}, {"remind_after": "4h"}):
        row = {"name": "x", "on": "milestone.accepted", "approve": {"role": "finance"}, **extra}
        with pytest.raises(WorkflowError, match="milestone.accepted rule approves"):
            parse_rules([row])
    with pytest.raises(WorkflowError, match="order.received or milestone.accepted"):
        parse_rules([{"name": "y", "on": "stock.low", "approve": {"role": "finance"}}])
