"""Stream-mode framing: ACKs, reconnect backoff, re-push detection, and frames turned into Inbound."""

from __future__ import annotations

import json

import pytest
from dingtalk_stream.frames import AckMessage  # the official SDK, as a reference for the wire shape

from bot.gateway import Inbound
from integrations.dingtalk.inbound import card_tap, robot_message
from integrations.dingtalk.stream import ack_frame, backoff


def test_ack_frame_matches_the_official_sdk():
    sdk = AckMessage()
    sdk.headers.message_id, sdk.headers.content_type = "m-1", "application/json"
    sdk.message, sdk.data = "OK", {"response": {"a": "钉"}}
    ours = ack_frame("m-1", {"response": {"a": "钉"}})
    assert ours == {
        "code": 200,
        "headers": {"messageId": "m-1", "contentType": "application/json"},
        "message": "OK",
        "data": ours["data"],
    }
    assert {**ours, "data": json.loads(ours["data"])} == {**sdk.to_dict(), "data": json.loads(sdk.to_dict()["data"])}
    assert ack_frame("p-1", raw='{"opaque":"x"}')["data"] == '{"opaque":"x"}'  # a ping is echoed verbatim


def test_backoff_doubles_from_one_second_to_a_minute_with_jitter():
    middle = [backoff(n, rand=lambda: 0.5) for n in range(9)]
    assert middle == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(0, rand=lambda: 0.0) == 0.8 and backoff(0, rand=lambda: 1.0) == pytest.approx(1.2)
    assert backoff(20, rand=lambda: 1.0) == 60  # jitter never goes past the cap
    assert backoff(3, base=0.01, rand=lambda: 0.5) == pytest.approx(0.08)  # tests shrink the base


def message(**overrides):
    data = {
        "msgtype": "text",
        "text": {"content": "查单 SO-100001"},
        "msgId": "msgABC",
        "conversationType": "1",
        "conversationId": "cidSingle==",
        "senderStaffId": "staff_lilei",
        "senderNick": "李雷",
    }
    return {**data, **overrides}


def test_robot_message_becomes_a_command_for_the_right_chat():
    assert robot_message(message()) == (
        Inbound("dingtalk", "staff_lilei", "staff_lilei", "msg:msgABC"),
        "/查单 SO-100001",
    )
    group = robot_message(message(conversationType="2", conversationId="cidG==", text={"content": "  /approvals "}))
    assert group == (Inbound("dingtalk", "staff_lilei", "cidG==", "msg:msgABC"), "/approvals")
    assert robot_message(message(text={"content": "／帮助"}))[1] == "/帮助"
    assert robot_message(message(msgtype="picture", text=None)) is None
    assert robot_message(message(senderStaffId=None)) is None  # someone outside the organisation
    assert robot_message(message(text={"content": "   "})) is None


def test_card_callback_carries_the_neutral_action():
    data = {
        "outTrackId": "oms-12-abc",
        "userId": "staff_wangfang",
        "corpId": "dingcorp",
        "type": "actionCallback",
        "content": json.dumps({"cardPrivateData": {"actionIds": ["btn1"], "params": {"action": "ap:12:3"}}}),
    }
    inbound, action = card_tap(data)
    assert action == "ap:12:3"
    assert inbound == Inbound("dingtalk", "staff_wangfang", "staff_wangfang", "tap:oms-12-abc:staff_wangfang:ap:12:3")
    assert card_tap({**data, "content": json.dumps({"cardPrivateData": {"params": {"x": "y"}}})}) is None
    assert card_tap({**data, "content": "not json"}) is None
    assert card_tap({**data, "userId": ""}) is None
