"""Work orders over the REST API, as an MES follows and moves them: every route with and without
its scope, the whole production of a made-to-order desk by HTTP (release, start once the materials
are in, done: the order goes on to picking), If-Match, and a customer key that sees only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.wiring import load_master_file
from core.auth import Actor
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.status import PaymentTerms
from integrations.api.openapi import rebased_components
from integrations.api.registry import ROUTES
from tests.support.api import ALL_SCOPES, Api, new_key, start
from tests.support.databases import make_services, sqlite_settings
from tests.support.service_calls import detail

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "make_to_order.yaml"
SYSTEM = Actor.system("test")
ROUTE_OF = {r.operation_id: r for r in ROUTES if r.tag == "work orders"}


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[tuple[Any, Api]]:
    services = await make_services(sqlite_settings(tmp_path / "mto-api.db"))
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_file(ctx, SAMPLE)
    client = await start(services)
    try:
        yield services, Api(client, await new_key(services, "mes"))
    finally:
        await client.close()
        await services.close()


async def desks(services, qty: int = 4) -> tuple[str, str]:
    """An order for ``qty`` desks (1 on the shelf): the rest becomes a work order. (order, MO)"""
    async with services.unit_of_work(SYSTEM) as ctx:
        order = await place_order(
            ctx, OrderDraft("C001", (DraftLine("DESK-01", qty),), payment_terms=PaymentTerms.CREDIT)
        )
    [wo] = (await detail(services, order.order_no))["work_orders"]
    return order.order_no, wo["mo_no"]


def conforms(body: Any, model: str) -> None:
    jsonschema.validate(body, {"$defs": rebased_components(), "$ref": f"#/$defs/{model}"})


CASES = {
    "list_work_orders": lambda mo: ("GET", "/work-orders", None),
    "get_work_order": lambda mo: ("GET", f"/work-orders/{mo}", None),
    "release_work_order": lambda mo: ("POST", f"/work-orders/{mo}/release", {}),
    "start_work_order": lambda mo: ("POST", f"/work-orders/{mo}/start", {}),
    "done_work_order": lambda mo: ("POST", f"/work-orders/{mo}/done", {}),
    "cancel_work_order": lambda mo: ("POST", f"/work-orders/{mo}/cancel", {"reason": "line stopped"}),
}


def test_the_cases_cover_every_work_order_route():
    assert set(CASES) == set(ROUTE_OF)


@pytest.mark.parametrize("operation", sorted(CASES))
async def test_a_key_without_the_routes_scope_gets_403_naming_it(shop, operation):
    services, api = shop
    _order, mo = await desks(services)
    scope = ROUTE_OF[operation].scope
    others = api.as_key(await new_key(services, "others", [s for s in ALL_SCOPES if s != scope]))
    method, path, body = CASES[operation](mo)
    status, answer, _ = await (others.get(path) if method == "GET" else others.post(path, body))
    assert status == 403 and scope in answer["detail"], answer


async def test_an_mes_runs_the_production_of_a_desk_by_http(shop):
    services, api = shop
    order_no, mo = await desks(services)
    only = api.as_key(await new_key(services, "mes-only", ["work_orders:read", "work_orders:write"]))

    status, page, _ = await only.get("/work-orders", status="planned")
    assert status == 200 and [w["mo_no"] for w in page["data"]] == [mo] and page["has_more"] is False
    conforms(page, "WorkOrderList")
    status, wo, headers = await only.get(f"/work-orders/{mo}")
    assert status == 200 and wo["status"] == "planned" and wo["qty"] == 3 and wo["order_no"] == order_no
    assert headers["ETag"] == f'"{wo["version"]}"'
    assert {m["sku"] for m in wo["materials"] if m["short"]} and wo["purchase_requests"]
    conforms(wo, "WorkOrderDetail")

    # A stale If-Match changes nothing; the right one releases it
    status, problem, _ = await only.post(f"/work-orders/{mo}/release", {}, {"If-Match": '"99"'})
    assert status == 412, problem
    status, wo, _ = await only.post(f"/work-orders/{mo}/release", {}, {"If-Match": f'"{wo["version"]}"'})
    assert status == 200 and wo["status"] == "released"

    # Starting before the materials are in is refused, in the reader's language, with its code
    status, problem, _ = await only.post(f"/work-orders/{mo}/start", {}, {"Accept-Language": "zh-CN"})
    assert status == 409 and problem["code"] and not problem["detail"].isascii(), problem

    # The short materials arrive (goods in through the API too), then start and done
    receiver = api.as_key(await new_key(services, "wms", ["stock:write"]))
    for m in wo["materials"]:
        if m["short"]:
            status, _, _ = await receiver.post(
                "/stock/receipts", {"sku": m["sku"], "warehouse": "SH", "qty": m["short"]}
            )
            assert status == 201
    status, wo, _ = await only.post(f"/work-orders/{mo}/start", {})
    assert status == 200 and wo["status"] == "in_progress"
    status, wo, _ = await only.post(f"/work-orders/{mo}/done", {})
    assert status == 200 and wo["status"] == "done" and wo["can"] == dict.fromkeys(wo["can"], False)
    assert (await detail(services, order_no))["status"] == "ready_to_pick"  # the desks go on to picking

    status, problem, _ = await only.post(f"/work-orders/{mo}/cancel", {"reason": "too late"})
    assert status == 409, problem  # a done work order stays done


async def test_a_customer_key_sees_its_own_production_only(shop):
    services, api = shop
    _order, mo = await desks(services)
    outsider = api.as_key(await new_key(services, "portal", ["work_orders:read"], customer="C001"))
    status, page, _ = await outsider.get("/work-orders")
    assert status == 200 and [w["mo_no"] for w in page["data"]] == [mo]  # C001's own desk order
    status, problem, _ = await outsider.get("/work-orders/MO-999999")
    assert status == 404 and problem["code"] == "work_order_not_found"


async def test_bad_requests_are_clear(shop):
    services, api = shop
    await desks(services)
    status, problem, _ = await api.get("/work-orders", status="melted")
    assert status == 400 and problem["errors"], problem
    status, problem, _ = await api.get("/work-orders", starting_after="MO-424242")
    assert status == 404, problem
    status, problem, _ = await api.post("/work-orders/MO-424242/release", {})
    assert status == 404 and problem["code"] == "work_order_not_found"
