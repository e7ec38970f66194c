"""A platform's retry is recognised, also when two deliveries race, and old keys are pruned, but
never while a replay of their request would still be trusted; a signature is used once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.inbound import DEFAULT_WINDOW, SIGNED_MAX_AGE, SIGNED_MAX_AHEAD, Use, first_time, first_use, prune, stale
from tests.support.master_data import SYSTEM


async def test_a_repeat_is_recognised_and_sources_are_separate(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await first_time(ctx, "slack", "Ev123")
        assert not await first_time(ctx, "slack", "Ev123")
        assert await first_time(ctx, "telegram", "Ev123")


async def test_two_deliveries_at_once_act_once(services):
    async def deliver() -> bool:
        async with services.unit_of_work(SYSTEM) as ctx:
            return await first_time(ctx, "wecom", "msg-1")

    assert sorted(await asyncio.gather(deliver(), deliver(), deliver())) == [False, False, True]


async def test_a_rolled_back_action_does_not_burn_the_key(services):
    try:
        async with services.unit_of_work(SYSTEM) as ctx:
            assert await first_time(ctx, "dingtalk", "cb-9")
            raise RuntimeError("the action failed")
    except RuntimeError:
        pass
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await first_time(ctx, "dingtalk", "cb-9")  # the retry is processed


async def test_keys_older_than_the_window_are_pruned(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        await first_time(ctx, "slack", "old")
    services.clock = lambda: datetime.now(UTC) + timedelta(days=4)
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await prune(ctx) == 1
        assert await first_time(ctx, "slack", "old")


async def test_housekeeping_prunes_old_keys(services):
    from bot.scheduler import housekeeping

    async with services.unit_of_work(SYSTEM) as ctx:
        await first_time(ctx, "aftership", "e1")
    assert await housekeeping(services) == 0
    services.clock = lambda: datetime.now(UTC) + timedelta(days=4)
    assert await housekeeping(services) == 1


async def test_a_key_outlives_the_time_its_signed_request_is_trusted(services):
    # Given a WeCom message stamped as far ahead of our clock as is accepted, its key stored now
    from bot.scheduler import housekeeping

    start = datetime.now(UTC)
    services.clock = lambda: start
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await first_time(ctx, "wecom", "msg:1")
    signed_at = start + SIGNED_MAX_AHEAD
    # When the same request comes back at the last moment it is still trusted, after housekeeping ran
    last = signed_at + SIGNED_MAX_AGE
    services.clock = lambda: last
    assert stale(signed_at, last) is None
    await housekeeping(services)
    # Then its key is still there: it is recognised and does nothing; a moment later it is refused outright
    async with services.unit_of_work(SYSTEM) as ctx:
        assert not await first_time(ctx, "wecom", "msg:1")
    assert stale(signed_at, last + timedelta(seconds=1)) is not None


async def _used_once(services) -> None:
    async def use(body: bytes) -> Use:
        async with services.unit_of_work(SYSTEM) as ctx:
            return await first_use(ctx, "dingtalk-sign", "1764050000000:c2lnbg==", body)

    assert await use(b'{"text": "/neworder"}') is Use.FIRST
    assert await use(b'{"text": "/neworder"}') is Use.REPEAT  # the sender's re-delivery
    assert await use(b'{"text": "/approve SO-1"}') is Use.REUSED  # a forged body on a captured signature
    assert await use(b'{"text": "/neworder"}') is Use.REPEAT  # the forgery left nothing behind


async def _raced(services) -> None:
    async def use(body: bytes) -> Use:
        async with services.unit_of_work(SYSTEM) as ctx:
            return await first_use(ctx, "dingtalk-sign", "1764050000000:cmFjZQ==", body)

    outcomes = await asyncio.gather(*(use(f"body {n}".encode()) for n in range(4)))
    assert sorted(outcomes) == sorted([Use.FIRST, Use.REUSED, Use.REUSED, Use.REUSED])


async def test_a_signature_is_used_once_and_its_own_redelivery_is_recognised(services):
    await _used_once(services)


async def test_two_bodies_racing_with_one_signature_win_once(services):
    await _raced(services)


async def test_a_signature_is_used_once_on_postgres(pg_services):
    await _used_once(pg_services)
    await _raced(pg_services)


async def test_signature_keys_are_pruned_with_the_rest(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        await first_use(ctx, "dingtalk-sign", "1:s", b"body")
    services.clock = lambda: datetime.now(UTC) + DEFAULT_WINDOW + timedelta(minutes=1)
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await prune(ctx) == 2
