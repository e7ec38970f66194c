"""Why an order waits for review: stored as an English sentence (the API and webhooks show it as
it is), shown in chat in the reader's language, and any other text shown as it was stored."""

from __future__ import annotations

from decimal import Decimal

from bot.i18n import Translator
from bot.labels import review_reason
from core.orders.review import above_threshold, reason_parts, rule_reason

ZH, EN = Translator("zh-CN"), Translator("en")


def test_a_rule_reason_reads_back_into_its_parts_and_in_chinese():
    reason = rule_reason("large-order-review", 'order.total > 5000 && customer.tier == "vip"')
    assert reason == 'rule large-order-review: order.total > 5000 && customer.tier == "vip"'
    assert reason_parts(reason) == (
        "rule",
        {"rule": "large-order-review", "when": 'order.total > 5000 && customer.tier == "vip"'},
    )
    assert review_reason(ZH, reason) == '规则 large-order-review：order.total > 5000 && customer.tier == "vip"'
    assert review_reason(EN, reason) == reason


def test_a_rule_without_a_condition_always_applies_in_either_language():
    assert review_reason(EN, rule_reason("every-order", None)) == "rule every-order: always"
    assert review_reason(ZH, rule_reason("every-order", None)) == "规则 every-order：始终适用"


def test_amounts_over_the_threshold_read_in_chinese():
    total = above_threshold("total", Decimal("6000.00"), Decimal("5000"))
    milestone = above_threshold("milestone", Decimal("120000.00"), Decimal("5000"))
    assert review_reason(EN, total) == "total 6000.00 is above the approval threshold 5000"
    assert review_reason(ZH, total) == "订单总额 6000.00 超过审批阈值 5000"
    assert review_reason(ZH, milestone) == "里程碑金额 120000.00 超过审批阈值 5000"


def test_other_text_is_shown_as_it_was_stored():
    assert reason_parts("the buyer asked for a call first") is None
    assert review_reason(ZH, "the buyer asked for a call first") == "the buyer asked for a call first"
    assert review_reason(ZH, None) == ""
