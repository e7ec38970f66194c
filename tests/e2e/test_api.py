"""The REST API over real HTTP (aiohttp's test server), with keys made by ``core.apikeys``: scopes,
customer-limited keys, problem details, idempotency, pagination under concurrent writes, and an
ERP's whole order flow by HTTP alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select, text

from core.apikeys import revoke_key
from core.audit.models import AuditRecord
from core.auth import Actor
from core.idempotency import IdempotencyKey
from core.orders import fulfilment
from core.orders.models import Order
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.returns import request_return
from core.orders.status import OrderStatus, PaymentTerms
from core.services import Services
from integrations.api.openapi import document, rebased_components
from integrations.api.registry import PREFIX, ROUTES
from tests.support.api import ALL_SCOPES, Api, demo_services, new_key, start
from tests.support.waiting import until

SYSTEM = Actor.system("test")


@dataclass
class World:
    services: Services
    api: Api  # a key with every scope

    async def key(self, name: str, scopes: Any = ALL_SCOPES, **limits: Any) -> Api:
        return self.api.as_key(await new_key(self.services, name, scopes, **limits))


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    services = await demo_services(tmp_path / "api.db")
    client = await start(services)
    try:
        yield World(services, Api(client, await new_key(services, "erp")))
    finally:
        await client.close()
        await services.close()


async def order(services: Services, customer: str, items: dict[str, int], terms: str = "prepaid") -> str:
    async with services.unit_of_work(SYSTEM) as ctx:
        lines = tuple(DraftLine(sku, qty) for sku, qty in items.items())
        placed = await place_order(ctx, OrderDraft(customer, lines, payment_terms=PaymentTerms(terms)))
        return placed.order_no


async def order_in(services: Services, state: str) -> str:
    """An order of the demo data brought to ``state`` through the core."""
    if state == "pending_approval":
        return await order(services, "C002", {"TEA-001": 45})
    if state == "awaiting_payment":
        return await order(services, "C003", {"TEA-002": 3})
    no = await order(services, "C001", {"TEA-001": 2}, "credit")  # VIP on credit: ready to pick
    steps = {"ready_to_pick": 0, "packed": 2, "shipped": 3, "delivered": 4}[state]
    async with services.unit_of_work(SYSTEM) as ctx:
        if steps >= 2:
            await fulfilment.start_picking(ctx, no)
            await fulfilment.pack(ctx, no)
        if steps >= 3:
            await fulfilment.ship(ctx, no, fulfilment.ShipRequest("SF", f"SF{no[-6:]}"))
        if steps >= 4:
            await fulfilment.confirm_delivery(ctx, no)
    return no


async def status_of(services: Services, no: str) -> str:
    async with services.reading() as session:
        return await session.scalar(select(Order.status).where(Order.order_no == no))


# --- every route, with and without its scope -------------------------------------------------------

Case = Callable[[Services], Awaitable[tuple[str, str, Any, int]]]


async def _get_order(s: Services) -> tuple[str, str, Any, int]:
    return "GET", f"/orders/{await order_in(s, 'ready_to_pick')}", None, 200


async def _approve(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'pending_approval')}/approve", {}, 200


async def _reject(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'pending_approval')}/reject", {"reason": "price too low"}, 200


async def _cancel(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'awaiting_payment')}/cancel", {"reason": "customer called"}, 200


async def _pay(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'awaiting_payment')}/pay", {"reference": "BANK-1"}, 200


async def _pick(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'ready_to_pick')}/pick", None, 200


async def _pack(s: Services) -> tuple[str, str, Any, int]:
    no = await order_in(s, "ready_to_pick")
    async with s.unit_of_work(SYSTEM) as ctx:
        await fulfilment.start_picking(ctx, no)
    return "POST", f"/orders/{no}/pack", None, 200


async def _ship(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'packed')}/ship", {"carrier": "顺丰", "tracking_no": "SF1"}, 200


async def _deliver(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'shipped')}/deliver", None, 200


async def _complete(s: Services) -> tuple[str, str, Any, int]:
    return "POST", f"/orders/{await order_in(s, 'delivered')}/complete", None, 200


async def _create_return(s: Services) -> tuple[str, str, Any, int]:
    no = await order_in(s, "delivered")
    return "POST", "/returns", {"order_no": no, "lines": {"TEA-001": 1}, "reason": "broken lid"}, 201


async def _list_returns(s: Services) -> tuple[str, str, Any, int]:
    return "GET", "/returns", None, 200


def _fixed(method: str, path: str, body: Any, status: int) -> Case:
    async def case(_: Services) -> tuple[str, str, Any, int]:
        return method, path, body, status

    return case


CASES: dict[str, Case] = {
    "list_orders_": _fixed("GET", "/orders", None, 200),
    "get_order": _get_order,
    "create_order": _fixed("POST", "/orders", {"customer": "C001", "lines": [{"sku": "TEA-001", "qty": 1}]}, 201),
    "approve_order": _approve,
    "reject_order": _reject,
    "cancel_order": _cancel,
    "pay_order": _pay,
    "pick_order": _pick,
    "pack_order": _pack,
    "ship_order": _ship,
    "deliver_order": _deliver,
    "complete_order": _complete,
    "list_products": _fixed("GET", "/products", None, 200),
    "list_customers": _fixed("GET", "/customers", None, 200),
    "get_stock": _fixed("GET", "/stock/TEA-001", None, 200),
    "receive_stock": _fixed("POST", "/stock/receipts", {"sku": "TEA-001", "warehouse": "SH", "qty": 5}, 201),
    "adjust_stock": _fixed(
        "POST", "/stock/adjustments", {"sku": "TEA-001", "warehouse": "SH", "delta": -1, "reason": "broken"}, 201
    ),
    "list_returns": _list_returns,
    "create_return": _create_return,
}
# Work orders have their own world (a make-to-order shop): tests/e2e/test_api_work_orders.py.
SCOPE_OF = {r.operation_id: r.scope for r in ROUTES if r.tag != "work orders"}
RESPONSE_OF = {r.operation_id: r.response.__name__ for r in ROUTES}


def test_the_cases_cover_every_route():
    assert set(CASES) == set(SCOPE_OF)


async def _send(api: Api, method: str, path: str, body: Any) -> tuple[int, Any, Any]:
    return await (api.get(path) if method == "GET" else api.post(path, body))


def _conforms(body: Any, model: str) -> None:
    jsonschema.validate(
        body,
        {"$defs": rebased_components(), "$ref": f"#/$defs/{model}"},
        format_checker=jsonschema.FormatChecker(),
    )


@pytest.mark.parametrize("operation", sorted(CASES))
async def test_a_key_with_only_the_routes_scope_is_served(world, operation):
    method, path, body, expected = await CASES[operation](world.services)
    api = await world.key("only", [SCOPE_OF[operation]])
    status, answer, _headers = await _send(api, method, path, body)
    assert status == expected, answer
    _conforms(answer, RESPONSE_OF[operation])


@pytest.mark.parametrize("operation", sorted(CASES))
async def test_a_key_without_the_routes_scope_gets_403_naming_it(world, operation):
    method, path, body, _expected = await CASES[operation](world.services)
    scope = SCOPE_OF[operation]
    api = await world.key("others", [s for s in ALL_SCOPES if s != scope])
    status, answer, headers = await _send(api, method, path, body)
    assert status == 403, answer
    assert headers["Content-Type"].startswith("application/problem+json")
    assert answer["code"] == "missing_scope" and answer["params"] == {"scope": scope}
    assert scope in answer["detail"]
    _conforms(answer, "Problem")


async def test_no_key_an_unknown_key_and_a_revoked_key_get_401_with_www_authenticate(world):
    for api in (world.api.as_key(None), world.api.as_key("oms_not-a-key")):
        status, answer, headers = await api.get("/orders")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert answer["code"] in {"unauthenticated", "invalid_api_key"}
    revoked = await world.key("gone")
    assert (await revoked.get("/orders"))[0] == 200
    async with world.services.unit_of_work(SYSTEM) as ctx:
        await revoke_key(ctx, "gone")
    status, answer, _ = await revoked.get("/orders")
    assert (status, answer["code"]) == (401, "invalid_api_key")


async def test_a_refusal_of_the_service_layer_is_403_too_and_is_audited(world):
    no = await order_in(world.services, "packed")  # allocated in SH
    beijing = await world.key("wms-bj", ["fulfilment:write"], warehouses=["BJ"])
    status, answer, _ = await beijing.post(f"/orders/{no}/ship", {"carrier": "SF", "tracking_no": "SF9"})
    assert (status, answer["code"]) == (403, "order_not_in_your_warehouse"), answer
    assert await status_of(world.services, no) == OrderStatus.PACKED
    async with world.services.reading() as session:
        refusals = await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.actor == "api:wms-bj")
        )
    assert refusals == 1


# --- customer-limited keys ---------------------------------------------------------------------------


async def test_a_customer_key_sees_its_own_orders_only_and_others_do_not_exist(world):
    own = await order(world.services, "C001", {"TEA-001": 1}, "credit")
    other = await order(world.services, "C002", {"TEA-001": 1})
    portal = await world.key(
        "portal", ["orders:read", "orders:write", "customers:read", "returns:read"], customer="C001"
    )
    assert (await portal.get(f"/orders/{own}"))[0] == 200
    for status, answer, _ in (
        await portal.get(f"/orders/{other}"),
        await portal.post(f"/orders/{other}/cancel", {"reason": "not mine"}),
        await portal.get("/orders/SO-999999"),
    ):
        assert status == 404 and answer["code"] == "order_not_found", answer
    assert (await world.api.get(f"/orders/{other}"))[0] == 200  # it does exist
    _, listed, _ = await portal.get("/orders")
    assert [o["order_no"] for o in listed["data"]] == [own]
    _, customers, _ = await portal.get("/customers")
    assert [c["code"] for c in customers["data"]] == ["C001"]
    status, answer, _ = await portal.get("/orders", starting_after=other)  # no probing by cursor either
    assert (status, answer["code"]) == (422, "unknown_cursor")
    status, answer, _ = await portal.post("/orders", {"customer": "C002", "lines": [{"sku": "TEA-001", "qty": 1}]})
    assert (status, answer["code"]) == (403, "own_account_only")
    assert await status_of(world.services, other) != OrderStatus.CANCELLED


# --- problem details ---------------------------------------------------------------------------------


async def test_errors_are_problem_details_in_the_accept_language(world):
    no = await order_in(world.services, "ready_to_pick")
    status, answer, headers = await world.api.post(
        f"/orders/{no}/deliver", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    )
    assert status == 409 and headers["Content-Type"].startswith("application/problem+json")
    assert answer["code"] == "invalid_transition" and answer["type"].endswith("/invalid_transition")
    assert "待拣货" in answer["detail"] and answer["title"] == "冲突", answer
    _, english, _ = await world.api.post(f"/orders/{no}/deliver", headers={"Accept-Language": "en-GB"})
    assert english["code"] == "invalid_transition" and english["detail"].endswith("it is ready to pick.")
    assert english["title"] == "Conflict"
    status, answer, _ = await world.api.get("/orders/SO-424242", headers={"Accept-Language": "zh-CN"})
    assert (status, answer["code"]) == (404, "order_not_found") and "SO-424242" in answer["detail"]
    assert answer["title"] == "未找到"


async def test_unreadable_or_invalid_bodies_are_400_and_business_refusals_422(world):
    cases = [
        (b"\xff\xfe{}", "body_not_utf8"),
        (b'{"customer": ', "body_not_json"),
        (b"[" * 100 + b"]" * 100, "body_too_deep"),
        (b'{"customer": "\\ud800"}', "body_lone_surrogate"),
        (b"", "body_empty"),
        (b'{"customer": "C001", "lines": [{"sku": "TEA-001", "qty": "2"}]}', "validation_failed"),
        (b'{"customer": "C001", "lines": [], "extra": 1}', "validation_failed"),
    ]
    for raw, code in cases:
        status, answer, _ = await world.api.post("/orders", data=raw, headers={"Content-Type": "application/json"})
        assert (status, answer["code"]) == (400, code), (raw, answer)
    _, invalid, _ = await world.api.post("/orders", {"customer": "C001", "lines": [], "extra": 1})
    assert {tuple(e["loc"]) for e in invalid["errors"]} == {("body", "lines"), ("body", "extra")}
    huge = b'{"note": "' + b"x" * 70_000 + b'"}'
    status, answer, _ = await world.api.post("/orders", data=huge)
    assert (status, answer["code"]) == (413, "request_too_large")
    status, answer, _ = await world.api.get("/orders", limit="500")
    assert (status, answer["errors"][0]["loc"]) == (400, ["query", "limit"])
    status, answer, _ = await world.api.get("/orders", created_since="1700000000")  # not ISO 8601
    assert status == 400
    no = await order_in(world.services, "packed")
    status, answer, _ = await world.api.post(f"/orders/{no}/ship", {"carrier": "NOPE", "tracking_no": "1"})
    assert (status, answer["code"]) == (422, "unknown_carrier"), answer
    async with world.services.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_if_match_acts_only_on_the_version_the_client_saw(world):
    no = await order_in(world.services, "awaiting_payment")
    _, seen, headers = await world.api.get(f"/orders/{no}")
    assert headers["ETag"] == f'"{seen["version"]}"'
    stale = f'"{seen["version"] - 1}"'
    status, answer, _ = await world.api.post(f"/orders/{no}/pay", {}, headers={"If-Match": stale})
    assert (status, answer["code"]) == (412, "precondition_failed"), answer
    assert await status_of(world.services, no) == OrderStatus.AWAITING_PAYMENT
    status, paid, _ = await world.api.post(f"/orders/{no}/pay", {}, headers={"If-Match": headers["ETag"]})
    assert status == 200 and paid["payment_status"] == "paid"


# --- idempotency ---------------------------------------------------------------------------------------


async def _orders(services: Services) -> int:
    async with services.reading() as session:
        return await session.scalar(select(func.count()).select_from(Order))


NEW_ORDER = {"customer": "C001", "lines": [{"sku": "TEA-001", "qty": 2}], "payment_terms": "credit"}


async def test_a_retry_with_the_same_key_gets_the_first_response_and_changes_nothing(world):
    headers = {"Idempotency-Key": "erp-order-4711"}
    first = await world.api.post("/orders", NEW_ORDER, headers)
    again = await world.api.post("/orders", NEW_ORDER, headers)
    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    assert "Idempotent-Replayed" not in first[2] and again[2]["Idempotent-Replayed"] == "true"
    assert await _orders(world.services) == 1
    # another key (or another API key using the same key) is another request
    assert (await world.api.post("/orders", NEW_ORDER, {"Idempotency-Key": "erp-order-4712"}))[0] == 201
    other = await world.key("other-erp")
    assert (await other.post("/orders", NEW_ORDER, headers))[0] == 201
    assert await _orders(world.services) == 3


async def test_the_same_key_with_a_different_body_is_422(world):
    headers = {"Idempotency-Key": "k-1"}
    assert (await world.api.post("/orders", NEW_ORDER, headers))[0] == 201
    changed = {**NEW_ORDER, "lines": [{"sku": "TEA-001", "qty": 3}]}
    status, answer, _ = await world.api.post("/orders", changed, headers)
    assert (status, answer["code"]) == (422, "idempotency_key_reused")
    no = (await world.api.get("/orders"))[1]["data"][0]["order_no"]
    status, answer, _ = await world.api.post(f"/orders/{no}/deliver", None, headers)  # another route, same key
    assert (status, answer["code"]) == (422, "idempotency_key_reused")
    assert await _orders(world.services) == 1


async def test_a_refusal_is_stored_and_replayed_too(world):
    no = await order_in(world.services, "ready_to_pick")
    headers = {"Idempotency-Key": "deliver-1"}
    first = await world.api.post(f"/orders/{no}/deliver", None, headers)
    async with world.services.unit_of_work(SYSTEM) as ctx:  # the order moves on meanwhile
        await fulfilment.start_picking(ctx, no)
    again = await world.api.post(f"/orders/{no}/deliver", None, headers)
    assert first[0] == again[0] == 409
    assert again[1] == first[1] and again[2]["Idempotent-Replayed"] == "true"


async def test_concurrent_retries_create_one_order_and_are_told_409_or_the_first_response(world):
    headers = {"Idempotency-Key": "burst"}
    answers = await asyncio.gather(*(world.api.post("/orders", NEW_ORDER, headers) for _ in range(12)))
    statuses = sorted(status for status, _, _ in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = [body for status, body, _ in answers if status == 201]
    assert created and all(body == created[0] for body in created)
    assert [h.get("Idempotent-Replayed") for s, _, h in answers if s == 201].count(None) == 1
    assert all(body["code"] == "idempotency_in_progress" for status, body, _ in answers if status == 409)
    assert await _orders(world.services) == 1


@pytest.mark.pg
async def test_a_retry_while_the_first_request_still_runs_is_409(pg_url, tmp_path):
    """Two truly concurrent requests: the first is held inside its transaction (its stock row is
    locked by the test), the second arrives meanwhile."""
    services = await demo_services(tmp_path / "unused.db", database_url=pg_url)
    client = await start(services)
    api = Api(client, await new_key(services, "erp"))
    headers = {"Idempotency-Key": "held"}
    try:
        async with services.engine.connect() as lock:
            transaction = await lock.begin()
            await lock.execute(text("SELECT id FROM stock_level FOR UPDATE"))  # allocation will wait
            first = asyncio.create_task(api.post("/orders", NEW_ORDER, headers))

            async def claimed() -> bool:
                async with services.reading() as session:
                    return await session.get(IdempotencyKey, ("api:erp", "held")) is not None

            await until(claimed)
            status, answer, _ = await api.post("/orders", NEW_ORDER, headers)
            assert (status, answer["code"]) == (409, "idempotency_in_progress"), answer
            assert not first.done()
            await transaction.rollback()
        status, body, _ = await asyncio.wait_for(first, 30)
        assert status == 201
        replay = await api.post("/orders", NEW_ORDER, headers)
        assert replay[0] == 201 and replay[1] == body and replay[2]["Idempotent-Replayed"] == "true"
        assert await _orders(services) == 1
    finally:
        await client.close()
        await services.close()


# --- pagination ------------------------------------------------------------------------------------------


async def test_paging_neither_skips_nor_repeats_while_orders_are_created(world):
    existing = [await order(world.services, "C001", {"CUP-01": 1}, "credit") for _ in range(23)]
    stop = asyncio.Event()
    created: list[str] = []

    async def writer() -> None:
        while not stop.is_set():
            status, body, _ = await world.api.post(
                "/orders", {"customer": "C003", "lines": [{"sku": "CUP-01", "qty": 1}], "payment_terms": "cod"}
            )
            assert status == 201
            created.append(body["order_no"])

    task = asyncio.create_task(writer())
    seen: list[str] = []
    after: str | None = None
    try:
        await until(lambda: len(created) >= 2)  # writes are under way before the first page
        while True:
            params = {"limit": 4, **({"starting_after": after} if after else {})}
            status, page, _ = await world.api.get("/orders", **params)
            assert status == 200
            seen += [o["order_no"] for o in page["data"]]
            if not page["has_more"]:
                break
            after = page["data"][-1]["order_no"]
            count = len(created)
            await until(lambda count=count: len(created) > count)  # another order lands between pages
    finally:
        stop.set()
        await task
    assert len(seen) == len(set(seen)), "an order was repeated"
    assert set(existing) <= set(seen), "an order that existed before paging was skipped"
    ids = [int(no.split("-")[1]) for no in seen]
    assert ids == sorted(ids, reverse=True)
    assert len(created) > 5


async def test_filters_combine(world):
    vip = await order(world.services, "C001", {"TEA-001": 1}, "credit")
    waiting = await order_in(world.services, "awaiting_payment")
    _, page, _ = await world.api.get("/orders", status="awaiting_payment")
    assert [o["order_no"] for o in page["data"]] == [waiting]
    _, page, _ = await world.api.get("/orders", customer="C001")
    assert [o["order_no"] for o in page["data"]] == [vip]
    _, page, _ = await world.api.get("/orders", channel="direct", created_since="2000-01-01T00:00:00+08:00")
    assert {o["order_no"] for o in page["data"]} == {vip, waiting}
    _, page, _ = await world.api.get("/orders", updated_since="2999-01-01T00:00:00Z")
    assert page == {"data": [], "has_more": False}


# --- an ERP by HTTP alone --------------------------------------------------------------------------------


async def test_an_erp_places_an_order_and_follows_it_to_delivery_by_http_alone(world):
    api = world.api
    status, placed, _ = await api.post(
        "/orders",
        {"customer": "C002", "lines": [{"sku": "TEA-001", "qty": 45}], "external_ref": "ERP-SO-77"},
        {"Idempotency-Key": "erp-77"},
    )
    assert status == 201 and placed["status"] == "pending_approval", placed
    no = placed["order_no"]
    steps = [
        ("approve", {"note": "ok by ERP"}, "awaiting_payment"),
        ("pay", {"reference": "招商银行 2026-0001"}, "ready_to_pick"),
        ("pick", None, "picking"),
        ("pack", None, "packed"),
        ("ship", {"carrier": "SF", "tracking_no": "SF100200300"}, "shipped"),
        ("deliver", None, "delivered"),
    ]
    for action, body, expected in steps:
        status, detail, _ = await api.post(f"/orders/{no}/{action}", body, {"Idempotency-Key": f"{no}-{action}"})
        assert (status, detail["status"]) == (200, expected), detail
    status, detail, _ = await api.get(f"/orders/{no}")
    assert detail["payment_status"] == "paid" and detail["paid_amount"] == detail["total"]
    assert detail["shipments"][0]["tracking_no"] == "SF100200300"
    assert detail["lines"][0]["allocations"][0]["state"] == "shipped"
    actors = {h["actor"] for h in detail["history"] if h["to"]}
    assert actors == {"api:erp"}, detail["history"]
    assert {h["source"] for h in detail["history"] if h["actor"] == "api:erp"} == {"api"}
    _conforms(detail, "OrderDetail")
    status, rma, _ = await api.post("/returns", {"order_no": no, "lines": {"TEA-001": 2}, "reason": "damaged"})
    assert status == 201 and rma["lines"] == {"TEA-001": 2} and rma["status"] == "requested"
    _, listed, _ = await api.get("/returns", order_no=no)
    assert [r["rma_no"] for r in listed["data"]] == [rma["rma_no"]]


async def test_stock_receipts_serve_backorders_and_adjustments_need_a_reason(world):
    no = await order(world.services, "C002", {"POT-01": 13})  # BJ holds 12: backordered
    assert await status_of(world.services, no) == OrderStatus.BACKORDERED
    status, moved, _ = await world.api.post("/stock/receipts", {"sku": "POT-01", "warehouse": "BJ", "qty": 5})
    assert status == 201 and moved["served_orders"] == [no]
    assert moved["stock"]["total"]["on_hand"] == 17
    status, answer, _ = await world.api.post(
        "/stock/adjustments", {"sku": "POT-01", "warehouse": "BJ", "delta": -1, "reason": "  "}
    )
    assert status == 400 and answer["errors"][0]["loc"] == ["body", "reason"]


async def test_the_document_and_the_docs_page_need_no_key_and_nothing_from_the_internet(world):
    client = world.api.client
    async with client.get(PREFIX + "/openapi.json") as r:
        assert r.status == 200 and (await r.json()) == document()
    async with client.get("/api/docs") as r:
        page = await r.text()
    assert r.status == 200 and "http://" not in page and "https://" not in page
    async with client.get("/api/docs/docs.js") as r:
        script = await r.text()
    assert "http://" not in script.replace("https://", "") and "/api/v1/openapi.json" in script
    async with client.get("/api/docs/ui/swagger-ui-bundle.js") as r:
        assert r.status == 200 and len(await r.read()) > 100_000


async def test_returns_of_other_customers_stay_hidden(world):
    no = await order_in(world.services, "delivered")  # C001's
    async with world.services.unit_of_work(SYSTEM) as ctx:
        await request_return(ctx, no, {"TEA-001": 1}, "wrong colour")
    theirs = await world.key("portal-c2", ["returns:read", "returns:write"], customer="C002")
    assert (await theirs.get("/returns"))[1] == {"data": [], "has_more": False}
    status, answer, _ = await theirs.post("/returns", {"order_no": no, "lines": {"TEA-001": 1}, "reason": "mine?"})
    assert (status, answer["code"]) == (404, "order_not_found")
    mine = await world.key("portal-c1", ["returns:read"], customer="C001")
    assert len((await mine.get("/returns"))[1]["data"]) == 1


async def test_a_warehouse_key_lists_only_orders_allocated_to_its_warehouses(world):
    shanghai = await order(world.services, "C001", {"TEA-001": 2}, "credit")  # allocated in SH
    beijing = await order(world.services, "C001", {"POT-01": 1}, "credit")  # only BJ holds POT-01
    wms = await world.key("wms-bj", ["orders:read", "stock:read"], warehouses=["BJ"])
    _, page, _ = await wms.get("/orders")
    assert [o["order_no"] for o in page["data"]] == [beijing]
    status, answer, _ = await wms.get(f"/orders/{shanghai}")
    assert (status, answer["code"]) == (403, "order_not_in_your_warehouse")
    _, stock, _ = await wms.get("/stock/TEA-001")
    assert [w["warehouse"] for w in stock["warehouses"]] == ["BJ"]


async def test_an_unknown_route_or_method_is_a_problem_too(world):
    async with world.api.client.post(
        "/api/v1/orders/SO-1/finish",
        json={},
        headers={"Authorization": f"Bearer {world.api.token}", "Accept-Language": "zh-CN"},
    ) as r:
        assert r.status == 404 and r.content_type == "application/problem+json"
        problem = await r.json(content_type=None)
    assert problem["code"] == "no_such_route" and not problem["detail"].isascii()
    async with world.api.client.delete("/api/v1/orders", headers={"Authorization": f"Bearer {world.api.token}"}) as r:
        assert r.status == 405 and r.content_type == "application/problem+json"
        assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]
        assert (await r.json(content_type=None))["code"] == "method_not_allowed"
