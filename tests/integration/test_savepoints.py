"""Savepoints go to the database as plain text (``core.db.engine``): a released one keeps its
work, a rolled-back one undoes its own and leaves the transaction's, on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.sql.elements import ReleaseSavepointClause, RollbackToSavepointClause, SavepointClause

from core.db.engine import create_engine
from tests.support.postgres import new_pg_database
from tests.support.statements import statements


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request, tmp_path):  # noqa: ANN001, ANN201
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'savepoints.db'}"
        else:
            url = await stack.enter_async_context(new_pg_database())
        made = create_engine(url)
        yield made
        await made.dispose()


async def test_a_savepoint_is_sent_as_text_and_undoes_only_its_own_work(engine, monkeypatch):
    def compiled(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a savepoint clause was compiled")

    for clause in (SavepointClause, ReleaseSavepointClause, RollbackToSavepointClause):
        monkeypatch.setattr(clause, "_compiler", compiled)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (name VARCHAR(10))"))
    with statements(SimpleNamespace(engine=engine)) as sent:  # what it reads of a Services
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES ('kept')"))
            async with connection.begin_nested():
                await connection.execute(text("INSERT INTO t VALUES ('released')"))
            undone = await connection.begin_nested()
            await connection.execute(text("INSERT INTO t VALUES ('undone')"))
            await undone.rollback()
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY name"))).scalars().all()
    assert names == ["kept", "released"]
    said = [sql for sql in sent if "SAVEPOINT" in sql]
    assert said == [
        "SAVEPOINT sa_savepoint_1",
        "RELEASE SAVEPOINT sa_savepoint_1",
        "SAVEPOINT sa_savepoint_2",
        "ROLLBACK TO SAVEPOINT sa_savepoint_2",
    ]
