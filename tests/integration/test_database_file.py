"""The SQLite file deleted or replaced under live services: every read and write is refused with
``DatabaseUnavailable`` instead of being acknowledged into a file that no longer exists."""

from __future__ import annotations

import os
import shutil

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text

from bot import gateway
from bot.gateway import Inbound
from core.config import Settings
from core.errors import DatabaseUnavailable
from core.inventory.models import StockMovement
from core.orders import backorders
from core.services import Services
from integrations.web.app import build_app
from tests.support.databases import make_services, sqlite_settings
from tests.support.loading import load
from tests.support.master_data import SYSTEM

UNAVAILABLE = "The database is unavailable; nothing was saved. Tell an admin."


@pytest.fixture
async def loaded(tmp_path) -> Services:
    services = await make_services(sqlite_settings(tmp_path / "live.db"))
    await load(services)
    yield services
    await services.close()


async def movements_in_the_open_file(services: Services) -> int:
    """Counted through the connection the services already hold, which still sees the old file."""
    async with services.engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(StockMovement))


def receive_20(ctx):
    return backorders.receive(ctx, "TEA-001", "SH", 20)


async def test_a_deleted_file_refuses_the_unit_of_work_before_any_work(loaded, tmp_path):
    before = await movements_in_the_open_file(loaded)
    (tmp_path / "live.db").unlink()
    ran = False
    with pytest.raises(DatabaseUnavailable) as refused:
        async with loaded.unit_of_work(SYSTEM) as ctx:
            ran = True
            await receive_20(ctx)
    assert refused.value.code == "database_unavailable"
    assert refused.value.message == UNAVAILABLE and refused.value.params == {"reason": "missing"}
    assert ran is False
    assert await movements_in_the_open_file(loaded) == before
    assert loaded.database_problem() == "missing"
    assert not (tmp_path / "live.db").exists()  # and no empty file was created in its place


async def test_a_file_deleted_during_the_unit_of_work_is_not_committed(loaded, tmp_path):
    before = await movements_in_the_open_file(loaded)
    with pytest.raises(DatabaseUnavailable):
        async with loaded.unit_of_work(SYSTEM) as ctx:
            await receive_20(ctx)
            await ctx.session.flush()
            (tmp_path / "live.db").unlink()
    assert await movements_in_the_open_file(loaded) == before  # rolled back, not acknowledged


async def test_a_replaced_file_refuses_reads_and_writes(loaded, tmp_path):
    shutil.copy(tmp_path / "live.db", tmp_path / "backup.db")
    os.replace(tmp_path / "backup.db", tmp_path / "live.db")
    assert loaded.database_problem() == "replaced"
    with pytest.raises(DatabaseUnavailable):
        await loaded.run(SYSTEM, receive_20)
    with pytest.raises(DatabaseUnavailable):
        async with loaded.reading():
            pass


async def test_an_untouched_file_works_and_in_memory_or_postgres_have_nothing_to_watch(loaded):
    assert loaded.database_problem() is None
    await loaded.run(SYSTEM, receive_20)
    memory = Services.from_settings(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    postgres = Services.from_settings(Settings(database_url="postgresql://postgres@127.0.0.1:5432/test"))
    try:
        assert memory.database_file is None and postgres.database_file is None
        assert memory.database_problem() is None
        async with memory.unit_of_work(SYSTEM) as ctx:
            assert await ctx.session.scalar(text("SELECT 1")) == 1
    finally:
        await memory.close()
        await postgres.close()


async def test_healthz_answers_503_once_the_file_is_gone(loaded, tmp_path):
    app, _ = build_app(loaded)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        (tmp_path / "live.db").unlink()
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"status": "error", "database": "file missing or replaced"}


async def test_a_request_that_needs_the_lost_database_gets_503_with_the_reason(loaded, tmp_path):
    from integrations.console.api import mount as console

    loaded.settings = loaded.settings.model_copy(update={"console_mode": "open"})  # identities by name
    app, _ = build_app(loaded, [console])
    async with TestClient(TestServer(app)) as client:
        (tmp_path / "live.db").unlink()
        response = await client.get("/console/api/inbox", params={"user": "lilei"})
        assert response.status == 503
        assert (await response.json())["error"] == UNAVAILABLE


@pytest.mark.parametrize(
    "platform, user, said",
    [("slack", "U012ABCDEF", UNAVAILABLE), ("dingtalk", "0123456789", "数据库不可用，本次操作未保存，请联系管理员。")],
)
async def test_a_chat_message_is_told_the_database_is_unavailable(loaded, tmp_path, platform, user, said):
    (tmp_path / "live.db").unlink()
    answer = await gateway.message(loaded, Inbound(platform, user, user, event_id="e1"), "order SO-100001")
    assert answer.texts == [said]
