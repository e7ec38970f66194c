"""Set-up for the platform adapters' tests: the demo data, people bound to
platform ids, and the product's one server with an adapter and the outbox mounted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.outbox.models import OutboxMessage
from core.audit.models import DomainEvent
from core.auth import Actor
from core.masterdata.loader import load_file
from core.services import Services
from core.users.models import ChatIdentity, User
from integrations.cli.demo import DEMO_DATA
from integrations.web import events, outbox
from integrations.web.app import build_app
from tests.support.databases import make_services, sqlite_settings
from tests.support.waiting import until


async def demo_services(tmp_path: Path, **settings: Any) -> Services:
    """A fresh SQLite database with the demo master data; ``settings`` are ``Settings`` fields."""
    services = await make_services(sqlite_settings(tmp_path / "platform.db", **settings))
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_file(ctx, DEMO_DATA)
    return services


async def bind(services: Services, platform: str, people: dict[str, str]) -> None:
    """Give demo users (by name, e.g. "王芳") an identity on ``platform`` (their platform user id)."""
    async with services.unit_of_work(Actor.system("test")) as ctx:
        for name, external_id in people.items():
            user = (await ctx.session.scalars(select(User).where(User.name == name))).one()
            ctx.session.add(ChatIdentity(user_id=user.id, platform=platform, external_id=external_id))


async def make_approver(services: Services, name: str) -> None:
    """Give a demo user the approver role too (the demo has one approver; some tests need two)."""
    async with services.unit_of_work(Actor.system("test")) as ctx:
        user = (await ctx.session.scalars(select(User).where(User.name == name))).one()
        user.roles = [*user.roles, "approver"]


async def serve(services: Services, adapter: Callable, *, expect: str | None) -> TestClient:
    """Start the real server (adapter, outbox and event dispatchers) on a local port; close it when done."""
    app, enabled = build_app(services, [adapter, outbox.mount, events.mount])
    assert enabled == ([expect] if expect else [])
    client = TestClient(TestServer(app))
    await client.start_server()
    await caught_up(services)
    return client


async def caught_up(services: Services) -> None:
    """Wait until the server has delivered what was recorded before it started (the demo data's
    low-stock alert), so a test's "nothing changed" starts from a settled database."""

    async def settled() -> bool:
        async with services.sessions() as session:
            pending = select(func.count()).select_from(DomainEvent).where(DomainEvent.processed_at.is_(None))
            return await session.scalar(pending) == 0

    await until(settled)


async def outbox_rows(services: Services) -> int:
    async with services.sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage))


def order_no(text: str) -> str:
    return re.search(r"SO-\d+", text).group(0)
