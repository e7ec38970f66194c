"""Requests to /slack/events that Slack did not sign (or signed too long ago) are refused with 401
and change nothing: no order, no outbox row, no call to Slack. Signed with slack-sdk's own signer.

In the integration layer rather than unit, because "nothing changed" is read from a real database.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from bot.outbox.models import OutboxMessage
from core.orders.models import Order
from integrations.slack.adapter import PATH, mount
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, signed, slash_command
from tests.support.platforms import bind, demo_services, serve

LILEI = "U0LILEI"


@pytest.fixture
async def server(tmp_path):
    fake = await FakeSlack().start()
    services = await demo_services(
        tmp_path, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.base_url
    )
    await bind(services, "slack", {"李雷": LILEI})
    client = await serve(services, mount, expect="slack")
    yield client, services, fake
    await client.close()
    await fake.stop()


async def counts(services) -> tuple[int, int]:
    async with services.sessions() as session:
        orders = await session.scalar(select(func.count()).select_from(Order))
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return orders, rows


def order_command() -> tuple[str, dict[str, str]]:
    return form(slash_command(LILEI, "neworder C001 TEA-001*2"))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed(body, secret="0" * 32), id="wrong secret"),
        pytest.param(lambda body: {**signed(body), "X-Slack-Signature": "v0=" + "ab" * 32}, id="forged"),
        pytest.param(lambda body: signed(body, timestamp=int(time.time()) - 301), id="stale 301 s"),
        pytest.param(lambda body: signed(body, timestamp=int(time.time()) + 301), id="from the future"),
        pytest.param(lambda body: {}, id="no headers"),
        pytest.param(lambda body: {"X-Slack-Signature": signed(body)["X-Slack-Signature"]}, id="no timestamp"),
        pytest.param(lambda body: {**signed(body), "X-Slack-Request-Timestamp": "soon"}, id="timestamp not a number"),
    ],
)
async def test_unsigned_requests_are_refused_and_change_nothing(server, headers):
    client, services, fake = server
    body, content = order_command()
    before = await counts(services)
    response = await client.post(PATH, data=body, headers={**content, **headers(body)})
    assert response.status == 401
    sent = [method for method, _ in fake.calls if method != "auth.test"]  # the adapter's start-up call
    assert await counts(services) == before and sent == []


async def test_a_signed_body_altered_in_transit_is_refused(server):
    client, services, fake = server
    body, content = order_command()
    headers = signed(body)
    response = await client.post(PATH, data=body.replace("%2A2", "%2A200"), headers={**content, **headers})
    assert response.status == 401 and await counts(services) == (0, 0)


async def test_signed_but_malformed_is_a_400(server):
    client, services, fake = server
    for body, content_type in (
        ("{not json", "application/json"),
        ("payload=%7Bnope", "application/x-www-form-urlencoded"),
    ):
        response = await client.post(PATH, data=body, headers={"Content-Type": content_type, **signed(body)})
        assert response.status == 400, body
    assert await counts(services) == (0, 0)


async def test_a_signature_299_seconds_old_is_still_good(server):
    client, services, fake = server
    body = json.dumps({"type": "url_verification", "challenge": "c-299", "token": "t"})
    stamp = int(time.time()) - 299
    response = await client.post(
        PATH, data=body, headers={"Content-Type": "application/json", **signed(body, timestamp=stamp)}
    )
    assert response.status == 200 and (await response.json()) == {"challenge": "c-299"}
