"""The fake Stream gateway speaks the real protocol: the official ``dingtalk-stream`` SDK opens a
connection through it and acknowledges its frames the way our client does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotMessage, Credential, DingTalkStreamClient

from integrations.dingtalk.stream import StreamClient
from tests.fakes.dingtalk import FakeDingTalk
from tests.support.waiting import until


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    platform = await FakeDingTalk().start()
    yield platform
    await platform.stop()


class Echo(CallbackHandler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[ChatbotMessage] = []

    async def process(self, callback):
        self.seen.append(ChatbotMessage.from_dict(callback.data))
        return AckMessage.STATUS_OK, None


async def acks_from_sdk(fake: FakeDingTalk, frames: list[dict]) -> tuple[list[dict], Echo]:
    sdk = DingTalkStreamClient(Credential(fake.client_id, fake.client_secret))
    echo = Echo()
    sdk.register_callback_handler("/v1.0/im/bot/messages/get", echo)
    sdk.pre_start()
    # DingTalkStreamClient.start() loops for ever; this is its body for one connection. Its open
    # call is blocking (``requests``), so it runs in a thread here.
    connection = await asyncio.to_thread(sdk.open_connection)
    async with websockets.connect(f"{connection['endpoint']}?ticket={connection['ticket']}") as ws:
        sdk.websocket = ws
        await fake.connected()
        reader = asyncio.create_task(_route(sdk, ws))
        acks = [await fake.push(frame) for frame in frames]
        reader.cancel()
    return acks, echo


async def _route(sdk: DingTalkStreamClient, ws) -> None:
    async for raw in ws:
        await sdk.route_message(json.loads(raw))


async def acks_from_ours(fake: FakeDingTalk, frames: list[dict]) -> list[dict]:
    handled: list[tuple[str, dict]] = []

    async def handler(kind, topic, data, headers):
        handled.append((topic, data))

    ours = StreamClient(client_id=fake.client_id, client_secret=fake.client_secret, handler=handler, api_url=fake.url)
    task = asyncio.create_task(ours.run())
    try:
        await fake.connected(len(fake.sockets) + 1)
        return [await fake.push(frame) for frame in frames]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def parsed(ack: dict) -> dict:
    return {**ack, "data": json.loads(ack["data"])}


async def test_sdk_and_our_client_ack_the_same_frames_the_same_way(fake, monkeypatch):
    # the SDK reads DINGTALK_OPENAPI_ENDPOINT at import time into this class attribute
    monkeypatch.setattr(DingTalkStreamClient, "OPEN_CONNECTION_API", fake.url + "/v1.0/gateway/connections/open")
    ping = fake.ping_frame("opaque-7")
    message = fake.robot_frame("staff_lilei", "查单 SO-1")
    sdk_acks, echo = await acks_from_sdk(fake, [ping, message])
    assert echo.seen[0].sender_staff_id == "staff_lilei" and echo.seen[0].text.content == "查单 SO-1"
    assert fake.opens[0]["clientId"] == fake.client_id  # the SDK's open call passed the fake's checks
    our_acks = await acks_from_ours(fake, [ping, message])
    for sdk_ack, our_ack in zip(sdk_acks, our_acks, strict=True):
        assert parsed(our_ack) == {**parsed(sdk_ack), "message": "OK"}  # the SDK leaves message "" on callbacks


async def test_refused_credentials_are_retried_with_growing_delays(fake):
    async def handler(*_):
        raise AssertionError("no frame can arrive without a connection")

    client = StreamClient(
        client_id=fake.client_id, client_secret="wrong", handler=handler, api_url=fake.url, base_delay=0.02
    )
    task = asyncio.create_task(client.run())
    try:
        await until(lambda: len(fake.open_times) >= 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    gaps = [b - a for a, b in zip(fake.open_times, fake.open_times[1:], strict=False)]
    assert gaps[3] > gaps[0] * 3  # 0.02·2³ vs 0.02 with ±20 % jitter
    assert not fake.sockets and client.connections == 0
