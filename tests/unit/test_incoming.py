"""What the chat layer keeps of typed text: printable characters, and a bounded copy."""

from __future__ import annotations

import pytest

from bot.actions import ActionId
from bot.incoming import kept, printable


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/order SO-1", "/order SO-1"),
        ("a\x00b\x07c\x1b[31md\x7fe", "abc[31mde"),  # C0, ESC and DEL go
        ("x\x85y\x9bz", "xyz"),  # C1
        ("lone\ud800 \udfffhalves", "lone halves"),
        ("line one\r\nline two\rthree\tcol", "line one\nline two\nthree\tcol"),  # newlines and tabs stay
        ("下单 🍵 ‍👩‍💻", "下单 🍵 ‍👩‍💻"),  # Chinese, emoji and joiners are text
    ],
)
def test_printable_drops_control_characters_only(text, expected):
    assert printable(text) == expected


def test_the_kept_copy_is_cut_at_the_limit_and_says_so():
    assert kept("  short\x00  ", 10) == "short"
    assert kept("x" * 11, 10) == "x" * 9 + "…"
    assert len(kept("茶" * 5000, 4000)) == 4000


@pytest.mark.parametrize("text", ["ap:99999999999999999999:1", "ap:1:2147483648", "ap:-1:1", "ap:²:1", "ap:1:+1"])
def test_action_ids_beyond_the_id_columns_are_not_ours(text):
    with pytest.raises(ValueError):
        ActionId.decode(text)


def test_action_ids_within_bounds_decode():
    assert ActionId.decode("ap:2147483647:3") == ActionId("approve", 2**31 - 1, 3)
