"""Entry checks as pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.orders import validation as v
from core.orders.status import HoldReason, PaymentTerms


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "010-12345678", "0571-8888888", "+14155550123"])
def test_valid_phones(phone):
    assert v.valid_phone(phone)


@pytest.mark.parametrize("phone", ["12345", "1380013800", "23800138000", "phone", "+0123"])
def test_invalid_phones(phone):
    assert not v.valid_phone(phone)


def test_nearest_sku_for_typos_and_none_for_strangers():
    known = {"TEA-001", "TEA-002", "CUP-01", "GIFT-01"}
    assert v.nearest_sku("tea-01", known) in {"TEA-001", "TEA-002"}
    assert v.nearest_sku("CUP-1", known) == "CUP-01"
    assert v.nearest_sku("LAPTOP-9", known) is None


def test_unknown_and_discontinued_skus():
    problems = v.check_skus(["TEA-01", "OLD-1"], known={"TEA-001", "OLD-1"}, inactive={"OLD-1"})
    assert [(p.code, p.field) for p in problems] == [
        (HoldReason.DATA, "lines[1].sku"),
        (HoldReason.STOCK, "lines[2].sku"),
    ]
    assert problems[0].params["suggestion"] == "TEA-001"


def test_credit_applies_to_credit_terms_only():
    assert v.check_credit(PaymentTerms.PREPAID, Decimal("999"), Decimal("0"), Decimal("0")) == []
    assert v.check_credit(PaymentTerms.CREDIT, Decimal("100"), Decimal("400"), Decimal("500")) == []
    [problem] = v.check_credit(PaymentTerms.CREDIT, Decimal("100.01"), Decimal("400"), Decimal("500"))
    assert problem.code == HoldReason.CREDIT
    assert problem.params["headroom"] == "100"


def test_price_policy():
    assert v.check_price_policy(Decimal("15"), Decimal("15"), []) == []
    codes = [p.field for p in v.check_price_policy(Decimal("15.01"), Decimal("15"), ["TEA-001"])]
    assert codes == ["discount", "unit_price"]


def test_address_needs_city_street_and_a_phone():
    assert v.check_address({"city": "杭州", "line": "西湖区龙井路1号"}, "13800138000") == []
    fields = [p.field for p in v.check_address({"city": " ", "line": "x"}, None)]
    assert fields == ["ship_to.city", "ship_to.line", "ship_to.phone"]
    assert [p.field for p in v.check_address({}, "13800138000")] == ["ship_to"]
