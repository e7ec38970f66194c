"""The console's `/order`: cheap (a copy of the speaker, one statement for the order) and still
right: a person changed by another process (``oms load``) is seen on the very next request, and
the answer reads as the full order view would have it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, select

from bot.conversation import reads_only
from bot.handlers.orders import order_text
from bot.router import Chat
from core.auth import Actor
from core.errors import OrderNotFound
from core.masterdata.loader import load_master_data
from core.masterdata.schema import parse_document
from core.orders import cancellation, fulfilment, payments
from core.orders.brief import order_brief
from core.orders.fulfilment import ShipRequest
from core.orders.models import Order
from core.orders.status import PaymentTerms, ShipmentStatus
from core.orders.views import order_detail
from core.services import Services
from integrations.console.api import mount as console
from integrations.web.app import build_app
from tests.support.console import Console
from tests.support.databases import make_services, sqlite_settings
from tests.support.master_data import seed
from tests.support.service_calls import as_user
from tests.support.service_calls import place as place_order

SYSTEM = Actor.system("test")
IN_TRANSIT = ShipmentStatus.IN_TRANSIT
SHOP = (
    "warehouses:\n  - {code: SH, name: Shanghai}\n  - {code: BJ, name: Beijing}\n"
    "products:\n  - {sku: TEA-001, name: Tea, price: 10}\n"
    "customers:\n  - {code: C001, name: Shop, addresses: [{province: 浙江, city: 杭州, line: 路1号}]}\n"
    "stock:\n  - {sku: TEA-001, warehouse: SH, on_hand: 10}\n"
)
ANA = "users:\n  - {{name: ana, roles: [{roles}], warehouses: [{warehouses}], {extra} identities: {{console: ana}}}}\n"
# Statements for one `/order SO-…` today: one reading session's BEGIN, the stamp and the order,
# then the turn's timeline (BEGIN IMMEDIATE and two INSERTs): 6, against 21 at first and 7 with a
# reading session each for the speaker and the order. The bound leaves room for a statement or
# two, not for a return of the per-part queries (nine for the order alone), of the identity join,
# or of the read inside the writer's turn.
STATEMENT_BOUND = 8


async def load(services: Services, text: str) -> None:
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_data(ctx, parse_document(text))


def ana(roles: str = "sales", warehouses: str = "", extra: str = "") -> str:
    return ANA.format(roles=roles, warehouses=warehouses, extra=extra)


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[tuple[Console, Services]]:
    services = await make_services(sqlite_settings(tmp_path / "console.db", console_mode="open"))
    await load(services, SHOP + ana())
    app, _ = build_app(services, [console])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Console(client), services
    finally:
        await client.close()
        await services.close()


async def say_neworder(chat: Console) -> str:
    [placed] = await chat.say("ana", "/neworder C001 TEA-001*2")
    return placed.split("*")[1]


async def test_a_person_changed_by_another_process_is_seen_on_the_next_request(shop):
    chat, services = shop
    no = await say_neworder(chat)
    assert (await chat.say("ana", f"/order {no}"))[0].startswith(f"*{no}*")
    other = await make_services(services.settings)  # its own engine, as `oms load` has
    try:
        await load(other, ana(roles="warehouse", warehouses="BJ"))  # other roles, another warehouse
        [refused] = await chat.say("ana", f"/order {no}")
        assert "not allocated to your warehouse" in refused
        await load(other, ana(extra="locale: zh-CN,"))  # sales again, in Chinese
        [shown] = await chat.say("ana", f"/order {no}")
        assert shown.startswith(f"*{no}*") and "客户" in shown
        await load(other, ana(extra="active: false,"))  # gone
        [unknown] = await chat.say("ana", f"/order {no}")
        assert "I don't know you yet" in unknown
    finally:
        await other.close()


async def test_one_order_request_costs_a_bounded_number_of_statements(shop):
    chat, services = shop
    no = await say_neworder(chat)
    await chat.say("ana", f"/order {no}")  # the copy of ana, made
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engines = [e.sync_engine for e in (services.engine, services.read_engine) if e is not None]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        [shown] = await chat.say("ana", f"/order {no}")
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert shown.startswith(f"*{no}*")
    assert len(statements) <= STATEMENT_BOUND, "\n".join(statements)
    assert not any("chat_identity" in s for s in statements)  # the speaker came from the copy
    assert statements.count("BEGIN") == 1  # the speaker's stamp and the order: one reading session
    writer = statements.index("BEGIN IMMEDIATE")  # the order is read before the turn takes the writer
    reads = [i for i, s in enumerate(statements) if "FROM sales_order" in s]
    assert reads and max(reads) < writer


async def test_the_brief_reads_as_the_full_view(services):
    """Orders split over warehouses, a kit, paid, partly and wholly shipped, scanned, on hold,
    cancelled: the chat's text is the same from the brief as from the full view."""
    await seed(services, stock={("TEA-001", "SH"): 100, ("CUP-01", "GZ"): 40, ("CUP-01", "SH"): 5})
    split = await place_order(services, items={"TEA-001": 2, "CUP-01": 1})
    kit = await place_order(services, items={"GIFT-01": 2})
    await place_order(services, customer="C002", payment_terms=PaymentTerms.CREDIT)  # over the credit limit: held
    cancelled = await place_order(services)
    await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, cancelled, "test"))
    for no in (split, kit):
        await as_user(services, "王芳", lambda ctx, no=no: payments.confirm_payment(ctx, no))
        await as_user(services, "张仓", lambda ctx, no=no: fulfilment.start_picking(ctx, no))
        await as_user(services, "张仓", lambda ctx, no=no: fulfilment.pack(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, split, ShipRequest("SF", "SF1")))
    await as_user(services, None, lambda ctx: fulfilment.track(ctx, "SF", "SF1", IN_TRANSIT, note="Hangzhou hub"))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, kit, ShipRequest("SF", "SF2")))
    async with services.unit_of_work(SYSTEM) as ctx:
        numbers = list(await ctx.session.scalars(select(Order.order_no).order_by(Order.id)))
    assert len(numbers) == 4
    for locale in ("en", "zh-CN"):
        chat = Chat(services, SYSTEM, 0, "console", locale)
        for no in numbers:
            async with services.unit_of_work(SYSTEM) as ctx:
                full, brief = await order_detail(ctx, no), await order_brief(ctx, no.lower())
            assert order_text(chat, brief) == order_text(chat, full), no


async def test_the_brief_of_an_order_nobody_has_is_not_found(services):
    await seed(services)
    async with services.unit_of_work(SYSTEM) as ctx:
        with pytest.raises(OrderNotFound):
            await order_brief(ctx, "so-999999")


async def test_the_replies_shown_are_the_timeline_rows_as_read_back(shop):
    """The console answers from the rows the turn wrote; the inbox reads them back: the same."""
    chat, _services = shop
    no = await say_neworder(chat)
    response = await chat.client.post("/console/api/messages", json={"user": "ana", "text": f"/order {no}"})
    replies = (await response.json())["replies"]
    timeline = {e["id"]: e for e in await chat.inbox("ana")}
    assert replies and all(r == {k: timeline[r["id"]][k] for k in r} for r in replies)
    assert set(replies[0]) == set(timeline[replies[0]["id"]])


def test_only_commands_that_change_nothing_are_answered_before_the_turn():
    assert reads_only("/order SO-100001") and reads_only("/查单") and reads_only("／order@oms_bot SO-1")
    assert all(reads_only(text) for text in ("/stock TEA-001", "/库存 TEA-001", "/help", "/whoami", "/report today"))
    assert not reads_only("/pick SO-1") and not reads_only("/lang zh") and not reads_only("/receive TEA-001 SH 5")
    assert not reads_only("/neworder C001 TEA-001*1") and not reads_only("/approve SO-1")
    assert not reads_only("where is SO-100001") and not reads_only("/nosuchcommand")
