"""Make-to-order through the chat layer: a desk short on the shelf becomes a work order with its
materials reserved and the short ones on purchase requests; the production lead releases, starts
and finishes it from the card; the order goes on to picking; a cancellation unwinds it all.

The data is the README's sample, ``tests/data/make_to_order.yaml``: 1 desk on hand, a frame
(sub-assembly) on hand, legs, steel and screws short for three more desks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import gateway
from bot.gateway import Inbound
from bot.models import ChatMessage
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.models import OutboxMessage
from bot.wiring import load_master_file
from core.auth import Actor
from core.catalog.models import Product
from core.inventory.models import PurchaseRequest
from core.masterdata.schema import MasterDataError
from core.production.models import WorkOrderReservation
from core.users.models import User
from core.webhooks.service import add_endpoint
from integrations.webhooks.client import WebhookClient
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.databases import make_services, sqlite_settings
from tests.support.loading import load, row_counts
from tests.support.service_calls import detail, events, stock

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "make_to_order.yaml"
SALES = Inbound("telegram", "11", "11")
LEAD = Inbound("telegram", "41", "41")
WAREHOUSE = Inbound("telegram", "31", "31")


async def factory(tmp_path):
    services = await make_services(sqlite_settings(tmp_path / "mto.db"))
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_master_file(ctx, SAMPLE)
    return services


async def say(services, who: Inbound, text: str) -> list[str]:
    return (await gateway.message(services, who, text)).texts


async def purchase_requests(services) -> dict[str, tuple[int, str]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(Product.sku, PurchaseRequest.qty, PurchaseRequest.status)
            .join(Product, Product.id == PurchaseRequest.product_id)
            .order_by(PurchaseRequest.id)
        )
        return {sku: (qty, status) for sku, qty, status in rows}


async def cards_sent_to(services, recipient: str) -> list[OutboxMessage]:
    async with services.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m for m in rows if m.recipient == recipient and m.payload.get("card")]


async def texts_to(services, name: str) -> list[str]:
    async with services.sessions() as session:
        user_id = await session.scalar(select(User.id).where(User.name == name))
        rows = await session.scalars(
            select(ChatMessage.text).where(ChatMessage.user_id == user_id, ChatMessage.text.is_not(None))
        )
        return list(rows)


def button(send: OutboxMessage, label: str) -> str:
    [found] = [b["action"] for b in send.payload["card"]["buttons"] if b["label"] == label]
    return found


async def place_desks(services) -> tuple[str, str]:
    answer = await say(services, SALES, "/neworder C001 DESK-01*4 pay=credit")
    order_no = re.search(r"SO-\d+", answer[0]).group(0)
    [planned] = await events(services, "work_order.planned")
    return order_no, planned["mo_no"]


async def test_a_short_make_to_order_line_plans_a_work_order_with_materials_and_purchase_requests(tmp_path):
    services = await factory(tmp_path)

    order_no, mo_no = await place_desks(services)

    # The one desk on the shelf is reserved; the order waits for the three to be made
    assert (await detail(services, order_no))["status"] == "backordered"
    assert (await detail(services, order_no))["work_orders"] == [
        {"mo_no": mo_no, "status": "planned", "sku": "DESK-01", "qty": 3}
    ]
    assert f"Work order {mo_no}: 3 DESK-01, planned" in (await say(services, SALES, f"/order {order_no}"))[0]
    assert await stock(services, "DESK-01", "SH") == (1, 1)
    [planned] = await events(services, "work_order.planned")
    assert re.fullmatch(r"MO-\d+", mo_no)
    assert (planned["order_no"], planned["sku"], planned["qty"], planned["warehouse"]) == (order_no, "DESK-01", 3, "SH")
    # The frame on the shelf is taken; two more are made inside the work order (legs and steel)
    assert planned["materials"] == {"FRAME-01": 1, "TOP-01": 3, "SCREW-M6": 51, "LEG-01": 4, "STEEL-KG": 8}
    assert planned["short"] == {"SCREW-M6": 21, "LEG-01": 2, "STEEL-KG": 3}
    assert await stock(services, "SCREW-M6", "SH") == (30, 30)
    assert await stock(services, "TOP-01", "SH") == (10, 3)
    # Short materials are purchase requests; the desk itself is not bought
    assert await purchase_requests(services) == {
        "SCREW-M6": (21, "open"),
        "LEG-01": (2, "open"),
        "STEEL-KG": (3, "open"),
    }

    # The production lead got the work-order card with Release, and the workflow rule saw the line
    [card] = await cards_sent_to(services, "41")
    assert card.payload["card"]["title"] == f"Work order {mo_no}"
    assert [b["label"] for b in card.payload["card"]["buttons"]] == ["Release"]
    assert any("make-to-order line" in t for t in await texts_to(services, "陈工"))
    shown = await say(services, LEAD, f"/mo {mo_no}")
    assert "LEG-01 升降腿: 4 needed, 2 reserved · 2 short" in shown[0]
    assert "FRAME-01 桌架: 1 needed, 1 reserved · 2 made here" in shown[0]


async def test_finishing_the_work_order_receives_the_desks_and_releases_the_order_to_picking(tmp_path):
    services = await factory(tmp_path)
    order_no, mo_no = await place_desks(services)

    # Release from the card; start is refused until the materials are in
    [card] = await cards_sent_to(services, "41")
    answer = await gateway.tap(services, LEAD, button(card, "Release"))
    assert answer.texts == [f"{mo_no} is released to production."]
    again = await gateway.tap(services, LEAD, button(card, "Release"))  # a second tap on the same copy
    assert again.texts == [f"This card is out of date: {mo_no} changed. Send /mo {mo_no} to see it now."]
    refused = await say(services, LEAD, f"/mo start {mo_no}")
    assert refused == [f"Cannot start {mo_no}: 3 of its materials are not on the shelves yet."]

    # Goods in: the purchased materials go to the work order and its requests are received
    for line in ("SCREW-M6 SH 21", "LEG-01 SH 2", "STEEL-KG SH 3"):
        await say(services, WAREHOUSE, f"/receive {line}")
    assert set((await purchase_requests(services)).values()) == {(21, "received"), (2, "received"), (3, "received")}
    assert "Done" not in str(await say(services, LEAD, f"/mo {mo_no}"))

    # Start from the card (it follows the work order: now it offers Start), then done by command
    edits = [m for m in await cards_sent_to(services, "41") if m.kind == "edit"]
    assert [b["label"] for b in edits[-1].payload["card"]["buttons"]] == ["Start"]
    started = await gateway.tap(services, LEAD, edits[-1].payload["card"]["buttons"][0]["action"])
    assert started.texts == [f"{mo_no} is in production."]
    done = await say(services, LEAD, f"/mo done {mo_no}")
    assert done == [f"{mo_no} is done: its goods are in stock for {order_no}.", f"{order_no} is now ready to pick."]

    # Materials consumed, desks made and held for the order, the warehouse gets its pick card
    assert await stock(services, "DESK-01", "SH") == (4, 4)
    assert await stock(services, "SCREW-M6", "SH") == (0, 0)
    assert await stock(services, "FRAME-01", "SH") == (0, 0)
    assert await stock(services, "TOP-01", "SH") == (7, 0)
    assert await stock(services, "STEEL-KG", "SH") == (0, 0)
    assert [e["order_no"] for e in await events(services, "order.ready_to_pick")] == [order_no]
    assert [m.payload["card"]["title"] for m in await cards_sent_to(services, "31")] == [f"Pick: {order_no}"]
    closed = [m for m in await cards_sent_to(services, "41") if m.kind == "edit"][-1].payload["card"]
    assert closed["state"] == "closed" and "Finished by 陈工" in closed["outcome"]
    assert any(f"{mo_no} is done" in t for t in await texts_to(services, "李雷"))
    # A second done is refused naming the state, in the lead's words
    assert await say(services, LEAD, f"/mo done {mo_no}") == [f"Cannot finish {mo_no}: it is done."]


async def test_cancelling_the_order_unwinds_its_work_order_and_tells_the_lead(tmp_path):
    services = await factory(tmp_path)
    order_no, mo_no = await place_desks(services)

    answer = await say(services, SALES, f"/cancel {order_no} customer changed their mind")

    assert answer == [f"Cancelled {order_no}; its stock is released."]
    [cancelled] = await events(services, "work_order.cancelled")
    assert (cancelled["mo_no"], cancelled["from_status"]) == (mo_no, "planned")
    for sku, on_hand in (("DESK-01", 1), ("SCREW-M6", 30), ("TOP-01", 10), ("LEG-01", 2), ("FRAME-01", 1)):
        assert await stock(services, sku, "SH") == (on_hand, 0), sku
    assert {status for _, status in (await purchase_requests(services)).values()} == {"cancelled"}
    async with services.sessions() as session:
        assert set(await session.scalars(select(WorkOrderReservation.status))) == {"released"}
    told = [t for t in await texts_to(services, "陈工") if "is cancelled" in t]
    assert told == [
        f"{mo_no} (3 DESK-01 for {order_no}) is cancelled: {order_no} cancelled: customer changed their mind. "
        "Its materials are released."
    ]
    closed = [m for m in await cards_sent_to(services, "41") if m.kind == "edit"][-1].payload["card"]
    assert closed["state"] == "closed" and closed["buttons"] == []
    assert (await say(services, LEAD, "/mo")) == ["No open work orders."]


async def test_a_desk_received_by_hand_shrinks_the_work_order_and_its_requests(tmp_path):
    services = await factory(tmp_path)
    order_no, mo_no = await place_desks(services)

    await say(services, WAREHOUSE, "/receive DESK-01 SH 1")  # one desk turned up after all

    [adjusted] = await events(services, "work_order.adjusted")
    assert (adjusted["from_qty"], adjusted["qty"]) == (3, 2)
    assert await stock(services, "DESK-01", "SH") == (2, 2)
    assert await stock(services, "SCREW-M6", "SH") == (30, 30)  # 2 desks draw ⌈32 × 1.05⌉ = 34
    requests = await purchase_requests(services)
    assert requests["SCREW-M6"] == (4, "open")
    assert any("now makes 2 DESK-01 (was 3)" in t for t in await texts_to(services, "陈工"))


async def test_a_lead_speaks_chinese_to_the_work_orders(tmp_path):
    services = await factory(tmp_path)
    _, mo_no = await place_desks(services)
    await say(services, LEAD, "/lang zh")

    listed = await say(services, LEAD, "/工单")
    released = await say(services, LEAD, f"/工单 下达 {mo_no}")
    refused = await say(services, LEAD, f"/工单 下达 {mo_no}")

    assert f"{mo_no} · 已计划 · DESK-01 ×3" in listed[0]
    assert released == [f"{mo_no} 已下达生产。"]
    assert refused == [f"无法下达 {mo_no}：它当前为已下达。"]


async def test_only_production_may_release_a_work_order(tmp_path):
    services = await factory(tmp_path)
    _, mo_no = await place_desks(services)
    assert await say(services, WAREHOUSE, f"/mo release {mo_no}") == ["You may not plan and complete work orders."]
    assert "planned" in (await say(services, WAREHOUSE, f"/mo {mo_no}"))[0]  # staff may look


def products(frame: str, leg: str = "") -> str:
    return f"""
products:
  - {{sku: DESK-01, name: Desk, price: 1200, make_to_order: true, bom: [{{sku: FRAME-01, qty: 1}}]}}
  - {{sku: FRAME-01, name: Frame, price: 500, bom: [{frame}]}}
  - {{sku: LEG-01, name: Leg, price: 150{leg}}}
"""


async def test_a_bom_cycle_is_refused_on_load_naming_the_row_and_the_skus(services):
    before = await row_counts(services)
    with pytest.raises(MasterDataError) as refused:
        await load(services, products("{sku: LEG-01, qty: 2}, {sku: DESK-01, qty: 1}"))
    assert refused.value.message == "products row 1 (DESK-01): bom: a cycle: DESK-01 → FRAME-01 → DESK-01"
    with pytest.raises(MasterDataError) as deeper:
        await load(services, products("{sku: LEG-01, qty: 2}", leg=", bom: [{sku: DESK-01, qty: 1}]"))
    assert deeper.value.message == "products row 1 (DESK-01): bom: a cycle: DESK-01 → FRAME-01 → LEG-01 → DESK-01"
    assert await row_counts(services) == before  # all or nothing


async def test_a_cycle_through_a_bom_already_stored_is_refused_too(services):
    await load(services, products("{sku: LEG-01, qty: 2}"))
    with pytest.raises(MasterDataError) as refused:  # this file names only the leg
        await load(services, "products: [{sku: LEG-01, name: Leg, price: 150, bom: [{sku: DESK-01, qty: 1}]}]")
    assert refused.value.message == "products row 1 (LEG-01): bom: a cycle: LEG-01 → DESK-01 → FRAME-01 → LEG-01"


async def test_a_bom_naming_an_unknown_sku_or_a_bad_quantity_is_refused_by_field(services):
    with pytest.raises(MasterDataError, match=r"products row 1 \(DESK-01\): bom.0.sku: unknown SKU FRAME-02"):
        await load(services, "products: [{sku: DESK-01, name: D, price: 1, bom: [{sku: FRAME-02, qty: 1}]}]")
    with pytest.raises(MasterDataError, match=r"products row 1 \(DESK-01\): bom.0.scrap_rate: Input should be less"):
        await load(services, "products: [{sku: DESK-01, name: D, price: 1, bom: [{sku: X, qty: 1, scrap_rate: 1}]}]")


async def test_a_bom_is_stored_and_replaced_on_reload(services):
    await load(services, products("{sku: LEG-01, qty: 2}"))
    again = await load(services, products("{sku: LEG-01, qty: 2}"))
    assert again.counts["products"] == {"created": 0, "updated": 0, "unchanged": 3}
    report = await load(services, products("{sku: LEG-01, qty: 2.5, scrap_rate: 0.1}"))
    assert report.counts["products"] == {"created": 0, "updated": 1, "unchanged": 2}


@pytest.mark.pg
async def test_the_whole_flow_on_postgres(pg_services):
    services = pg_services
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await load_master_file(ctx, SAMPLE)
    order_no, mo_no = await place_desks(services)
    assert re.fullmatch(r"MO-1\d{5}", mo_no)  # from its own sequence
    for line in ("SCREW-M6 SH 21", "LEG-01 SH 2", "STEEL-KG SH 3"):
        await say(services, WAREHOUSE, f"/receive {line}")
    for step in ("release", "start", "done"):
        await say(services, LEAD, f"/mo {step} {mo_no}")
    assert (await detail(services, order_no))["status"] == "ready_to_pick"
    assert await stock(services, "DESK-01", "SH") == (4, 4)
    assert await stock(services, "SCREW-M6", "SH") == (0, 0)


async def test_an_mes_gets_the_work_orders_as_signed_outbound_events(tmp_path):
    services = await factory(tmp_path)
    receiver = await WebhookReceiver().start()
    try:
        names = ["work_order.planned", "work_order.released", "work_order.cancelled"]
        async with services.unit_of_work(Actor.system("test")) as ctx:
            receiver.secret = (await add_endpoint(ctx, "mes", receiver.url, names)).secret
        order_no, mo_no = await place_desks(services)
        await say(services, LEAD, f"/mo release {mo_no}")
        client = WebhookClient(services, retry_schedule=(0.0,))
        try:
            await Dispatcher(services, [client]).run_until_idle(poll=0.01, timeout=30)
        finally:
            await client.close()
    finally:
        await receiver.stop()

    envelopes = list(receiver.accepted.values())
    assert [e["type"] for e in envelopes] == ["work_order.planned", "work_order.released"]
    assert all(r.verified for r in receiver.requests)
    assert envelopes[0]["data"]["short"] == {"SCREW-M6": 21, "LEG-01": 2, "STEEL-KG": 3}
    assert envelopes[1]["data"] == {
        "mo_no": mo_no,
        "order_no": order_no,
        "sku": "DESK-01",
        "qty": 3,
        "actor": "陈工",
    }


async def test_editing_an_order_with_a_work_order_is_refused_clearly_and_changes_nothing(tmp_path):
    services = await factory(tmp_path)
    order_no, mo_no = await place_desks(services)

    refused = await say(services, SALES, f"/edit {order_no} DESK-01*3")

    assert refused == [f"Cannot edit {order_no}: it is backordered."]
    assert (await detail(services, order_no))["work_orders"] == [
        {"mo_no": mo_no, "status": "planned", "sku": "DESK-01", "qty": 3}
    ]
    # Nor once it is finished with (its work order cancelled, the lines still referenced)
    await say(services, SALES, f"/cancel {order_no} customer changed their mind")
    assert await say(services, SALES, f"/edit {order_no} DESK-01*3") == [f"Cannot edit {order_no}: it is cancelled."]
    assert [(line["sku"], line["qty"]) for line in (await detail(services, order_no))["lines"]] == [("DESK-01", 4)]


async def test_a_cancelled_or_done_work_order_shows_no_shortage(tmp_path):
    services = await factory(tmp_path)
    _, mo_no = await place_desks(services)
    await say(services, LEAD, f"/mo cancel {mo_no} drawing changed")
    cancelled = (await say(services, LEAD, f"/mo {mo_no}"))[0]
    assert "cancelled" in cancelled and "LEG-01" in cancelled
    assert " short" not in cancelled
    await say(services, LEAD, "/lang zh")
    assert "缺" not in (await say(services, LEAD, f"/工单 {mo_no}"))[0]

    (tmp_path / "done").mkdir()
    services = await factory(tmp_path / "done")
    _, mo_no = await place_desks(services)
    for line in ("SCREW-M6 SH 21", "LEG-01 SH 2", "STEEL-KG SH 3"):
        await say(services, WAREHOUSE, f"/receive {line}")
    for step in ("release", "start", "done"):
        await say(services, LEAD, f"/mo {step} {mo_no}")
    done = (await say(services, LEAD, f"/mo {mo_no}"))[0]
    assert "done" in done and "LEG-01" in done and " short" not in done


async def test_editing_a_completed_made_to_order_order_is_refused_clearly(tmp_path):
    from core.orders import fulfilment
    from core.orders.fulfilment import ShipRequest
    from tests.support.service_calls import as_user

    services = await factory(tmp_path)
    order_no, mo_no = await place_desks(services)
    for line in ("SCREW-M6 SH 21", "LEG-01 SH 2", "STEEL-KG SH 3"):
        await say(services, WAREHOUSE, f"/receive {line}")
    for step in ("release", "start", "done"):
        await say(services, LEAD, f"/mo {step} {mo_no}")
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, None, lambda ctx, step=step: step(ctx, order_no))
    await as_user(services, None, lambda ctx: fulfilment.ship(ctx, order_no, ShipRequest("SF", "SF9001")))
    await as_user(services, None, lambda ctx: fulfilment.confirm_delivery(ctx, order_no))
    await as_user(services, None, lambda ctx: fulfilment.complete(ctx, order_no))
    assert (await detail(services, order_no))["status"] == "completed"

    assert await say(services, SALES, f"/edit {order_no} DESK-01*3") == [f"Cannot edit {order_no}: it is completed."]
    assert [(line["sku"], line["qty"]) for line in (await detail(services, order_no))["lines"]] == [("DESK-01", 4)]
