"""The neutral card as interactive-card variables and as robot markdown."""

from __future__ import annotations

import json

from integrations.dingtalk.render import card_markdown, card_params, robot_message

OPEN = {
    "card_id": 12,
    "kind": "approval",
    "title": "待审批：SO-100001",
    "fields": [{"label": "客户", "value": "杭州茶社"}, {"label": "合计", "value": "5,660.00 CNY"}],
    "notes": ["原因：超过审批额度"],
    "buttons": [
        {"label": "批准", "action": "ap:12:3", "style": "primary", "command": "/approve SO-100001"},
        {"label": "驳回", "action": "rj:12:3", "style": "danger", "command": "/reject SO-100001 原因"},
    ],
    "outcome": None,
    "state": "open",
    "version": 3,
}
CLOSED = {**OPEN, "buttons": [], "outcome": "王芳 于 14:03 批准", "state": "closed", "version": 4}


def test_open_card_has_both_buttons_with_their_action_ids():
    params = card_params(OPEN)
    assert all(isinstance(v, str) for v in params.values())  # DingTalk refuses anything else
    assert params["title"] == "待审批：SO-100001"
    assert params["body"].splitlines() == ["**客户**: 杭州茶社  ", "**合计**: 5,660.00 CNY  ", "原因：超过审批额度"]
    assert (params["btn1_label"], params["btn1_action"], params["btn1_style"], params["btn1_visible"]) == (
        "批准",
        "ap:12:3",
        "primary",
        "true",
    )
    assert (params["btn2_action"], params["btn2_visible"]) == ("rj:12:3", "true")
    assert (params["outcome"], params["closed"], params["state"], params["version"]) == ("", "false", "open", "3")


def test_closed_card_shows_the_outcome_and_hides_every_button():
    params = card_params(CLOSED)
    assert params["outcome"] == "王芳 于 14:03 批准" and params["closed"] == "true" and params["state"] == "closed"
    assert [params[f"btn{n}_visible"] for n in (1, 2)] == ["false", "false"]
    assert [params[f"btn{n}_action"] for n in (1, 2)] == ["", ""]
    assert set(params) == set(card_params(OPEN))  # same variables, so an update by key replaces them all


def test_without_a_template_a_card_spells_out_the_commands():
    title, text = card_markdown(OPEN)
    assert title == "待审批：SO-100001"
    assert "批准: `/approve SO-100001`" in text and "驳回: `/reject SO-100001 原因`" in text
    _, closed = card_markdown(CLOSED)
    assert "**王芳 于 14:03 批准**" in closed and "/approve" not in closed


def test_robot_messages_use_text_or_markdown():
    assert robot_message({"text": "SO-100001 已确认", "locale": "zh-CN"}) == (
        "sampleText",
        {"content": "SO-100001 已确认"},
    )
    key, param = robot_message({"text": "Try `/help`\nthen `/order SO-1`", "locale": "en"})
    assert key == "sampleMarkdown" and param["text"] == "Try `/help`  \nthen `/order SO-1`"
    key, param = robot_message({"card": OPEN, "locale": "zh-CN"})
    assert key == "sampleMarkdown" and param["title"] == "待审批：SO-100001"
    json.dumps(param)  # msgParam goes out as a JSON string
