"""``core.idempotency.release``: a claim whose request failed before storing anything is freed,
so the retry runs; a completed claim is never freed by it."""

from __future__ import annotations

import pytest

from core import idempotency
from core.auth import Actor

SYSTEM = Actor.system("test")


async def test_a_released_claim_lets_the_retry_run(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        assert (await idempotency.claim(ctx, "api:erp", "k", {"a": 1})).fresh
    async with services.unit_of_work(SYSTEM) as ctx:
        with pytest.raises(idempotency.StillRunning):
            await idempotency.claim(ctx, "api:erp", "k", {"a": 1})
    async with services.unit_of_work(SYSTEM) as ctx:
        await idempotency.release(ctx, "api:erp", "k")
    async with services.unit_of_work(SYSTEM) as ctx:
        assert (await idempotency.claim(ctx, "api:erp", "k", {"a": 1})).fresh


async def test_release_leaves_a_completed_claim_alone(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        await idempotency.claim(ctx, "api:erp", "k", {"a": 1})
        await idempotency.complete(ctx, "api:erp", "k", {"status": 201, "body": {}})
    async with services.unit_of_work(SYSTEM) as ctx:
        await idempotency.release(ctx, "api:erp", "k")
    async with services.unit_of_work(SYSTEM) as ctx:
        claim = await idempotency.claim(ctx, "api:erp", "k", {"a": 1})
    assert not claim.fresh and claim.result == {"status": 201, "body": {}}
