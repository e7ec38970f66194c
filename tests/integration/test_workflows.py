"""Workflow rules decide review (the seed's examples, SPEC §5); bad rules are refused on load."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import gateway
from bot.cards import render
from bot.gateway import Inbound
from bot.i18n import Translator
from bot.models import Card
from bot.workflows.review import WorkflowReview
from bot.workflows.schema import WorkflowError
from tests.support.master_data import SYSTEM, seed
from tests.support.platforms import bind, demo_services, order_no
from tests.support.service_calls import detail, events, place
from tests.support.workflow_rules import SPEC_RULES, rules


async def approval_requests(services) -> list[dict[str, Any]]:
    return await events(services, "approval.requested")


async def test_an_order_over_5000_needs_a_finance_approval(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C002", items={"TEA-001": 40})  # standard tier, 5,120.00
    order = await detail(services, no)
    assert order["status"] == "pending_approval"
    assert order["review_reason"] == "rule large-order-review: order.total > 5000"
    [request] = await approval_requests(services)
    assert request["approvers"] == {"role": "finance"} and request["rule"] == "large-order-review"


async def test_trusted_customers_routine_orders_skip_review(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C001", items={"TEA-001": 50})  # VIP, 6,400.00 ≤ 20,000
    order = await detail(services, no)
    assert order["status"] == "awaiting_payment"
    confirm = [h for h in order["history"] if h["action"] == "confirm"][0]
    assert confirm["reason"] == "auto-approved by rule trusted-skip"
    assert await approval_requests(services) == []


async def test_branch_on_payment_method(services):
    await seed(services, stock={("TEA-001", "SH"): 100}, credit_limit="100000")
    await rules(
        services,
        """
- name: offline-payment-check
  on: order.received
  when: order.payment_method == "offline"
  approve: {user: 王芳}
- name: online-goes-through
  on: order.received
  when: order.payment_method == "online"
  auto_approve: true
""",
    )
    offline = await place(services, customer="C001", items={"TEA-001": 1}, payment_terms="credit")
    online = await place(services, customer="C001", items={"TEA-001": 1})
    assert (await detail(services, offline))["status"] == "pending_approval"
    assert (await detail(services, online))["status"] == "awaiting_payment"
    [request] = await approval_requests(services)
    assert request["approvers"] == {"user": "王芳"}


async def test_a_stalled_review_rule_is_accepted_with_its_timings(services):
    # The seed's "nudge after 4 hours, escalate later" rule loads and asks for approval; the
    # durable timers that fire the nudge and the escalation are not built yet (issue 4, item 2).
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C002", items={"TEA-001": 40})
    assert (await detail(services, no))["status"] == "pending_approval"


async def test_no_matching_rule_confirms(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C002", items={"TEA-001": 1})
    assert (await detail(services, no))["status"] == "awaiting_payment"


async def test_without_review_rules_the_threshold_still_applies(services):
    await seed(services, stock={("TEA-001", "SH"): 100})
    services.review_policy = WorkflowReview()
    no = await place(services, customer="C001", items={"TEA-001": 50})
    assert (await detail(services, no))["status"] == "pending_approval"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "- {name: a, on: order.received, when: 'order.total >', auto_approve: true}",
            "workflows row 1 (a): when: not a valid condition",
        ),
        ("- {name: a, on: order.sent, auto_approve: true}", "workflows row 1 (a): on:"),
        ("- {name: a, on: order.received, approve: {role: approver}, remind_after: soon}", "remind_after: 'soon'"),
        ("- {name: a, on: order.received, approve: {user: Nobody}}", "approve.user: unknown user Nobody"),
        (
            "- {name: a, on: order.received, approve: {role: approver}, escalate_to: {role: manager}}",
            "escalate_to needs escalate_after",
        ),
        ("- {name: a, on: order.received}", "needs at least one step"),
        ("- {name: a, on: order.received, auto_approve: true, colour: red}", "colour: unknown field"),
    ],
)
async def test_bad_rules_name_the_rule_and_field_and_change_nothing(services, text, message):
    await seed(services)
    await rules(services, SPEC_RULES)
    with pytest.raises(WorkflowError) as error:
        await rules(services, text)
    assert message in error.value.message
    no = await place(services, customer="C001", items={"TEA-001": 1})
    assert (await detail(services, no))["status"] == "awaiting_payment"  # old rules still in force


async def test_notify_steps_follow_their_trigger_and_condition(services):
    from sqlalchemy import select

    from bot.events.dispatcher import deliver_pending
    from bot.models import ChatMessage

    await seed(services, stock={("TEA-001", "SH"): 25}, safety={"TEA-001": 20})
    await rules(
        services,
        """
- name: tell-manager-big-confirmed
  on: order.confirmed
  when: order.total > 1000
  notify: {role: manager, message: a big order was confirmed}
- name: low-stock-to-finance
  on: stock.low
  when: event.available < 10
  notify: {user: 王芳}
""",
    )
    big = await place(services, customer="C001", items={"TEA-001": 9})  # 1,152.00; TEA-001 left 16: low, not < 10
    await place(services, customer="C001", items={"TEA-001": 1})  # 128.00: no rule
    await deliver_pending(services)
    async with services.sessions() as session:
        texts = {(m.user_id, m.text) for m in await session.scalars(select(ChatMessage))}
    said = {text for _, text in texts}
    assert f"tell-manager-big-confirmed: a big order was confirmed ({big})" in said
    assert not any(t and t.startswith("Rule low-stock-to-finance") for t in said)  # 16 available is not < 10
    from core.orders.backorders import receive

    async with services.unit_of_work(SYSTEM) as ctx:
        await receive(ctx, "TEA-001", "SH", 20)  # 36 available: the alert is re-armed
    await place(services, customer="C001", items={"TEA-001": 30}, payment_terms="cod")  # 6 left: < 10
    await deliver_pending(services)
    async with services.sessions() as session:
        said = [m.text for m in await session.scalars(select(ChatMessage))]
    assert said.count("Rule low-stock-to-finance: stock.low TEA-001") == 1


async def test_editing_a_pending_order_voids_its_approval_and_runs_the_rules_again(services):
    from core.errors import ConcurrencyConflict
    from core.orders import confirmation
    from core.orders.placement import DraftLine, OrderEdit, edit_order
    from tests.support.service_calls import as_user

    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C002", items={"TEA-001": 40})
    seen = (await detail(services, no))["version"]  # what the approver's card was bound to
    # Sales cuts the order below the review limit: the rules now confirm it without review
    await as_user(services, "李雷", lambda ctx: edit_order(ctx, no, OrderEdit(lines=(DraftLine("TEA-001", 4),))))
    order = await detail(services, no)
    assert order["status"] == "awaiting_payment"
    assert [line["qty"] for line in order["lines"]] == [4]
    assert [h["action"] for h in order["history"]][2:4] == ["edit", "confirm"]
    # A tap on the old approval is refused: it approved something else
    with pytest.raises(ConcurrencyConflict):
        await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no, expected_version=seen))


async def test_an_edit_that_still_needs_review_asks_again(services):
    from core.orders.placement import DraftLine, OrderEdit, edit_order
    from tests.support.service_calls import as_user

    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, SPEC_RULES)
    no = await place(services, customer="C002", items={"TEA-001": 40})
    await as_user(services, "李雷", lambda ctx: edit_order(ctx, no, OrderEdit(lines=(DraftLine("TEA-001", 45),))))
    assert (await detail(services, no))["status"] == "pending_approval"
    assert len(await approval_requests(services)) == 2  # a fresh request for the new content


TWO_LEVELS = """
- name: big-orders-two-levels
  on: order.received
  when: order.total > 5000
  approve: [{role: approver}, {user: 经理}]
"""


async def test_approval_in_two_levels_in_sequence(services):
    from core.auth import PermissionDenied
    from core.orders import confirmation
    from tests.support.service_calls import as_user

    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(services, TWO_LEVELS)
    no = await place(services, customer="C002", items={"TEA-001": 40})
    [first] = await approval_requests(services)
    assert (first["approvers"], first["level"], first["levels"]) == ({"role": "approver"}, 0, 2)
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    assert (await detail(services, no))["status"] == "pending_approval"  # the second step is still open
    second = (await approval_requests(services))[1]
    assert (second["approvers"], second["level"]) == ({"user": "经理"}, 1)
    with pytest.raises(PermissionDenied, match="waits for 经理"):
        await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    await as_user(services, "经理", lambda ctx: confirmation.approve(ctx, no))
    assert (await detail(services, no))["status"] == "awaiting_payment"


async def test_all_of_a_role_must_approve(services):
    from core.orders import confirmation
    from core.orders.errors import AlreadyApproved
    from core.users.models import ChatIdentity, User
    from tests.support.service_calls import as_user

    await seed(services, stock={("TEA-001", "SH"): 100})
    async with services.unit_of_work(SYSTEM) as ctx:  # a second finance person
        ctx.session.add(
            User(
                name="钱会计",
                roles=["finance"],
                warehouses=[],
                identities=[ChatIdentity(platform="console", external_id="qian")],
            )
        )
    await rules(
        services,
        """
- name: finance-board
  on: order.received
  when: order.total > 5000
  approve: {role: finance, mode: all}
""",
    )
    no = await place(services, customer="C002", items={"TEA-001": 40})
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    assert (await detail(services, no))["status"] == "pending_approval"
    with pytest.raises(AlreadyApproved, match="already approved"):
        await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, no))
    await as_user(services, "钱会计", lambda ctx: confirmation.approve(ctx, no))
    assert (await detail(services, no))["status"] == "awaiting_payment"
    steps = [h for h in (await detail(services, no))["history"] if h["action"] == "approve_step"]
    assert [s["actor"] for s in steps] == ["王芳", "钱会计"]


async def test_notify_a_group_chat_goes_through_the_outbox(services):
    from sqlalchemy import select

    from bot.events.dispatcher import deliver_pending
    from bot.outbox.models import OutboxMessage

    await seed(services, stock={("TEA-001", "SH"): 100})
    await rules(
        services,
        """
- name: ops-room
  on: order.confirmed
  notify: {chat: "dingtalk:cidOpsRoom"}
""",
    )
    no = await place(services, customer="C001", items={"TEA-001": 1})
    await deliver_pending(services)
    async with services.sessions() as session:
        [row] = list(await session.scalars(select(OutboxMessage)))
    assert (row.platform, row.recipient) == ("dingtalk", "cidOpsRoom")
    assert row.payload == {"text": f"规则 ops-room：order.confirmed {no}"}  # DingTalk defaults to Chinese


async def test_reloading_the_file_changes_what_the_next_order_does(services, tmp_path):
    from bot.wiring import load_master_file

    await seed(services, stock={("TEA-001", "SH"): 100})
    services.review_policy = WorkflowReview()
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "workflows:\n" + "".join("  " + line + "\n" for line in SPEC_RULES.strip().splitlines()), encoding="utf-8"
    )
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_file(ctx, rules_file)
    first = await place(services, customer="C002", items={"TEA-001": 40})
    assert (await detail(services, first))["status"] == "pending_approval"
    # The admin raises the limit to 10,000 and reloads
    rules_file.write_text(
        rules_file.read_text(encoding="utf-8").replace("order.total > 5000", "order.total > 10000"), encoding="utf-8"
    )
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_master_file(ctx, rules_file)
    second = await place(services, customer="C002", items={"TEA-001": 40})
    assert (await detail(services, second))["status"] == "awaiting_payment"


async def test_a_chinese_reader_reads_why_an_order_waits_in_chinese(tmp_path):
    # Given an order over the approval threshold (the demo loads no rules), placed in English
    services = await demo_services(tmp_path)
    try:
        placed = await gateway.message(services, Inbound("console", "lilei", "lilei"), "/neworder C002 TEA-001*45")
        number = order_no(placed.texts[0])
        # when 王芳 asks after it on DingTalk (Chinese), the reason is in Chinese
        await bind(services, "dingtalk", {"王芳": "wangfang"})
        asked = await gateway.message(
            services, Inbound("dingtalk", user="wangfang", chat="wangfang"), f"/查单 {number}"
        )
        assert "待审批：订单总额 5660.00 超过审批阈值 5000" in asked.texts[0]
        # and so is her approval card's
        async with services.reading() as session:
            card = (await session.scalars(select(Card).where(Card.order_no == number))).one()
        shown = str(render(card, Translator("zh-CN"), services.settings.timezone).to_dict())
        assert "原因：订单总额 5660.00 超过审批阈值 5000" in shown
        # while the stored reason, which the API and webhooks show, stays as it was
        assert (await detail(services, number))["review_reason"] == "total 5660.00 is above the approval threshold 5000"
    finally:
        await services.close()
