"""Outbound webhooks, the pure parts: the signature is exactly what the official
``standardwebhooks`` package computes and verifies; the envelope is the documented contract; the
retry ladder is Standard Webhooks' and ends after about three days."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from bot.outbox.dispatcher import Dispatcher
from core.events.catalogue import EVENTS, OrderShipped, OrderStatusChanged, PaymentOverdue
from core.orders.status import OrderStatus
from core.webhooks.envelope import MAX_BYTES, body, envelope, parse_event_id
from core.webhooks.errors import WebhookEventUnknown, WebhookUrlInvalid
from core.webhooks.service import check_events, check_url, new_secret, secret_key
from integrations.webhooks.client import RETRY_SCHEDULE, WebhookClient, _seconds
from integrations.webhooks.signing import headers, signature

AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_a_secret_is_whsec_and_32_random_bytes():
    one, two = new_secret(), new_secret()
    assert one.startswith("whsec_") and one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32 == len(secret_key(one))


def test_the_signature_is_the_official_packages():
    secret = new_secret()
    payload = body({"id": "evt_7", "type": "order.received", "data": {"order_no": "SO-1", "名": "龙井"}})
    ts = int(AT.timestamp())
    assert signature(secret, "evt_7", ts, payload) == Webhook(secret).sign("evt_7", AT, payload.decode())


def test_the_headers_verify_with_the_official_package_and_a_tampered_body_does_not():
    secret = new_secret()
    payload = body(envelope(12, OrderStatusChanged(**_changed())))
    now = int(datetime.now(UTC).timestamp())
    sent = headers(secret, "evt_12", now, payload)
    assert sent["content-type"] == "application/json" and sent["webhook-id"] == "evt_12"
    assert Webhook(secret).verify(payload, sent)["id"] == "evt_12"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(payload.replace(b"SO-1", b"SO-2"), sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(payload, sent)


def _changed() -> dict:
    return dict(
        at=AT,
        order_no="SO-1",
        from_status=OrderStatus.CONFIRMED,
        to_status=OrderStatus.ALLOCATED,
        trigger="allocate",
        actor="李雷",
        actor_id=2,
    )


def test_the_envelope_is_the_contract():
    sent = envelope(12, OrderStatusChanged(**_changed()))
    assert sent == {
        "id": "evt_12",
        "type": "order.status_changed",
        "version": 1,
        "timestamp": "2026-12-01T09:30:15.123456+00:00",
        "data": {
            "order_no": "SO-1",
            "from_status": "confirmed",
            "to_status": "allocated",
            "trigger": "allocate",
            "actor": "李雷",
            "actor_id": 2,
            "reason": None,
        },
    }
    overdue = envelope(3, PaymentOverdue(at=AT, order_no="SO-1", amount=Decimal("12.50"), due_on=AT.date()))
    assert overdue["data"] == {"order_no": "SO-1", "amount": "12.50", "due_on": "2026-12-01"}  # strings


def test_an_ordinary_envelope_is_far_below_20_kb():
    lines = {f"SKU-{i:04d}": i for i in range(200)}
    shipped = OrderShipped(
        at=AT, order_no="SO-1", carrier="SF", tracking_no="SF1", warehouse="SH", lines=lines, complete=True
    )
    assert len(body(envelope(1, shipped))) < MAX_BYTES


@pytest.mark.parametrize(("text", "number"), [("evt_12", 12), ("12", 12), (" evt_3 ", 3), ("evt_x", None), ("0", None)])
def test_an_event_id_is_read_with_or_without_its_prefix(text, number):
    assert parse_event_id(text) == number


def test_urls_and_event_names_are_checked():
    assert check_url("https://erp.example.com/hooks/oms") == "https://erp.example.com/hooks/oms"
    for bad in ("ftp://erp.example.com", "erp.example.com", "http://", "https://a b"):
        with pytest.raises(WebhookUrlInvalid):
            check_url(bad)
    assert check_events(["order.status_changed", " shipment.status_changed", "order.status_changed"]) == [
        "order.status_changed",
        "shipment.status_changed",
    ]
    assert check_events(["order.received", "*"]) == ["*"]
    with pytest.raises(WebhookEventUnknown) as refused:
        check_events(["order.updated"])
    assert "order.updated" in refused.value.message and "order.status_changed" in refused.value.message
    assert sorted(EVENTS) == refused.value.known


def test_the_retry_ladder_is_standard_webhooks_and_lasts_about_three_days():
    assert RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert timedelta(days=3) < timedelta(seconds=sum(RETRY_SCHEDULE)) < timedelta(days=3, hours=6)
    dispatcher = Dispatcher(None, [])  # type: ignore[arg-type]
    client = WebhookClient(None)  # type: ignore[arg-type]
    delays = [dispatcher._retry_delay(client, n) for n in range(1, 11)]
    assert delays[:9] == [timedelta(seconds=s) for s in RETRY_SCHEDULE] and delays[9] is None


def test_other_clients_keep_the_dispatchers_backoff():
    class Chat:
        platform = "chat"

    dispatcher = Dispatcher(None, [], max_attempts=8)  # type: ignore[arg-type]
    delays = [dispatcher._retry_delay(Chat(), n) for n in (1, 7, 8)]  # type: ignore[arg-type]
    assert delays == [timedelta(seconds=2), timedelta(seconds=128), None]


def test_retry_after_is_seconds_or_a_date():
    now = AT.timestamp()
    assert _seconds("30", now) == 30.0
    assert _seconds("Tue, 01 Dec 2026 09:31:15 GMT", now) == pytest.approx(60, abs=1)
    assert _seconds(None, now) is None and _seconds("soon", now) is None
