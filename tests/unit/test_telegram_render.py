"""Cards and texts as Telegram HTML messages with inline keyboards."""

from __future__ import annotations

import pytest

from integrations.telegram.render import MAX_TEXT, render, render_card, render_text
from tests.fakes.telegram import ApiError, _parse_html

OPEN = {
    "card_id": 12,
    "kind": "approval",
    "title": "Approval needed: SO-100001",
    "fields": [{"label": "Customer", "value": "Tom & Jerry <Tea>"}, {"label": "Total", "value": "12,060.00"}],
    "notes": ["Why: above the approval threshold (10,000.00) & VIP"],
    "buttons": [
        {"label": "Approve", "action": "ap:12:3", "style": "primary"},
        {"label": "Reject", "action": "rj:12:3", "style": "danger"},
    ],
    "outcome": None,
    "state": "open",
    "version": 3,
}
CLOSED = {**OPEN, "buttons": [], "outcome": "Approved by 王芳 at 14:03", "state": "closed"}


def test_open_card_has_bold_title_fields_notes_and_one_button_per_action():
    rendered = render({"card": OPEN, "locale": "en"})
    lines = rendered.text.split("\n")
    assert lines[0] == "<b>Approval needed: SO-100001</b>"
    assert "Customer: Tom &amp; Jerry &lt;Tea&gt;" in lines
    assert "Total: 12,060.00" in lines
    assert "<i>Why: above the approval threshold (10,000.00) &amp; VIP</i>" in lines
    [row] = rendered.keyboard.inline_keyboard
    assert [(b.text, b.callback_data, b.style) for b in row] == [
        ("Approve", "ap:12:3", "primary"),
        ("Reject", "rj:12:3", "danger"),
    ]


def test_rendered_html_is_what_telegram_parses_back_to_the_plain_text():
    shown = _parse_html(render_card(OPEN).text)
    assert "Customer: Tom & Jerry <Tea>" in shown
    assert "<b>" not in shown


def test_closed_card_shows_the_outcome_and_has_an_empty_keyboard():
    rendered = render_card(CLOSED)
    assert rendered.text.endswith("\n\n<b>Approved by 王芳 at 14:03</b>")
    assert rendered.keyboard.inline_keyboard == ()
    assert rendered.keyboard.to_dict() == {}  # PTB sends "{}": Telegram reads it as no keyboard


def test_callback_data_over_64_bytes_is_refused_not_sent_truncated():
    card = {**OPEN, "buttons": [{"label": "审批", "action": "ap:" + "审" * 21, "style": "primary"}]}  # 3 + 63 bytes
    with pytest.raises(ValueError, match="64 bytes"):
        render_card(card)
    ok = {**OPEN, "buttons": [{"label": "审批", "action": "a:" + "审" * 20 + "1", "style": "primary"}]}  # 63 bytes
    assert render_card(ok).keyboard.inline_keyboard[0][0].callback_data == ok["buttons"][0]["action"]


def test_text_is_escaped_and_backticks_become_code():
    assert render_text("Use `/order SO-1` for <details> & more") == (
        "Use <code>/order SO-1</code> for &lt;details&gt; &amp; more"
    )
    assert render({"text": "a < b", "locale": "en"}).keyboard.inline_keyboard == ()


def test_fake_refuses_unescaped_html_like_telegram():
    with pytest.raises(ApiError, match="can't parse entities"):
        _parse_html("Tom & Jerry <Tea>")


def test_overlong_text_is_cut_to_telegram_limit():
    text = render_text("x" * (MAX_TEXT + 50))
    assert len(text) == MAX_TEXT and text.endswith("…")
