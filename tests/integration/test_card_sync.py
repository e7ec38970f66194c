"""Cards follow their orders from one place: a tap changes the order, and the change's delivery
edits every copy of the card exactly once; a step that needs all of a role stays open for the rest."""

from __future__ import annotations

import re
from collections import Counter

import yaml
from sqlalchemy import select

from bot import gateway
from bot.gateway import Inbound
from bot.outbox.models import OutboxMessage
from bot.workflows.review import WorkflowReview
from bot.workflows.store import save_rules
from core.auth import Actor
from tests.support.platforms import bind, demo_services, make_approver
from tests.support.service_calls import detail


async def outbox(services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def button(send: OutboxMessage, label: str) -> str:
    [found] = [b["action"] for b in send.payload["card"]["buttons"] if b["label"] == label]
    return found


async def test_one_picked_tap_edits_each_copy_of_the_pick_card_once(tmp_path):
    # Given a pick card that went to 张仓 directly on Telegram and Slack, and into a group he asked in
    services = await demo_services(tmp_path)
    await bind(services, "telegram", {"李雷": "11", "张仓": "31"})
    await bind(services, "slack", {"张仓": "U31"})
    placed = await gateway.message(
        services, Inbound("telegram", "11", "11", "u1"), "/neworder C001 TEA-001*2 pay=credit"
    )
    order_no = re.search(r"SO-\d+", placed.texts[0]).group(0)
    await gateway.message(services, Inbound("telegram", "31", "-200", "u2"), "/pick")
    copies = [m for m in await outbox(services) if m.kind == "send" and m.payload.get("card")]
    assert {(m.platform, m.recipient) for m in copies} == {("telegram", "31"), ("slack", "U31"), ("telegram", "-200")}

    # When he taps "Picked" once
    answer = await gateway.tap(services, Inbound("telegram", "31", "31", "cb-1"), button(copies[0], "Picked"))

    # Then the order is picking, and each copy got exactly one edit, showing the next step
    assert answer.texts == [f"{order_no} is picked."]
    assert (await detail(services, order_no))["status"] == "picking"
    edits = [m for m in await outbox(services) if m.kind == "edit"]
    assert Counter(m.payload["of"] for m in edits) == {m.id: 1 for m in copies}
    assert all([b["label"] for b in m.payload["card"]["buttons"]] == ["Packed"] for m in edits)


async def test_a_step_for_all_of_a_role_stays_open_until_the_last_approves(tmp_path):
    services = await demo_services(tmp_path)
    await make_approver(services, "赵经理")
    services.review_policy = WorkflowReview()
    async with services.unit_of_work(Actor.system("test")) as ctx:
        rule = "{name: all, on: order.received, when: order.total > 5000, approve: {role: approver, mode: all}}"
        await save_rules(ctx, [yaml.safe_load(rule)])
    await bind(services, "telegram", {"李雷": "11", "王芳": "22", "赵经理": "33"})
    placed = await gateway.message(services, Inbound("telegram", "11", "11", "u1"), "/neworder C002 TEA-001*45")
    order_no = re.search(r"SO-\d+", placed.texts[0]).group(0)
    first = next(m for m in await outbox(services) if m.recipient == "22" and m.payload.get("card"))

    await gateway.tap(services, Inbound("telegram", "22", "22", "cb-1"), button(first, "Approve"))

    assert (await detail(services, order_no))["status"] == "pending_approval"
    edits = [m.payload["card"] for m in await outbox(services) if m.kind == "edit"]
    assert edits and all(c["state"] == "open" and "Approved so far: 王芳" in c["notes"] for c in edits)
    second = next(m for m in await outbox(services) if m.recipient == "33" and m.payload.get("card"))

    answer = await gateway.tap(services, Inbound("telegram", "33", "33", "cb-2"), button(second, "Approve"))

    assert answer.texts == [f"Approved {order_no}."]
    assert (await detail(services, order_no))["status"] != "pending_approval"
    last = [m.payload["card"] for m in await outbox(services) if m.kind == "edit"][-2:]
    assert all(c["state"] == "closed" and "赵经理" in c["outcome"] for c in last)
