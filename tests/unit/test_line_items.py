"""The forgiving item grammar people type in the CLI (and later in chat)."""

from __future__ import annotations

import pytest

from bot.items import parse_line_items
from core.errors import InvalidInput


@pytest.mark.parametrize(
    "tokens, expected",
    [
        (["TEA-001*2"], [("TEA-001", 2)]),
        (["tea-001", "x2"], [("TEA-001", 2)]),
        (["TEA-001×2", "CUP-01x3"], [("TEA-001", 2), ("CUP-01", 3)]),
        (["TEA-001 * 2"], [("TEA-001", 2)]),
        (["GIFT-01"], [("GIFT-01", 1)]),
    ],
)
def test_item_forms(tokens, expected):
    assert parse_line_items(tokens) == expected


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["TEA-001*0"], "at least 1"),
        (["TEA-001*-2"], "at least 1"),
        (["x2"], "no SKU before it"),
        (["TEA 001!"], "Cannot read TEA 001!"),
        ([], "at least one item"),
    ],
)
def test_bad_items_say_why(tokens, message):
    with pytest.raises(InvalidInput, match=message):
        parse_line_items(tokens)


def test_a_huge_quantity_is_read_exactly_so_the_order_bound_can_name_it():
    assert parse_line_items(["TEA-001*100000000000000000000000"]) == [("TEA-001", 10**23)]


def test_more_digits_than_python_converts_is_a_plain_refusal():
    with pytest.raises(ValueError) as refused:
        parse_line_items(["TEA-001*" + "9" * 5000])
    assert str(refused.value) == "TEA-001: that quantity is far too large"
