"""Block Kit rendering of the neutral card, and Slack's text as chat commands."""

from __future__ import annotations

from integrations.slack.render import card, message
from integrations.slack.text import chat_message, slash_command

OPEN = {
    "card_id": 12,
    "kind": "approval",
    "title": "Approval needed: SO-100001",
    "fields": [{"label": "Customer", "value": "杭州茶社"}, {"label": "Total", "value": "6,750.00 <CNY>"}],
    "notes": ["Why: above the approval threshold"],
    "buttons": [
        {"label": "Approve", "action": "ap:12:3", "style": "primary"},
        {
            "label": "Reject",
            "action": "rj:12:3",
            "style": "danger",
            "confirm": {
                "title": "Reject SO-100001?",
                "text": "The salesperson is told.",
                "yes": "Reject",
                "no": "Cancel",
            },
        },
    ],
    "outcome": None,
    "state": "open",
    "version": 3,
}
CLOSED = {**OPEN, "buttons": [], "outcome": "Approved by 王芳 at 14:03", "state": "closed", "version": 4}


def test_open_card_has_fields_notes_and_buttons():
    rendered = card(OPEN)
    assert rendered["text"] == "Approval needed: SO-100001"
    header, fields, notes, buttons = rendered["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": OPEN["title"], "emoji": True}}
    assert [f["text"] for f in fields["fields"]] == ["*Customer*\n杭州茶社", "*Total*\n6,750.00 &lt;CNY&gt;"]
    assert notes["type"] == "context" and notes["elements"][0]["text"] == "Why: above the approval threshold"
    approve, reject = buttons["elements"]
    assert (approve["action_id"], approve["value"], approve["style"]) == ("ap:12:3", "ap:12:3", "primary")
    assert "confirm" not in approve
    assert reject["style"] == "danger" and reject["confirm"]["style"] == "danger"
    question = {k: reject["confirm"][k]["text"] for k in ("title", "text", "confirm", "deny")}
    assert question == {
        "title": "Reject SO-100001?",
        "text": "The salesperson is told.",
        "confirm": "Reject",
        "deny": "Cancel",
    }


def test_closed_card_shows_the_outcome_and_no_buttons():
    rendered = card(CLOSED)
    assert all(b["type"] != "actions" for b in rendered["blocks"])
    assert rendered["blocks"][-1]["text"]["text"] == "*Approved by 王芳 at 14:03*"
    assert rendered["text"] == "Approval needed: SO-100001 — Approved by 王芳 at 14:03"


def test_many_fields_are_split_ten_to_a_section_and_default_buttons_have_no_style():
    fields = [{"label": f"L{i}", "value": str(i)} for i in range(23)]
    rendered = card(
        {**OPEN, "fields": fields, "buttons": [{"label": "Picked", "action": "pk:1:1", "style": "default"}]}
    )
    sections = [b for b in rendered["blocks"] if b["type"] == "section" and "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10, 3]
    [button] = rendered["blocks"][-1]["elements"]
    assert "style" not in button and "confirm" not in button


def test_plain_text_is_escaped_for_slack():
    assert message({"text": "Use `/order SO-1` & <b>", "locale": "en"}) == {"text": "Use `/order SO-1` &amp; &lt;b&gt;"}


def test_slash_command_text_becomes_a_chat_command():
    assert slash_command("/oms", "order SO-100001") == "/order SO-100001"
    assert slash_command("/oms", "") == "/help"
    assert slash_command("/oms", " help ") == "/help"
    assert slash_command("/oms", "/stock TEA-001") == "/stock TEA-001"
    assert slash_command("/oms", "下单 C001 TEA-001*2") == "/下单 C001 TEA-001*2"
    assert slash_command("/order", "SO-1") == "/order SO-1"  # registered under its own name
    assert slash_command("/oms", "reject SO-1 too &lt;cheap&gt; &amp; late") == "/reject SO-1 too <cheap> & late"


def test_direct_messages_and_mentions_become_chat_commands():
    assert chat_message("<@U0BOT> order SO-1") == "/order SO-1"
    assert chat_message("<@U0BOT|oms>") == "/help"
    assert chat_message("/approvals") == "/approvals"
    assert chat_message("return SO-1 TEA-001*1 see <https://x.example/p|photo>") == "/return SO-1 TEA-001*1 see photo"
