"""The notifier reads people, workflow rules and webhook endpoints from process-local copies; a
change to any of them (in this process or another) is seen by the very next delivery."""

from __future__ import annotations

import yaml
from sqlalchemy import select, update

from bot.delivery import approvers, customer_users, users_by_id, users_with_role
from bot.workflows.schema import Trigger
from bot.workflows.store import rule_named, rules_for, save_rules
from core.auth import Actor
from core.customers.models import Customer
from core.users.models import User
from core.webhooks.service import add_endpoint, failed, remove_endpoint, subscribed
from tests.support.databases import make_services
from tests.support.platforms import bind, demo_services

SYSTEM = Actor.system("test")
RULE = "{{name: big, on: order.received, when: order.total > {limit}, approve: {{role: approver}}}}"


async def names(services, read) -> list[str]:
    return sorted(p.name for p in await services.query(SYSTEM, read))


async def test_a_deactivated_user_is_told_nothing_from_the_next_delivery_on(tmp_path):
    services = await demo_services(tmp_path)
    other = await make_services(services.settings)  # another process's engine, as `oms load` has
    try:
        assert "王芳" in await names(services, lambda ctx: users_with_role(ctx, "approver"))
        async with other.unit_of_work(SYSTEM) as ctx:
            await ctx.session.execute(update(User).where(User.name == "王芳").values(active=False))
        assert await names(services, lambda ctx: users_with_role(ctx, "approver")) == []
        assert await names(services, lambda ctx: approvers(ctx, {"user": "王芳"})) == []
    finally:
        await other.close()


async def test_a_new_identity_and_a_new_role_are_seen_at_once(tmp_path):
    services = await demo_services(tmp_path)
    async with services.reading() as session:
        wang = await session.scalar(select(User.id).where(User.name == "王芳"))
        c001 = await session.scalar(select(Customer.id).where(Customer.code == "C001"))

    [before] = await services.query(SYSTEM, lambda ctx: users_by_id(ctx, [wang]))
    await bind(services, "telegram", {"王芳": "22"})
    async with services.unit_of_work(SYSTEM) as ctx:
        user = await ctx.session.get(User, wang)
        user.roles = [*user.roles, "service"]
    [after] = await services.query(SYSTEM, lambda ctx: users_by_id(ctx, [wang]))
    assert "王芳" in await names(services, lambda ctx: users_with_role(ctx, "service"))
    assert await names(services, lambda ctx: customer_users(ctx, c001)) == ["杭州茶社"]
    assert ("telegram", "22") not in {(r.platform, r.external_id) for r in before.identities}
    assert ("telegram", "22") in {(r.platform, r.external_id) for r in after.identities}


async def received(ctx):
    return await rules_for(ctx, Trigger.ORDER_RECEIVED)


async def test_a_reloaded_rule_is_the_one_read_next(tmp_path):
    services = await demo_services(tmp_path)
    async with services.unit_of_work(SYSTEM) as ctx:
        await save_rules(ctx, [yaml.safe_load(RULE.format(limit=5000))])
    assert [r.when for r in await services.query(SYSTEM, received)] == ["order.total > 5000"]
    other = await make_services(services.settings)
    try:
        async with other.unit_of_work(SYSTEM) as ctx:
            await save_rules(ctx, [yaml.safe_load(RULE.format(limit=9000))])
    finally:
        await other.close()
    assert [r.when for r in await services.query(SYSTEM, received)] == ["order.total > 9000"]
    assert (await services.query(SYSTEM, lambda ctx: rule_named(ctx, "big"))).when == "order.total > 9000"
    async with services.unit_of_work(SYSTEM) as ctx:
        await save_rules(ctx, [])  # ``workflows: []`` removes them
    assert await services.query(SYSTEM, received) == []
    assert await services.query(SYSTEM, lambda ctx: rule_named(ctx, "big")) is None


async def test_a_removed_or_disabled_endpoint_hears_nothing_more(tmp_path):
    services = await demo_services(tmp_path)
    admin = Actor.system("test")

    async def listening() -> list[str]:
        return [e.name for e in await services.query(admin, lambda ctx: subscribed(ctx, "order.status_changed"))]

    async with services.unit_of_work(admin) as ctx:
        await add_endpoint(ctx, "erp", "https://erp.example/hook", ["*"])
        await add_endpoint(ctx, "crm", "https://crm.example/hook", ["order.status_changed"])
    assert await listening() == ["erp", "crm"]
    async with services.unit_of_work(admin) as ctx:
        await remove_endpoint(ctx, "erp")
    assert await listening() == ["crm"]
    async with services.unit_of_work(admin) as ctx:
        await failed(ctx, "crm", ctx.now(), "410 Gone", disable=True)
    assert await listening() == []
