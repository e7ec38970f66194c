"""A request's reads before its first write share one reading session (``core.shared_reads``), and
never past a write: what is read after a write sees it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text, update

from core.auth import Actor
from core.catalog.models import Product
from tests.support.loading import load

SYSTEM = Actor.system("test")
PRICE = select(Product.price).where(Product.sku == "TEA-001")


@pytest.fixture
async def shop(services):  # noqa: ANN001, ANN201
    await load(services)
    return services


async def test_reads_in_the_block_share_one_session_and_one_transaction(shop):
    async with shop.reads_together():
        async with shop.reading() as first:
            await first.scalar(PRICE)
        async with shop.reading() as second:
            await second.scalar(PRICE)
        assert first is second
    async with shop.reading() as after:
        assert after is not first


async def test_a_read_after_a_write_in_the_block_sees_the_write(shop):
    async with shop.reads_together():
        async with shop.reading() as session:
            before = await session.scalar(PRICE)
        async with shop.unit_of_work(SYSTEM) as ctx:
            await ctx.session.execute(update(Product).where(Product.sku == "TEA-001").values(price=before + 1))
        async with shop.reading() as later:
            assert later is not session
            assert await later.scalar(PRICE) == before + 1


async def test_a_write_inside_a_read_leaves_its_session_open_until_the_read_ends(shop):
    pool = shop.read_engine.sync_engine.pool
    async with shop.reads_together():
        async with shop.reading() as session:
            await session.scalar(PRICE)
            async with shop.unit_of_work(SYSTEM) as ctx:
                await ctx.session.execute(text("SELECT 1"))
            assert await session.scalar(PRICE) is not None  # still usable: not closed under the read
        assert pool.checkedout() == 0  # closed once the read ended, not left open
        async with shop.reading() as fresh:
            assert fresh is not session


async def test_a_failed_read_ends_the_sharing(shop):
    async with shop.reads_together():
        with pytest.raises(LookupError):
            async with shop.reading() as session:
                await session.scalar(PRICE)
                raise LookupError("not found")
        async with shop.reading() as next_one:
            assert next_one is not session


async def test_a_task_started_in_the_block_reads_on_its_own(shop):
    async def read_elsewhere():  # noqa: ANN202
        async with shop.reading() as session:
            await session.scalar(PRICE)
            return session

    async with shop.reads_together():
        async with shop.reading() as mine:
            await mine.scalar(PRICE)
            theirs = await asyncio.create_task(read_elsewhere())
        assert theirs is not mine
