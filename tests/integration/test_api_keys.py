"""API keys as actors: scopes become permissions, limits scope what a key sees, only a hash is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.apikeys import authenticate, create_key, list_keys, revoke_key
from core.apikeys.models import ApiKey
from core.apikeys.scopes import UnknownScope
from core.apikeys.service import KeyNameInvalid, KeyNameTaken, KeyNotFound, NoScopes
from core.audit.models import AuditRecord
from core.auth import Permission, PermissionDenied
from core.errors import CustomerNotFound, NotFound, WarehouseNotFound
from core.orders import confirmation, fulfilment
from core.orders.placement import DraftLine, OrderDraft, place_order
from core.orders.views import order_detail
from tests.support.master_data import seed
from tests.support.service_calls import as_user, detail, place


async def key_actor(services, name, scopes, **limits):
    _, token = await as_user(services, None, lambda ctx: create_key(ctx, name, scopes, **limits))
    async with services.sessions() as session:
        return token, await authenticate(session, token)


async def test_the_key_is_shown_once_and_only_its_hash_is_stored(services):
    await seed(services)
    token, actor = await key_actor(services, "erp", ["orders:read", "orders:write"])
    assert token.startswith("oms_") and len(token) > 40
    rows = await as_user(services, None, lambda ctx: ctx.session.scalars(select(ApiKey)))
    [row] = list(rows)
    assert token not in (row.key_hash, row.prefix) and row.prefix == token[:12]
    assert actor.name == "api:erp" and actor.source == "api"
    assert actor.can(Permission.ORDER_CREATE) and not actor.can(Permission.ORDER_APPROVE)


async def test_unknown_malformed_and_revoked_keys_are_nobody(services):
    await seed(services)
    token, _ = await key_actor(services, "erp", ["orders:read"])
    async with services.sessions() as session:
        assert await authenticate(session, token + "x") is None
        assert await authenticate(session, "Bearer " + token) is None
        assert await authenticate(session, "") is None
    await as_user(services, None, lambda ctx: revoke_key(ctx, "erp"))
    async with services.sessions() as session:
        assert await authenticate(session, token) is None
    [info] = await as_user(services, None, list_keys)
    assert info.revoked_at is not None  # still listed: who had access, until when


async def test_a_key_acts_with_its_scopes_only_and_is_audited_by_name(services):
    await seed(services)
    no = await place(services, items={"TEA-001": 50})  # above the threshold: waits for approval
    _, reader = await key_actor(services, "bi", ["orders:read"])
    _, approver = await key_actor(services, "erp", ["orders:approve"])
    async with services.unit_of_work(reader) as ctx:
        assert (await order_detail(ctx, no))["order_no"] == no
    with pytest.raises(PermissionDenied, match="approve or reject"):
        await services.run(reader, lambda ctx: confirmation.approve(ctx, no))
    await services.run(approver, lambda ctx: confirmation.approve(ctx, no))  # any review step
    assert (await detail(services, no))["status"] != "pending_approval"
    audited = await as_user(
        services, None, lambda ctx: ctx.session.execute(select(AuditRecord.actor, AuditRecord.action))
    )
    actions = {(who, what) for who, what in audited}
    assert ("api:bi", "denied") in actions
    assert any(who == "api:erp" and what != "denied" for who, what in actions)


async def test_a_customer_key_sees_that_customers_orders_only(services):
    await seed(services)
    mine = await place(services, customer="C001")
    theirs = await place(services, customer="C002")
    _, portal = await key_actor(services, "portal-c001", ["orders:read", "orders:write"], customer="C001")
    async with services.unit_of_work(portal) as ctx:
        assert (await order_detail(ctx, mine))["order_no"] == mine
    with pytest.raises(NotFound):
        async with services.unit_of_work(portal) as ctx:
            await order_detail(ctx, theirs)
    with pytest.raises(PermissionDenied):
        await services.run(portal, lambda ctx: place_order(ctx, OrderDraft("C002", (DraftLine("TEA-001", 1),))))


async def test_a_warehouse_key_acts_on_its_warehouse_only(services):
    await seed(services)
    no = await place(services, payment_terms="credit")  # allocated in SH
    _, gz = await key_actor(services, "wms-gz", ["fulfilment:write"], warehouses=["GZ"])
    _, sh = await key_actor(services, "wms-sh", ["fulfilment:write"], warehouses=["SH"])
    with pytest.raises(PermissionDenied, match="not allocated to your warehouse"):
        await services.run(gz, lambda ctx: fulfilment.start_picking(ctx, no))
    await services.run(sh, lambda ctx: fulfilment.start_picking(ctx, no))


@pytest.mark.parametrize(
    ("name", "scopes", "limits", "error"),
    [
        ("erp", ["orders:read", "orders:delete"], {}, UnknownScope),
        ("erp", [], {}, NoScopes),
        ("erp key", ["orders:read"], {}, KeyNameInvalid),
        ("erp", ["orders:read"], {"customer": "C999"}, CustomerNotFound),
        ("erp", ["orders:read"], {"warehouses": ["XX"]}, WarehouseNotFound),
    ],
)
async def test_bad_requests_are_refused_and_create_nothing(services, name, scopes, limits, error):
    await seed(services)
    with pytest.raises(error):
        await as_user(services, None, lambda ctx: create_key(ctx, name, scopes, **limits))
    assert await as_user(services, None, list_keys) == []


async def test_names_are_unique_and_revoking_an_unknown_key_says_so(services):
    await seed(services)
    await key_actor(services, "erp", ["orders:read"])
    with pytest.raises(KeyNameTaken):
        await as_user(services, None, lambda ctx: create_key(ctx, "erp", ["orders:read"]))
    with pytest.raises(KeyNotFound):
        await as_user(services, None, lambda ctx: revoke_key(ctx, "nope"))


async def test_only_admins_manage_keys(services):
    await seed(services)
    with pytest.raises(PermissionDenied):
        await as_user(services, "李雷", lambda ctx: create_key(ctx, "mine", ["orders:read"]))
