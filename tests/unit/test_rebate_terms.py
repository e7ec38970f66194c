"""The arithmetic of rebates and the price-list precedence, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.pricing.price_lists import PriceEntry, best_entry
from core.rebates.errors import BadPeriod
from core.rebates.terms import Step, next_step, parse_period, period_label, period_of, rate_for, rebate_on

STEPS = (Step(Decimal("100000"), Decimal("2")), Step(Decimal("300000"), Decimal("3")))


@pytest.mark.parametrize(
    ("net", "rate", "rebate"),
    [
        ("99999.99", "0", "0.00"),
        ("100000.00", "2", "2000.00"),  # reached at exactly the step
        ("320000.00", "3", "9600.00"),  # the whole volume at 3 %, not 2 % + 3 % on the part above
        ("-500.00", "0", "0.00"),  # returns beyond sales earn nothing (and owe nothing)
    ],
)
def test_the_step_reached_applies_to_the_whole_volume(net, rate, rebate):
    assert rate_for(STEPS, Decimal(net)) == Decimal(rate)
    assert rebate_on(STEPS, Decimal(net)) == Decimal(rebate)


def test_the_next_step_is_the_first_not_reached():
    assert next_step(STEPS, Decimal("150000")) == STEPS[1]
    assert next_step(STEPS, Decimal("300000")) is None


@pytest.mark.parametrize(
    ("period", "day", "start", "end", "label"),
    [
        ("month", date(2026, 12, 15), date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
        ("quarter", date(2026, 11, 2), date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("quarter", date(2026, 2, 28), date(2026, 1, 1), date(2026, 4, 1), "2026-Q1"),
        ("year", date(2026, 6, 30), date(2026, 1, 1), date(2027, 1, 1), "2026"),
    ],
)
def test_periods_and_their_names(period, day, start, end, label):
    assert period_of(period, day) == (start, end)
    assert period_label(period, start) == label
    assert parse_period(period, label.lower()) == start


def test_a_period_typed_wrong_is_refused():
    with pytest.raises(BadPeriod):
        parse_period("quarter", "2026-Q5")
    with pytest.raises(BadPeriod):
        parse_period("month", "2026-13")


def entry(name: str, price: str, **who: str) -> PriceEntry:
    return PriceEntry(price_list=name, sku="TEA-001", price=Decimal(price), **who)


ENTRIES = [
    entry("everyone", "99"),
    entry("channel", "95", channel="direct"),
    entry("tier", "90", tier="vip"),
    entry("tier+channel", "89", tier="vip", channel="direct"),
    entry("group", "80", customer_group="经销商"),
    PriceEntry("group break", "TEA-001", Decimal("70"), min_qty=10, customer_group="经销商"),
    entry("customer", "75", customer="D002"),
]


@pytest.mark.parametrize(
    ("buyer", "qty", "winner"),
    [
        ({"customer": "D002", "customer_group": "经销商", "tier": "vip", "channel": "direct"}, 20, "customer"),
        ({"customer": "D001", "customer_group": "经销商", "tier": "vip", "channel": "direct"}, 1, "group"),
        ({"customer": "D001", "customer_group": "经销商", "tier": "vip", "channel": "direct"}, 10, "group break"),
        ({"customer": "D003", "customer_group": None, "tier": "vip", "channel": "direct"}, 1, "tier+channel"),
        ({"customer": "D003", "customer_group": None, "tier": "vip", "channel": "shop"}, 1, "tier"),
        ({"customer": "D004", "customer_group": None, "tier": "standard", "channel": "direct"}, 1, "channel"),
        ({"customer": "D004", "customer_group": None, "tier": "standard", "channel": "shop"}, 1, "everyone"),
    ],
)
def test_customer_beats_group_beats_tier_beats_channel_beats_everyone(buyer, qty, winner):
    found = best_entry("TEA-001", qty, entries=ENTRIES, **buyer)
    assert found is not None and found.price_list == winner
