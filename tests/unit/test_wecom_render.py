"""Neutral payloads as WeCom messages and button_interaction cards, within WeCom's limits."""

from __future__ import annotations

import re

from integrations.wecom.render import MAX_BUTTONS, TEXT_BYTES, message_body, task_id, update_body


def card(**overrides):
    base = {
        "card_id": 12,
        "kind": "approval",
        "title": "Approval needed: SO-100001",
        "fields": [{"label": "Customer", "value": "杭州茶社"}, {"label": "Total", "value": "5,660.00 CNY"}],
        "notes": ["Why: above the approval threshold"],
        "buttons": [
            {"label": "Approve", "action": "ap:12:3", "style": "primary"},
            {"label": "Reject", "action": "rj:12:3", "style": "danger"},
        ],
        "outcome": None,
        "state": "open",
        "version": 3,
    }
    return base | overrides


def test_approval_card_is_a_button_interaction_card():
    body = message_body({"card": card(), "locale": "en"}, "oms-12-abc")
    tc = body["template_card"]
    assert body["msgtype"] == "template_card" and tc["card_type"] == "button_interaction"
    assert tc["task_id"] == "oms-12-abc" and tc["main_title"]["title"] == "Approval needed: SO-100001"
    assert tc["sub_title_text"] == "Customer: 杭州茶社\nTotal: 5,660.00 CNY"
    assert tc["quote_area"]["quote_text"] == "Why: above the approval threshold"
    assert tc["button_list"] == [
        {"text": "Approve", "style": 1, "key": "ap:12:3"},
        {"text": "Reject", "style": 2, "key": "rj:12:3"},
    ]


def test_at_most_six_buttons_and_limits_kept():
    many = [{"label": f"Step number {i}", "action": f"pk:12:{i}", "style": "default"} for i in range(9)]
    tc = message_body({"card": card(buttons=many, title="订单" * 40)}, "t")["template_card"]
    assert len(tc["button_list"]) == MAX_BUTTONS
    assert all(len(b["text"]) <= 10 for b in tc["button_list"])
    assert len(tc["main_title"]["title"]) <= 36 and tc["main_title"]["title"].endswith("…")


def test_task_ids_are_unique_per_copy_and_use_allowed_characters():
    a, b = task_id(12, "0f" * 16), task_id(12, "1e" * 16)
    assert a != b
    weird = task_id(7, "key with spaces/and.dots" * 10)
    assert re.fullmatch(r"[0-9a-zA-Z_\-@]+", weird) and len(weird.encode()) <= 128


def test_closed_card_greys_its_buttons_with_the_outcome():
    closed = card(buttons=[], outcome="Approved by 王芳 at 14:03", state="closed")
    assert update_body(closed, "oms-12-abc") == {"button": {"replace_name": "Approved by 王芳 at 14:03"}}


def test_a_card_still_open_is_replaced_whole_under_its_task_id():
    picked = card(kind="pick", buttons=[{"label": "Packed", "action": "pk:12:4", "style": "primary"}])
    body = update_body(picked, "oms-12-abc")
    assert body["template_card"]["task_id"] == "oms-12-abc"
    assert body["template_card"]["button_list"][0]["key"] == "pk:12:4"


def test_text_is_plain_unless_it_has_markdown():
    assert message_body({"text": "SO-100001 was confirmed."}) == {
        "msgtype": "text",
        "text": {"content": "SO-100001 was confirmed."},
    }
    assert message_body({"text": "Add `wecom: LiLei` then run `oms load`"})["msgtype"] == "markdown"


def test_long_text_is_cut_at_a_character_within_the_byte_limit():
    content = message_body({"text": "茶" * 1000})["text"]["content"]
    assert len(content.encode()) <= TEXT_BYTES and content.endswith("…")
    content.encode().decode("utf-8")
