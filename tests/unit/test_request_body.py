"""Reading JSON bodies and cursors from outside: every hostile shape is a client error, never a crash."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from integrations.web.body import BadBody, cursor, depth, is_row_id, loads


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["\\"[[[", [[]]]', 3),  # an escaped quote does not end the string
        ('["\\\\", [[]]]', 3),  # an escaped backslash does
    ],
)
def test_depth_counts_brackets_outside_strings(text, expected):
    assert depth(text) == expected


def test_a_hundred_thousand_nested_arrays_are_refused_without_recursing():
    with pytest.raises(BadBody) as refused:
        loads(b"[" * 100_000 + b"]" * 100_000, max_depth=32)
    assert refused.value.status == 400 and "deeper than 32" in refused.value.message


def test_nesting_up_to_the_limit_is_read():
    assert loads(b"[" * 32 + b"]" * 32, max_depth=32) is not None
    with pytest.raises(BadBody):
        loads(b"[" * 33 + b"]" * 33, max_depth=32)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "\\ud800"}',  # a high surrogate alone
        b'{"text": "a\\udc00b"}',  # a low surrogate alone
        b'{"\\ud83d": "key"}',  # in a key
        b'["ok", ["\\udfff"]]',  # deeper down
    ],
)
def test_a_lone_surrogate_escape_is_refused(raw):
    with pytest.raises(BadBody) as refused:
        loads(raw, max_depth=32)
    assert "lone surrogate" in refused.value.message


def test_a_surrogate_pair_is_a_character_and_is_read():
    assert loads(b'{"text": "\\ud83c\\udf75 \xe8\x8c\xb6"}', max_depth=32) == {"text": "🍵 茶"}


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'{"text": "\xed\xa0\x80"}', "UTF-8"),  # a surrogate encoded in raw bytes
        (b'{"text": "\xff"}', "UTF-8"),
        (b"{not json", "must be JSON"),
        (b"", "must be JSON"),
    ],
)
def test_what_is_not_utf8_json_is_refused(raw, message):
    with pytest.raises(BadBody) as refused:
        loads(raw, max_depth=32)
    assert message in refused.value.message


@pytest.mark.parametrize("value, expected", [(None, 0), ("", 0), ("0", 0), ("42", 42), ("2147483647", 2**31 - 1)])
def test_cursor_reads_a_row_position(value, expected):
    assert cursor(value) == expected


@pytest.mark.parametrize("value", ["9" * 30, "2147483648", "-1", "1e3", " 1", "+1", "1_000", "١٢", "abc"])
def test_cursor_out_of_range_or_not_a_number_is_400(value):
    with pytest.raises(web.HTTPBadRequest) as refused:
        cursor(value)
    assert json.loads(refused.value.text) == {"error": "'after' must be a whole number from 0 to 2147483647"}


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, True),
        (2**31 - 1, True),
        (0, False),
        (2**31, False),
        (10**30, False),
        (True, False),
        ("5", False),
        (5.0, False),
        (None, False),
    ],
)
def test_row_ids_are_whole_numbers_within_the_id_columns(value, expected):
    assert is_row_id(value) is expected
