"""A platform's retry is recognised, also when two deliveries race, and old keys are pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.inbound import first_time, prune
from tests.builders import SYSTEM


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
