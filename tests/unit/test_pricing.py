"""Pricing: price lists, quantity breaks, promotions in their fixed order, and the breakdown."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from core.errors import QuantityTooSmall
from core.pricing.errors import PricingError, UnknownCoupon
from core.pricing.quote import Adjustment, PriceEntry, Promotion, Quote, QuoteLine, quote

D = Decimal

# SPEC §10 master data
TEA_PRICE = D("128.00")
CUP_PRICE = D("45.00")
VIP_LIST = (
    PriceEntry("vip", "TEA-001", D("118.00"), tier="vip"),
    PriceEntry("vip", "TEA-001", D("108.00"), min_qty=10, tier="vip"),
)
SPRING10 = Promotion("coupon", "SPRING10", code="SPRING10", percent_off=D("10"))
SPEND_1000_SAVE_100 = Promotion("spend_save", "满1000减100", spend=D("1000"), save=D("100"))
GIFT = Promotion("bundle", "GIFT", bundle={"TEA-001": 2, "CUP-01": 2}, bundle_price=D("300.00"))


def tea(qty: int) -> QuoteLine:
    return QuoteLine("TEA-001", qty, TEA_PRICE, cost=D("60.00"))


def cup(qty: int) -> QuoteLine:
    return QuoteLine("CUP-01", qty, CUP_PRICE, cost=D("12.00"))


def item(price: str, qty: int = 1) -> QuoteLine:
    return QuoteLine("ITEM", qty, D(price))


def price(
    *lines: QuoteLine, tier: str | None = "vip", channel: str | None = None, entries=VIP_LIST, promotions=(), **kwargs
) -> Quote:
    return quote(list(lines), tier=tier, channel=channel, price_entries=entries, promotions=promotions, **kwargs)


def amounts(q: Quote) -> list[tuple[str, Decimal]]:
    return [(a.kind, a.amount) for a in q.adjustments]


# --- unit prices -------------------------------------------------------------------------------


def test_no_applicable_entry_falls_back_to_catalogue_price():
    q = price(tea(2), tier="standard")

    assert q.lines[0].unit_price == D("128.00")
    assert q.lines[0].price_source == "catalogue price"
    assert q.total == D("256.00")


def test_tier_price_list_beats_catalogue_price():
    q = price(tea(2))

    line = q.lines[0]
    assert (line.list_price, line.unit_price, line.line_total) == (D("128.00"), D("118.00"), D("236.00"))
    assert line.price_source == "price list vip"


def test_customer_without_tier_gets_only_lists_for_any_tier():
    q = price(tea(2), tier=None)

    assert q.lines[0].unit_price == D("128.00")


@pytest.mark.parametrize(("qty", "unit"), [(9, "118.00"), (10, "108.00"), (49, "108.00"), (50, "98.00")])
def test_quantity_breaks_pick_the_highest_applicable_break(qty, unit):
    entries = (*VIP_LIST, PriceEntry("vip", "TEA-001", D("98.00"), min_qty=50, tier="vip"))

    q = price(tea(qty), entries=entries)

    assert q.lines[0].unit_price == D(unit)


def test_break_is_named_in_the_price_source():
    q = price(tea(10))

    assert q.lines[0].price_source == "price list vip (qty ≥ 10)"


def test_higher_break_wins_even_when_a_lower_break_is_cheaper():
    entries = (
        PriceEntry("odd", "TEA-001", D("90.00"), min_qty=5, tier="vip"),
        PriceEntry("odd", "TEA-001", D("100.00"), min_qty=10, tier="vip"),
    )

    assert price(tea(10), entries=entries).lines[0].unit_price == D("100.00")


def test_lowest_price_breaks_a_tie_between_equally_specific_rows():
    entries = (
        PriceEntry("vip-a", "TEA-001", D("115.00"), tier="vip"),
        PriceEntry("vip-b", "TEA-001", D("112.00"), tier="vip"),
    )

    q = price(tea(1), entries=entries)

    assert (q.lines[0].unit_price, q.lines[0].price_source) == (D("112.00"), "price list vip-b")


SPECIFICITY = {
    "both": PriceEntry("vip-shop", "TEA-001", D("126.00"), tier="vip", channel="shop"),
    "tier": PriceEntry("vip", "TEA-001", D("124.00"), tier="vip"),
    "channel": PriceEntry("shop", "TEA-001", D("122.00"), channel="shop"),
    "neither": PriceEntry("all", "TEA-001", D("120.00")),
}


@pytest.mark.parametrize(
    ("available", "winner"),
    [
        (("both", "tier", "channel", "neither"), "both"),
        (("tier", "channel", "neither"), "tier"),
        (("channel", "neither"), "channel"),
        (("neither",), "neither"),
    ],
)
def test_most_specific_list_wins_even_when_dearer(available, winner):
    entries = [SPECIFICITY[name] for name in available]

    q = price(tea(1), channel="shop", entries=entries)

    assert q.lines[0].unit_price == SPECIFICITY[winner].price


def test_specific_list_beats_a_generic_lists_deeper_break():
    entries = (
        PriceEntry("vip", "TEA-001", D("118.00"), tier="vip"),
        PriceEntry("bulk", "TEA-001", D("100.00"), min_qty=10),
    )

    assert price(tea(10), entries=entries).lines[0].unit_price == D("118.00")


def test_lists_for_another_tier_or_channel_do_not_apply():
    entries = (
        PriceEntry("vip-shop", "TEA-001", D("100.00"), tier="vip", channel="shop"),
        PriceEntry("gold", "TEA-001", D("90.00"), tier="gold"),
        PriceEntry("cup", "CUP-01", D("1.00")),
    )

    q = price(tea(1), channel="wholesale", entries=entries)

    assert q.lines[0].unit_price == D("128.00")


def test_split_lines_are_priced_on_their_combined_quantity():
    q = price(tea(6), cup(1), tea(4))

    assert [line.unit_price for line in q.lines] == [D("108.00"), D("45.00"), D("108.00")]
    assert [line.qty for line in q.lines] == [6, 1, 4]
    assert q.lines[2].line_total == D("432.00")
    assert q.lines[0].price_source == "price list vip (qty ≥ 10; 10 TEA-001 in order)"
    assert q.subtotal == D("1125.00")


# --- bundles -----------------------------------------------------------------------------------


def test_bundle_prices_complete_bundles_and_leaves_the_rest_at_unit_price():
    # standard customer: TEA 128, CUP 45; one bundle is normally 2*128 + 2*45 = 346.00
    q = price(tea(5), cup(4), tier="standard", promotions=[GIFT])

    assert q.subtotal == D("820.00")
    assert amounts(q) == [("bundle", D("-92.00"))]  # 2 bundles × (300 − 346); 1 TEA left over
    assert q.adjustments[0].detail.startswith("GIFT bundle ×2 at 300.00")
    assert q.total == D("728.00")


def test_bundle_uses_the_price_list_unit_prices():
    # vip: TEA 118, so one bundle is normally 2*118 + 2*45 = 326.00
    q = price(tea(2), cup(2), promotions=[GIFT])

    assert amounts(q) == [("bundle", D("-26.00"))]


def test_bundle_never_raises_a_price():
    dear = Promotion("bundle", "DEAR", bundle={"TEA-001": 2, "CUP-01": 2}, bundle_price=D("400.00"))

    q = price(tea(2), cup(2), tier="standard", promotions=[dear])

    assert q.adjustments == ()
    assert q.total == D("346.00")


def test_incomplete_or_inactive_bundle_gives_nothing():
    inactive = Promotion("bundle", "OFF", bundle={"TEA-001": 1}, bundle_price=D("1.00"), active=False)

    q = price(tea(5), cup(1), tier="standard", promotions=[GIFT, inactive])

    assert q.adjustments == ()


def test_a_unit_in_one_bundle_cannot_be_used_in_another():
    tea_pair = Promotion("bundle", "PAIR", bundle={"TEA-001": 2}, bundle_price=D("200.00"))

    q = price(tea(2), cup(2), tier="standard", promotions=[GIFT, tea_pair])

    assert [a.name for a in q.adjustments] == ["GIFT"]
    assert q.total == D("300.00")


# --- spend X save Y ----------------------------------------------------------------------------


def test_spend_save_applies_once_by_default():
    q = price(tea(20), promotions=[SPEND_1000_SAVE_100])  # 20 × 108 = 2160

    assert amounts(q) == [("spend_save", D("-100.00"))]
    assert q.total == D("2060.00")


def test_spend_save_repeats_for_every_full_spend():
    every = Promotion("spend_save", "每满1000减100", spend=D("1000"), save=D("100"), repeat=True)

    q = price(tea(20), promotions=[every])

    assert amounts(q) == [("spend_save", D("-200.00"))]
    assert q.total == D("1960.00")


def test_spend_save_below_threshold_gives_nothing():
    q = price(tea(8), promotions=[SPEND_1000_SAVE_100])  # 8 × 118 = 944

    assert q.adjustments == ()


def test_spend_save_counts_the_total_after_bundles():
    deep = Promotion("bundle", "DEEP", bundle={"TEA-001": 2, "CUP-01": 2}, bundle_price=D("100.00"))

    q = price(tea(8), cup(2), tier="standard", promotions=[deep, SPEND_1000_SAVE_100])

    # 8 × 128 + 2 × 45 = 1114 ≥ 1000, but the bundle takes 246 off: 868 < 1000
    assert q.subtotal == D("1114.00")
    assert amounts(q) == [("bundle", D("-246.00"))]


def test_spend_save_never_saves_more_than_the_total():
    odd = Promotion("spend_save", "满10减50", spend=D("10"), save=D("50"))

    q = price(item("30.00"), promotions=[odd])

    assert amounts(q) == [("spend_save", D("-30.00"))]
    assert q.total == D("0.00")


def test_only_the_single_best_spend_save_applies():
    small = SPEND_1000_SAVE_100
    big = Promotion("spend_save", "满2000减300", spend=D("2000"), save=D("300"))
    medium = Promotion("spend_save", "满1500减150", spend=D("1500"), save=D("150"))
    off = Promotion("spend_save", "off", spend=D("1"), save=D("999"), active=False)

    q = price(tea(20), promotions=[small, big, medium, off])  # best in the middle: neither first nor last

    assert [(a.name, a.amount) for a in q.adjustments] == [("满2000减300", D("-300.00"))]


# --- coupons -----------------------------------------------------------------------------------


def test_percent_coupon_applies_after_spend_save():
    q = price(tea(10), promotions=[SPRING10, SPEND_1000_SAVE_100], coupon_code="SPRING10")

    # 1080 − 100 = 980; 10 % of 980 = 98
    assert amounts(q) == [("spend_save", D("-100.00")), ("coupon", D("-98.00"))]
    assert q.total == D("882.00")


def test_coupon_code_matches_case_insensitively():
    q = price(tea(1), promotions=[SPRING10], coupon_code=" spring10 ")

    assert amounts(q) == [("coupon", D("-11.80"))]


def test_coupon_is_ignored_unless_its_code_is_given():
    assert price(tea(1), promotions=[SPRING10]).adjustments == ()


def test_amount_coupon_and_its_name_defaults_to_the_code():
    welcome = Promotion("coupon", code="WELCOME50", amount_off=D("50"))

    q = price(tea(1), promotions=[welcome], coupon_code="WELCOME50")

    assert [(a.name, a.amount) for a in q.adjustments] == [("WELCOME50", D("-50.00"))]
    assert q.total == D("68.00")


def test_amount_coupon_never_takes_the_total_below_zero():
    big = Promotion("coupon", "BIG", code="BIG", amount_off=D("500.00"))

    q = price(item("30.00"), promotions=[big], coupon_code="BIG")

    assert amounts(q) == [("coupon", D("-30.00"))]
    assert q.total == D("0.00")


def test_coupon_below_min_spend_is_refused_with_a_clear_reason():
    vip200 = Promotion("coupon", "VIP200", code="VIP200", amount_off=D("200"), min_spend=D("1000.00"))

    with pytest.raises(PricingError) as refused:
        price(tea(8), promotions=[vip200], coupon_code="VIP200")  # 944 < 1000

    assert not isinstance(refused.value, UnknownCoupon)
    assert "1000.00" in refused.value.message and "944.00" in refused.value.message
    assert price(tea(9), promotions=[vip200], coupon_code="vip200").total == D("862.00")  # 1062 ≥ 1000


@pytest.mark.parametrize("code", ["NOPE", "OLD10"])
def test_unknown_or_inactive_coupon_is_refused(code):
    old = Promotion("coupon", "OLD10", code="OLD10", percent_off=D("10"), active=False)

    with pytest.raises(UnknownCoupon) as refused:
        price(tea(1), promotions=[SPRING10, old], coupon_code=code)

    assert refused.value.params == {"coupon": code}
    assert refused.value.code == "unknown_coupon"


# --- manual discount, limits, rounding ---------------------------------------------------------


def test_manual_discount_applies_last_on_the_running_total():
    q = price(
        tea(10), promotions=[SPRING10, SPEND_1000_SAVE_100], coupon_code="SPRING10", manual_discount_percent=D("5")
    )

    # 1080 − 100 = 980; − 98 = 882; 5 % of 882 = 44.10
    assert amounts(q)[-1] == ("manual_discount", D("-44.10"))
    assert q.total == D("837.90")


@pytest.mark.parametrize("bad", [D("-1"), D("100.01"), D("NaN")])
def test_manual_discount_outside_0_to_100_is_refused(bad):
    with pytest.raises(PricingError):
        price(tea(1), manual_discount_percent=bad)


@pytest.mark.parametrize("bad", [D("-5"), D("150")])
def test_coupon_percent_outside_0_to_100_is_refused(bad):
    wild = Promotion("coupon", "WILD", code="WILD", percent_off=bad)

    with pytest.raises(PricingError):
        price(tea(1), promotions=[wild], coupon_code="WILD")


def test_total_never_goes_below_zero():
    everything = Promotion("coupon", "ALL", code="ALL", amount_off=D("10000"))
    q = price(
        tea(20), promotions=[SPEND_1000_SAVE_100, everything], coupon_code="ALL", manual_discount_percent=D("100")
    )

    assert q.total == D("0.00")
    assert q.discount_total == -q.subtotal
    assert all(a.amount <= 0 for a in q.adjustments)
    assert q.discount_percent() == D("100.00")


def test_ten_percent_off_33_33_rounds_to_the_cent():
    q = price(item("33.33"), manual_discount_percent=D("10"))

    assert amounts(q) == [("manual_discount", D("-3.33"))]
    assert q.total == D("30.00")


def test_half_cents_round_half_up_not_to_even():
    q = price(item("33.25"), manual_discount_percent=D("10"))  # 3.325 → 3.33 (banker's: 3.32)

    assert amounts(q) == [("manual_discount", D("-3.33"))]
    assert q.total == D("29.92")


def test_prices_are_quantized_to_two_places():
    q = price(item("10.005", qty=3), tier=None)

    assert q.lines[0].unit_price == D("10.01")
    assert str(q.lines[0].line_total) == "30.03"


@pytest.mark.parametrize("qty", [0, -1])
def test_quantity_must_be_positive(qty):
    with pytest.raises(QuantityTooSmall):
        price(tea(qty))


def test_negative_prices_are_refused():
    with pytest.raises(PricingError):
        price(item("-1.00"))
    with pytest.raises(PricingError):
        price(tea(1), entries=[PriceEntry("bad", "TEA-001", D("-5.00"))])


def test_float_money_is_refused():
    with pytest.raises(PricingError):
        price(QuoteLine("ITEM", 1, 9.99))  # type: ignore[arg-type]


def test_unknown_promotion_kind_is_refused_rather_than_ignored():
    with pytest.raises(PricingError):
        price(tea(1), promotions=[Promotion("spend-save", "typo", spend=D("1"), save=D("1"))])


# --- the result --------------------------------------------------------------------------------


def full_spec_quote() -> Quote:
    """SPEC §10: vip customer C001 orders 12 TEA-001 and 2 CUP-01 with SPRING10."""
    return price(tea(12), cup(2), promotions=[SPRING10, SPEND_1000_SAVE_100, GIFT], coupon_code="SPRING10")


def test_spec_example_end_to_end():
    q = full_spec_quote()

    # lines: 12 × 108 + 2 × 45 = 1386; GIFT: 300 − (216 + 90) = −6; 1380 → −100 → 1280 → −128
    assert q.subtotal == D("1386.00")
    assert amounts(q) == [("bundle", D("-6.00")), ("spend_save", D("-100.00")), ("coupon", D("-128.00"))]
    assert q.discount_total == D("-234.00")
    assert q.total == D("1152.00")
    assert q.discount_percent() == D("16.88")


def test_breakdown_is_json_and_reproduces_the_total():
    q = full_spec_quote()

    data = json.loads(json.dumps(q.breakdown()))

    line_sum = sum(D(line["line_total"]) for line in data["lines"])
    adjustment_sum = sum(D(a["amount"]) for a in data["adjustments"])
    assert D(data["subtotal"]) == line_sum
    assert D(data["total"]) == line_sum + adjustment_sum == q.total
    assert data["total"] == "1152.00"
    assert data["lines"][0]["price_source"] == "price list vip (qty ≥ 10)"
    assert [a["detail"] for a in data["adjustments"]][2] == "SPRING10: 10% off 1280.00"


def test_money_is_decimal_with_two_places_everywhere():
    q = full_spec_quote()

    money = [q.subtotal, q.discount_total, q.total, q.discount_percent()]
    money += [v for line in q.lines for v in (line.list_price, line.unit_price, line.line_total)]
    money += [a.amount for a in q.adjustments]
    assert all(type(v) is Decimal and v.as_tuple().exponent == -2 for v in money)
    assert all(isinstance(a, Adjustment) for a in q.adjustments)


def test_discount_percent_is_zero_for_an_empty_quote():
    q = price()

    assert (q.subtotal, q.total, q.discount_percent()) == (D("0.00"), D("0.00"), D("0.00"))
    assert q.breakdown()["lines"] == []
