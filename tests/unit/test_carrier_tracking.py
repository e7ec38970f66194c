"""Carrier names, the providers' status vocabularies and signatures, and the forward-only rule:
pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from core.orders.models import Shipment
from core.orders.status import ShipmentStatus as S
from core.shipping import carriers
from core.shipping.carriers import UnknownCarrier
from core.shipping.tracking import Scan, moves
from integrations.carriers import aftership, kuaidi100, standard
from integrations.carriers.wire import Forged, Malformed
from tests.support import carriers as wire


@pytest.mark.parametrize("name", ["SF", "sf", "shunfeng", "sf-express", "顺丰", "顺丰速运", "SF Express"])
def test_every_name_of_a_carrier_means_our_code(name):
    assert carriers.resolve(name).code == "SF"


def test_each_carrier_has_one_code_per_aggregator():
    assert len(carriers.BY_KUAIDI100) == len(carriers.BY_AFTERSHIP) == len(carriers.BY_CODE) == len(carriers.CARRIERS)
    assert carriers.BY_KUAIDI100["jtexpress"].code == "JT" and carriers.BY_AFTERSHIP["china-ems"].code == "EMS"
    assert carriers.resolve("德邦").code == "DBL" and carriers.resolve("zhongtong").code == "ZTO"


def test_an_unknown_carrier_is_refused_with_the_nearest_names():
    with pytest.raises(UnknownCarrier) as refused:
        carriers.resolve("shunfen")
    assert refused.value.suggestions.split(", ")[0] == "SF"
    with pytest.raises(UnknownCarrier) as refused:
        carriers.resolve("顺风")  # a typo for 顺丰
    assert "SF" in refused.value.suggestions
    assert carriers.resolve("ups").name("zh-CN") == "UPS" and carriers.resolve("FEDEX").name("zh") == "联邦快递"


@pytest.mark.parametrize(
    ("state", "status", "reason"),
    [
        ("0", S.IN_TRANSIT, None),
        ("1", S.PICKED_UP, None),
        ("2", S.EXCEPTION, "problem"),
        ("3", S.DELIVERED, None),
        ("4", S.EXCEPTION, "returned"),
        ("5", S.OUT_FOR_DELIVERY, None),
        ("6", S.EXCEPTION, "returned"),
        ("7", S.IN_TRANSIT, None),
        ("8", S.IN_TRANSIT, None),
        ("10", S.IN_TRANSIT, None),
        ("11", S.IN_TRANSIT, None),
        ("12", S.IN_TRANSIT, None),
        ("13", S.EXCEPTION, "customs"),
        ("14", S.EXCEPTION, "refused"),
    ],
)
def test_kuaidi100_states_map_to_ours(state, status, reason):
    param = wire.kuaidi100_param("SF1", wire.SF_LIFE[:2])
    param["lastResult"]["state"] = state
    push = kuaidi100.push_from(json.dumps(param, ensure_ascii=False))
    assert (push.scans[-1].status, push.scans[-1].reason) == (status, reason)


def test_a_kuaidi100_push_is_its_whole_history_oldest_first_in_china_time():
    headers, body = wire.kuaidi100_request(wire.kuaidi100_param("SF1", wire.SF_LIFE))
    push = kuaidi100.verify(body, wire.KUAIDI100_SALT)
    assert (push.provider, push.carrier, push.tracking_no) == ("kuaidi100", "SF", "SF1")
    assert [s.status for s in push.scans] == [S.PICKED_UP, S.IN_TRANSIT, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
    assert push.scans[0].occurred_at == datetime(2026, 12, 1, 1, 12, tzinfo=UTC)
    assert push.scans[-1].description.startswith("【上海市】已签收") and push.scans[-1].location == "上海市"
    # The same scan has the same key on the next push, whatever status the push gives it.
    shorter = kuaidi100.push_from(json.dumps(wire.kuaidi100_param("SF1", wire.SF_LIFE[:2], labels=False)))
    assert shorter.scans[0].key == push.scans[0].key and shorter.scans[0].status == S.PICKED_UP


def test_a_kuaidi100_push_with_a_wrong_sign_or_no_salt_is_forged():
    headers, body = wire.kuaidi100_request(wire.kuaidi100_param("SF1", wire.SF_LIFE), salt="guessed")
    with pytest.raises(Forged):
        kuaidi100.verify(body, wire.KUAIDI100_SALT)
    _, good = wire.kuaidi100_request(wire.kuaidi100_param("SF1", wire.SF_LIFE))
    with pytest.raises(Forged):
        kuaidi100.verify(good, None)
    form = parse_qs(good.decode())
    assert form["sign"][0] == kuaidi100.sign(form["param"][0], wire.KUAIDI100_SALT)


def test_an_abort_push_is_a_stalled_parcel():
    param = wire.kuaidi100_param("SF1", wire.SF_LIFE[:2])
    param.update(status="abort", message="3天查询无记录")
    push = kuaidi100.push_from(json.dumps(param, ensure_ascii=False))
    assert (push.scans[-1].status, push.scans[-1].reason, push.scans[-1].description) == (
        S.EXCEPTION,
        "stalled",
        "3天查询无记录",
    )


@pytest.mark.parametrize(
    ("tag", "subtag", "status", "reason"),
    [
        ("InfoReceived", None, S.LABEL_CREATED, None),
        ("OutForDelivery", None, S.OUT_FOR_DELIVERY, None),
        ("AvailableForPickup", None, S.OUT_FOR_DELIVERY, None),
        ("AttemptFail", None, S.EXCEPTION, "failed_attempt"),
        ("Delivered", None, S.DELIVERED, None),
        ("Exception", "Exception_003", S.EXCEPTION, "refused"),
        ("Exception", "Exception_004", S.EXCEPTION, "customs"),
        ("Expired", None, S.EXCEPTION, "stalled"),
    ],
)
def test_aftership_tags_map_to_ours(tag, subtag, status, reason):
    picked = ("2026-12-01T10:00:00+08:00", "已揽件", "杭州", "InTransit")
    body = wire.aftership_body("YT1", tag, [picked], subtag=subtag)
    push = aftership.push_from(json.dumps(body).encode())
    assert (push.scans[-1].status, push.scans[-1].reason) == (status, reason)
    assert push.scans[0].status == S.PICKED_UP  # the first InTransit checkpoint is the pickup
    assert (push.carrier, push.key) == ("YTO", body["event_id"])


def test_aftership_signatures_are_checked_over_the_raw_body():
    headers, body = wire.aftership_request(wire.aftership_body("YT1", "InTransit", []))
    assert aftership.verify(headers, body, wire.AFTERSHIP_SECRET).tracking_no == "YT1"
    with pytest.raises(Forged):
        aftership.verify(headers, body + b" ", wire.AFTERSHIP_SECRET)
    with pytest.raises(Forged):
        aftership.verify({}, body, wire.AFTERSHIP_SECRET)


def test_a_standard_scan_is_verified_and_read():
    scan = {"carrier": "顺丰", "tracking_number": "SF9", "status": "in_transit", "occurred_at": "2026-12-01T10:00:00Z"}
    headers, body = wire.standard_request(scan, msg_id="msg_1")
    push = standard.verify(headers, body, wire.CARRIER_SECRET)
    assert (push.carrier, push.key, push.scans[0].status) == ("SF", "msg_1", S.IN_TRANSIT)
    with pytest.raises(Forged):
        standard.verify(headers, body.replace(b"SF9", b"SF8"), wire.CARRIER_SECRET)
    headers, body = wire.standard_request({**scan, "status": "teleported"})
    with pytest.raises(Malformed):
        standard.verify(headers, body, wire.CARRIER_SECRET)


AT = datetime(2026, 12, 1, tzinfo=UTC)


def shipment(status: S, *reached: S, reason: str | None = None) -> Shipment:
    been = [s.value for s in (S.LABEL_CREATED, *reached, status)]
    return Shipment(status=status, reached=been, exception_reason=reason)


def scan(status: S, reason: str | None = None) -> Scan:
    return Scan(occurred_at=AT + timedelta(hours=1), status=status, reason=reason)


def test_a_shipment_moves_forward_only():
    assert moves(shipment(S.LABEL_CREATED), scan(S.IN_TRANSIT))
    assert not moves(shipment(S.OUT_FOR_DELIVERY), scan(S.IN_TRANSIT))
    assert not moves(shipment(S.IN_TRANSIT), scan(S.IN_TRANSIT))
    assert not moves(shipment(S.DELIVERED), scan(S.EXCEPTION, "lost"))


def test_an_exception_is_entered_from_anywhere_but_delivered_and_left_only_forward():
    assert moves(shipment(S.IN_TRANSIT), scan(S.EXCEPTION, "customs"))
    stuck = shipment(S.EXCEPTION, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, reason="failed_attempt")
    assert moves(stuck, scan(S.OUT_FOR_DELIVERY)) and moves(stuck, scan(S.DELIVERED))
    assert not moves(stuck, scan(S.IN_TRANSIT))
    assert not moves(stuck, scan(S.EXCEPTION, "failed_attempt")) and moves(stuck, scan(S.EXCEPTION, "refused"))
