"""The whole order flow in chat, through the console's HTTP API on a running server."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from core.audit.models import AuditRecord


def order_no(texts: list[str]) -> str:
    return re.search(r"SO-\d+", texts[0]).group(0)


async def test_entry_to_completion_in_chat(chat):
    # Sales enters an order above the approval threshold for the Guangzhou tea house
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    # The approver gets a card saying why, and approves it with a tap
    [card] = await chat.cards("wangfang", no)
    assert any("approval threshold" in note for note in card["notes"])
    assert await chat.tap("wangfang", card, "Approve") == [f"Approved {no}."]
    [card] = await chat.cards("wangfang", no)
    assert card["state"] == "closed" and "王芳" in card["outcome"] and card["buttons"] == []
    assert f"{no} was confirmed." in await chat.texts("lilei")
    assert any(no in t and "confirmed" in t for t in await chat.texts("c002"))
    # Finance confirms payment; Shanghai's warehouse gets a pick card and works through it
    await chat.say("wangfang", f"/pay {no} bank-ref-1")
    [pick] = await chat.cards("zhangcang", no)
    assert pick["kind"] == "pick" and "SH" in str(pick["fields"])
    await chat.tap("zhangcang", pick, "Picked")
    [pick] = await chat.cards("zhangcang", no)
    await chat.tap("zhangcang", pick, "Packed")
    [pick] = await chat.cards("zhangcang", no)
    assert pick["state"] == "closed" and "张仓" in pick["outcome"]
    assert {"label": "Stage", "value": "packed"} in pick["fields"]
    shipped = await chat.say("zhangcang", f"/ship {no} SF SF100200300")
    assert shipped[0] == f"{no} shipped with SF SF100200300."
    assert any("SF100200300" in t for t in await chat.texts("c002"))
    await chat.say("zhangcang", f"/delivered {no}")
    assert any("delivered" in t for t in await chat.texts("c002"))
    await chat.say("lilei", f"/complete {no}")
    shown = await chat.say("c002", f"/order {no}")
    assert "completed" in shown[0]


async def test_rejection_reaches_the_salesperson(chat):
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    assert await chat.say("zhaojl", f"/reject {no} price too low") == [f"Rejected {no}: price too low"]
    assert f"{no} was rejected: price too low" in await chat.texts("lilei")
    [card] = await chat.cards("wangfang", no)
    assert card["state"] == "closed" and "经理" in card["outcome"]


async def test_cancellation_frees_stock(chat):
    before = (await chat.say("lilei", "/stock TEA-002"))[0]
    no = order_no(await chat.say("lilei", "/neworder C003 TEA-002*5"))
    assert "5 reserved" in (await chat.say("lilei", "/stock TEA-002"))[0]
    assert await chat.say("lilei", f"/cancel {no} customer changed their mind") == [
        f"Cancelled {no}; its stock is released."
    ]
    assert (await chat.say("lilei", "/stock TEA-002"))[0] == before


async def test_return_with_inspection_and_refund(chat):
    no = order_no(await chat.say("lilei", "/neworder C001 TEA-001*4 pay=credit"))
    [pick] = await chat.cards("zhangcang", no)
    await chat.tap("zhangcang", pick, "Picked")
    await chat.tap("zhangcang", (await chat.cards("zhangcang", no))[0], "Packed")
    await chat.say("zhangcang", f"/ship {no} SF SF1")
    requested = await chat.say("c001", f"/return {no} TEA-001*1 leaking bag")
    rma = re.search(r"RMA-\d+", requested[0]).group(0)
    assert any(rma in t for t in await chat.texts("liukf"))
    await chat.say("liukf", f"/rma {rma} approve")
    await chat.say("zhangcang", f"/rma {rma} receive SH")
    await chat.say("zhangcang", f"/rma {rma} inspect pass")
    assert await chat.say("wangfang", f"/rma {rma} refund") == [f"{rma} refunded: 118.00."]


async def test_backorder_is_released_by_a_stock_receipt(chat):
    no = order_no(await chat.say("lilei", "/neworder C001 TEA-003*10"))
    assert "backordered" in (await chat.say("lilei", f"/order {no}"))[0]
    replies = await chat.say("chencang", "/receive TEA-003 GZ 10")
    assert replies == ["Received 10 TEA-003 in GZ.", f"Allocated waiting orders: {no}"]
    assert "awaiting payment" in (await chat.say("lilei", f"/order {no}"))[0]


async def test_a_customer_cannot_see_another_customers_order(chat):
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*1"))
    assert await chat.say("c001", f"/order {no}") == [f"Order {no} does not exist."]
    assert no in (await chat.say("c002", f"/order {no}"))[0]


async def test_two_approvers_tapping_at_once_give_one_transition(chat, console_app):
    _, services = console_app
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [card] = await chat.cards("wangfang", no)
    first, second = await asyncio.gather(chat.tap("wangfang", card, "Approve"), chat.tap("zhaojl", card, "Approve"))
    winner, loser = (first[0], second[0]) if first[0].startswith("Approved") else (second[0], first[0])
    assert winner == f"Approved {no}."
    assert re.fullmatch(r"Already done: Approved by (王芳|赵经理) at \d\d:\d\d", loser)
    async with services.sessions() as session:
        approvals = list(
            await session.scalars(
                select(AuditRecord).where(AuditRecord.entity_key == no, AuditRecord.action == "approve")
            )
        )
    assert len(approvals) == 1


async def test_a_tap_without_the_role_is_refused_and_audited(chat, console_app):
    _, services = console_app
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [card] = await chat.cards("wangfang", no)
    assert await chat.tap("lilei", card, "Approve") == ["You may not approve or reject orders."]
    assert (await chat.cards("wangfang", no))[0]["state"] == "open"
    async with services.sessions() as session:
        denied = list(await session.scalars(select(AuditRecord).where(AuditRecord.action == "denied")))
    assert [(d.actor, d.source) for d in denied] == [("李雷", "console:lilei")]


async def test_a_stale_card_is_refused(chat):
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [card] = await chat.cards("wangfang", no)
    stale = {**card, "buttons": [{**b, "action": b["action"].rsplit(":", 1)[0] + ":999"} for b in card["buttons"]]}
    [reply] = await chat.tap("wangfang", stale, "Approve")
    assert "out of date" in reply
    assert (await chat.cards("wangfang", no))[0]["state"] == "open"


async def test_unknown_identities_are_told_how_to_get_bound(chat):
    [reply] = await chat.say("stranger", "/help")
    assert "console: stranger" in reply and "oms load" in reply


async def test_help_shows_only_what_the_role_allows(chat):
    customer = (await chat.say("c001", "/help"))[0]
    approver = (await chat.say("wangfang", "/help"))[0]
    assert "/approve" not in customer and "/ship" not in customer and "/order" in customer
    assert "/approve" in approver


async def test_chinese_command_names_and_language(chat):
    await chat.say("lilei", "/语言 zh")
    reply = (await chat.say("lilei", "/库存 TEA-001"))[0]
    assert "TEA-001" in reply
    assert (await chat.say("lilei", "/lang en")) == ["Language set to English."]


async def test_garbage_is_answered_not_crashed(chat):
    assert "Unknown command /frobnicate" in (await chat.say("lilei", "/frobnicate"))[0]
    assert "Commands start with /" in (await chat.say("lilei", "hello"))[0]
    assert "Usage" in (await chat.say("lilei", "/neworder"))[0]
    assert "Unknown SKU" in (await chat.say("lilei", "/stock NOPE-1"))[0]
    json_type = {"Content-Type": "application/json"}
    response = await chat.client.post("/console/api/messages", data=b"not json", headers=json_type)
    assert response.status == 400 and "JSON" in (await response.json())["error"]


async def test_low_stock_alerts_reach_warehouse_and_admin_once(chat):
    # The demo's TEA-003 (safety stock 5) is loaded with 4 units: one crossing, one alert.
    await chat.say("lilei", "/help")  # any request delivers what is pending
    for user in ("chencang", "zhangcang", "admin"):
        alerts = [t for t in await chat.texts(user) if t.startswith("Low stock: TEA-003")]
        assert len(alerts) == 1, (user, alerts)
    assert not [t for t in await chat.texts("lilei") if t.startswith("Low stock")]


async def test_editing_a_pending_order_voids_the_approval_card(chat):
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [before] = await chat.cards("wangfang", no)
    replies = await chat.say("lilei", f"/edit {no} TEA-001*2")
    assert replies[0] == f"{no} was changed and checked again; any pending approval is void."
    [card] = await chat.cards("wangfang", no)
    assert card["state"] == "closed" and card["outcome"].startswith("Void: 李雷 edited the order")
    assert card["buttons"] == []
    [late] = await chat.tap("wangfang", before, "Approve")  # a tap on a copy shown before the edit
    assert late.startswith("Already done: Void")
    assert "awaiting payment" in (await chat.say("lilei", f"/order {no}"))[0]


async def test_report_stalls_in_both_languages(chat):
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [report] = await chat.say("zhaojl", "/report stalls")
    assert report.startswith("Where orders waited, last 7 days")
    assert "pending approval" in report and no in report
    await chat.say("zhaojl", "/lang zh")
    [report] = await chat.say("zhaojl", "/报表 卡点")
    assert no in report and "待审批" in report


async def test_a_two_level_approval_in_chat(chat, console_app):
    from bot.workflows.review import WorkflowReview
    from bot.workflows.store import save_rules
    from core.auth import Actor

    _, services = console_app
    services.review_policy = WorkflowReview()
    async with services.unit_of_work(Actor.system("test")) as ctx:
        await save_rules(
            ctx,
            [
                {
                    "name": "two-levels",
                    "on": "order.received",
                    "when": "order.total > 5000",
                    "approve": [{"role": "approver"}, {"role": "manager"}],
                }
            ],
        )
    no = order_no(await chat.say("lilei", "/neworder C002 TEA-001*45"))
    [card] = await chat.cards("wangfang", no)
    assert "Step 1 of 2" in card["notes"]
    assert await chat.tap("wangfang", card, "Approve") == [f"Approved {no}."]
    assert (await chat.cards("wangfang", no))[0]["state"] == "closed"
    [second] = await chat.cards("zhaojl", no)
    assert "Step 2 of 2" in second["notes"] and second["state"] == "open"
    assert "pending approval" in (await chat.say("lilei", f"/order {no}"))[0]
    await chat.tap("zhaojl", second, "Approve")
    assert "awaiting payment" in (await chat.say("lilei", f"/order {no}"))[0]


async def test_the_inbox_says_what_the_person_may_type_and_the_zone_of_its_times(chat):
    async def inbox(user: str) -> dict:
        response = await chat.client.get("/console/api/inbox", params={"user": user})
        assert response.status == 200
        return await response.json()

    customer, warehouse = await inbox("c002"), await inbox("zhangcang")

    assert customer["timezone"] == warehouse["timezone"] == "Asia/Shanghai"  # the zone cards are written in
    assert {"help", "order", "neworder"} <= set(customer["commands"])
    assert not {"approvals", "pick", "stock"} & set(customer["commands"])
    assert {"pick", "packed", "stock"} <= set(warehouse["commands"]) and "approvals" not in warehouse["commands"]
