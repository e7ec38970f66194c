"""Callback requests checked and turned into events, and every refusal with its status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.inbound import SIGNED_MAX_AGE, SIGNED_MAX_AHEAD, stale
from integrations.callback_crypto import MessageCrypto
from integrations.wecom.callback import Refused, open_post, parse_event, parse_xml, url_check
from tests.fakes.wecom import AES_KEY, CORP_ID, TOKEN, envelope, tap_xml, text_xml

CRYPTO = MessageCrypto(TOKEN, AES_KEY, CORP_ID)
NOW = 1_700_000_000


def fresh(signed_at: datetime) -> str | None:
    """The adapter's check, with our clock at ``NOW``."""
    return stale(signed_at, datetime.fromtimestamp(NOW, UTC))


def signed(xml: str, crypto: MessageCrypto = CRYPTO, timestamp: int = NOW) -> tuple[dict[str, str], bytes]:
    sealed = crypto.seal(xml, str(timestamp), "n0nce")
    query = {"msg_signature": sealed.signature, "timestamp": sealed.timestamp, "nonce": sealed.nonce}
    return query, envelope(sealed.encrypt).encode()


def test_text_message_becomes_a_command_with_a_slash():
    event = open_post(CRYPTO, *signed(text_xml("LiLei", "查单 SO-100001", 1234)), fresh)
    assert (event.kind, event.user, event.text, event.event_id) == ("text", "LiLei", "/查单 SO-100001", "msg:1234")
    assert open_post(CRYPTO, *signed(text_xml("LiLei", "/help", 1235)), fresh).text == "/help"


def test_card_tap_carries_action_task_and_fresh_response_code():
    event = open_post(CRYPTO, *signed(tap_xml("WangFang", "oms-12-ab", "ap:12:3", "RC1")), fresh)
    assert (event.kind, event.action, event.task_id, event.response_code) == ("tap", "ap:12:3", "oms-12-ab", "RC1")
    assert event.event_id == "tap:oms-12-ab:WangFang:ap:12:3"  # every retry of this tap is the same event


def test_other_events_are_recognised_but_not_acted_on():
    xml = (
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    )
    assert parse_event(parse_xml(xml.encode())).kind == "other"


def test_refusals_and_their_status():
    query, body = signed(text_xml("LiLei", "/help", 1))
    with pytest.raises(Refused) as forged:
        open_post(CRYPTO, query | {"msg_signature": "a" * 40}, body, fresh)
    assert forged.value.status == 403
    with pytest.raises(Refused) as other_corp:
        open_post(CRYPTO, *signed(text_xml("LiLei", "/help", 1), MessageCrypto(TOKEN, AES_KEY, "wwother")), fresh)
    assert other_corp.value.status == 403
    with pytest.raises(Refused) as missing:
        open_post(CRYPTO, {}, body, fresh)
    assert missing.value.status == 400
    with pytest.raises(Refused) as entity:
        parse_xml(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>')
    assert entity.value.status == 400
    with pytest.raises(Refused) as no_user:
        parse_event(parse_xml(b"<xml><MsgType>text</MsgType></xml>"))
    assert no_user.value.status == 400


def test_url_check_returns_the_plaintext():
    sealed = CRYPTO.seal("echo-1288432023552776189", str(NOW), "2")
    query = {"msg_signature": sealed.signature, "timestamp": str(NOW), "nonce": "2", "echostr": sealed.encrypt}
    assert url_check(CRYPTO, query, fresh) == "echo-1288432023552776189"
    old = CRYPTO.seal("echo-1", "1411443780", "2")  # a URL check captured years ago
    query = {"msg_signature": old.signature, "timestamp": "1411443780", "nonce": "2", "echostr": old.encrypt}
    with pytest.raises(Refused) as replayed:
        url_check(CRYPTO, query, fresh)
    assert replayed.value.status == 403


AGE = int(SIGNED_MAX_AGE.total_seconds())
AHEAD = int(SIGNED_MAX_AHEAD.total_seconds())


@pytest.mark.parametrize("offset", [-AGE, 0, AHEAD], ids=["oldest-trusted", "now", "clock-ahead"])
def test_a_signed_request_within_the_window_is_opened(offset):
    assert open_post(CRYPTO, *signed(text_xml("LiLei", "/help", 1), timestamp=NOW + offset), fresh).kind == "text"


@pytest.mark.parametrize("offset", [-AGE - 1, -10 * AGE, AHEAD + 1], ids=["just-too-old", "years-old", "future"])
def test_a_signed_request_outside_the_window_is_refused_like_a_forged_one(offset):
    with pytest.raises(Refused) as refused:
        open_post(CRYPTO, *signed(text_xml("LiLei", "/help", 1), timestamp=NOW + offset), fresh)
    assert refused.value.status == 403 and "timestamp" in refused.value.reason


def test_the_signature_is_checked_before_the_time_and_the_time_must_be_a_number():
    query, body = signed(text_xml("LiLei", "/help", 1), timestamp=NOW - 10 * AGE)
    with pytest.raises(Refused) as forged:
        open_post(CRYPTO, query | {"msg_signature": "a" * 40}, body, fresh)
    assert forged.value.reason == "msg_signature does not match"  # not a replay: a forgery
    for timestamp in ("17e8", "１７００００００００", "9" * 12):  # signed, but not Unix seconds
        sealed = CRYPTO.seal(text_xml("LiLei", "/help", 1), timestamp, "n")
        query = {"msg_signature": sealed.signature, "timestamp": timestamp, "nonce": "n"}
        with pytest.raises(Refused) as malformed:
            open_post(CRYPTO, query, envelope(sealed.encrypt).encode(), fresh)
        assert malformed.value.status == 400


def test_xml_in_another_encoding_is_refused_before_parsing():
    hidden = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><xml/>'.encode("utf-16")
    with pytest.raises(Refused) as refused:
        parse_xml(hidden)
    assert refused.value.status == 400
