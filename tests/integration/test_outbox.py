"""The outbox against a fake platform over HTTP: throttled, failing, killed mid-send; nothing lost,
nothing twice, in order per chat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.delivery import enqueue
from bot.models import ChatMessage
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage, OutboxStatus
from tests.fakes.platform import FakePlatform, HttpClient
from tests.support.master_data import SYSTEM, seed
from tests.support.waiting import until

ROOT = Path(__file__).resolve().parents[2]


async def queue(services, chats: int, per_chat: int) -> None:
    async with services.unit_of_work(SYSTEM) as ctx:
        for n in range(per_chat):
            for chat in range(chats):
                enqueue(ctx, "fake", f"chat-{chat}", "send", {"text": f"message {n}"})


async def test_throttling_and_errors_delay_but_lose_nothing_and_keep_order(services):
    platform = await FakePlatform(script=[429, 500, 500, 503]).start()
    client = HttpClient(platform.url)
    try:
        await queue(services, chats=3, per_chat=5)
        dispatcher = Dispatcher(services, [client])
        started = time.monotonic()
        await dispatcher.run_until_idle(timeout=60)
        for chat in range(3):
            assert [m["text"] for m in platform.received[f"chat-{chat}"]] == [f"message {n}" for n in range(5)]
        assert time.monotonic() - started >= 1.0  # the platform's Retry-After was honoured
        async with services.sessions() as session:
            rows = list(await session.scalars(select(OutboxMessage)))
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        assert all(r.platform_message_id for r in rows)
    finally:
        await client.close()
        await platform.stop()


async def test_a_message_that_keeps_failing_goes_dead_and_admins_are_told(services):
    await seed(services)
    platform = await FakePlatform(script=[500] * 10).start()
    client = HttpClient(platform.url)
    try:
        await queue(services, chats=1, per_chat=1)
        dispatcher = Dispatcher(services, [client], max_attempts=3)
        later = [0]
        services.clock = lambda: datetime.now(UTC) + timedelta(hours=later[0])  # backoffs pass at once
        for _ in range(10):
            later[0] += 1
            await dispatcher.run_once()
            async with services.sessions() as session:
                row = (await session.scalars(select(OutboxMessage))).one()
            if row.status == OutboxStatus.DEAD:
                break
        assert row.status == OutboxStatus.DEAD and row.attempts == 3
        async with services.sessions() as session:
            alerts = list(
                await session.scalars(select(ChatMessage.text).where(ChatMessage.text.like("Undeliverable%")))
            )
        assert alerts and "fake chat-0 failed 3 times" in alerts[0]
    finally:
        await client.close()
        await platform.stop()


async def test_an_app_wide_throttle_pauses_every_chat_of_that_platform(services):
    platform = await FakePlatform(script=[429]).start()  # Retry-After: 1
    client = HttpClient(platform.url)
    try:
        await queue(services, chats=1, per_chat=1)
        dispatcher = Dispatcher(services, [client])
        assert await dispatcher.run_once() == 0  # throttled
        async with services.unit_of_work(SYSTEM) as ctx:
            enqueue(ctx, "fake", "another-chat", "send", {"text": "hello"})
        assert await dispatcher.run_once() == 0 and platform.calls == 1  # the platform is paused
        await dispatcher.run_until_idle(timeout=10)
        assert platform.received["another-chat"] == [{"text": "hello"}] and platform.received["chat-0"]
    finally:
        await client.close()
        await platform.stop()


class BrokenClient:
    """A client with a bug: its exception is not one the dispatcher knows."""

    platform, per_second, per_chat_per_minute = "fake", 50.0, 600.0

    async def send(self, recipient, payload, dedupe_key):
        raise KeyError("card")

    async def edit(self, recipient, message_id, payload, dedupe_key):
        raise KeyError("card")


async def test_a_client_bug_is_counted_as_a_failure_and_does_not_jam_the_chat(services):
    await queue(services, chats=1, per_chat=2)
    dispatcher = Dispatcher(services, [BrokenClient()], max_attempts=2)
    later = [0]
    services.clock = lambda: datetime.now(UTC) + timedelta(hours=later[0])  # backoffs pass at once
    for _ in range(6):
        later[0] += 1
        await dispatcher.run_once()
    async with services.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.DEAD, 2), (OutboxStatus.DEAD, 2)]
    assert "card" in rows[0].last_error


async def test_a_dispatcher_killed_mid_send_delivers_after_restart(services, tmp_path):
    platform = await FakePlatform(delay=3.0).start()  # holds the request long enough to kill the sender
    try:
        await queue(services, chats=1, per_chat=1)
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(services.settings.database_url), platform.url],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        await until(lambda: platform.calls, timeout=10)  # the request is in flight
        assert platform.calls == 1
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        platform.delay = 0
        async with services.sessions() as session:
            row = (await session.scalars(select(OutboxMessage))).one()
        assert row.status == OutboxStatus.SENDING
        client = HttpClient(platform.url)
        try:
            # The killed sender's lease (1 s in the worker) lapses; the restarted one sends it again
            await until(lambda: datetime.now(UTC) > row.locked_until, timeout=5)
            await Dispatcher(services, [client]).run_until_idle(timeout=20)
        finally:
            await client.close()
        assert [m["text"] for m in platform.received["chat-0"]] == ["message 0"]
    finally:
        await platform.stop()


_WORKER = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from bot.outbox.dispatcher import Dispatcher
from bot.wiring import services_for
from core.config import Settings
from tests.fakes.platform import HttpClient

async def main():
    services = services_for(Settings(database_url=sys.argv[1]))
    client = HttpClient(sys.argv[2])
    await Dispatcher(services, [client], lease=timedelta(seconds=1)).run_once()

asyncio.run(main())
"""


async def test_card_changes_become_edits_of_the_delivered_message(services):
    from bot.events.dispatcher import deliver_pending
    from core.orders import confirmation
    from core.users.models import ChatIdentity, User
    from tests.support.service_calls import as_user, place

    await seed(services, stock={("TEA-001", "SH"): 100})
    async with services.unit_of_work(SYSTEM) as ctx:  # 王芳 also uses the fake platform
        wangfang = (await ctx.session.scalars(select(User).where(User.name == "王芳"))).one()
        ctx.session.add(ChatIdentity(user_id=wangfang.id, platform="fake", external_id="wf"))
    platform = await FakePlatform().start()
    client = HttpClient(platform.url)
    try:
        no = await place(services, items={"TEA-001": 50})
        await deliver_pending(services)
        dispatcher = Dispatcher(services, [client])
        await dispatcher.run_until_idle()
        [card] = platform.received["wf"]
        assert card["card"]["title"] == f"Approval needed: {no}" and card["card"]["buttons"]
        await as_user(services, "经理", lambda ctx: confirmation.approve(ctx, no))
        await deliver_pending(services)
        await dispatcher.run_until_idle()
        edit = platform.received["wf"][1]
        assert edit["edit"] == "1000" and edit["card"]["buttons"] == [] and "经理" in edit["card"]["outcome"]
    finally:
        await client.close()
        await platform.stop()
