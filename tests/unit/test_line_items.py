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
