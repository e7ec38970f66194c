"""The declared lifecycle: every SPEC state is reachable, and refusals change nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.errors import InvalidTransition
from core.orders.lifecycle import ORDER_MACHINE, PICK_STEPS, REVIEW, can, ends_review, fire, fire_return
from core.orders.status import OrderStatus as S
from core.orders.status import PaymentStatus, PaymentTerms, ReturnStatus


def order(status: S, terms=PaymentTerms.PREPAID, paid=PaymentStatus.UNPAID):
    return SimpleNamespace(status=status.value, order_no="SO-100001", payment_terms=terms, payment_status=paid)


def test_every_status_is_declared_in_the_machine():
    assert {s.name for s in S} == set(ORDER_MACHINE.states)


@pytest.mark.parametrize(
    "path",
    [
        [
            "confirm",
            "allocate",
            "await_payment",
            "release_to_pick",
            "start_picking",
            "pack",
            "ship",
            "deliver",
            "complete",
        ],
        ["request_approval", "approve", "backorder", "allocate", "release_to_pick"],
        ["hold", "revalidate", "confirm"],
        ["request_approval", "reject"],
    ],
)
def test_paths_of_the_spec_are_possible(path):
    o = order(S.RECEIVED, terms=PaymentTerms.CREDIT)
    for trigger in path:
        fire(o, trigger)
    assert isinstance(o.status, S)


def test_loaded_rows_with_plain_string_status_can_fire():
    o = order(S.PACKED)
    assert fire(o, "ship_part") == (S.PACKED, S.PARTIALLY_SHIPPED)
    assert fire(o, "start_picking") == (S.PARTIALLY_SHIPPED, S.PICKING)


@pytest.mark.parametrize("state", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.COMPLETED, S.CANCELLED, S.REJECTED])
def test_cancel_after_shipping_is_refused_with_the_state_named(state):
    o = order(state)
    said = state.value.replace("_", " ")
    with pytest.raises(InvalidTransition, match=f"Cannot cancel SO-100001: it is {said}.") as refused:
        fire(o, "cancel")
    assert refused.value.code == "invalid_transition"
    assert refused.value.params["state"] == state.value
    assert S(o.status) == state


@pytest.mark.parametrize(
    "state",
    [
        S.RECEIVED,
        S.ON_HOLD,
        S.PENDING_APPROVAL,
        S.CONFIRMED,
        S.BACKORDERED,
        S.ALLOCATED,
        S.AWAITING_PAYMENT,
        S.READY_TO_PICK,
        S.PICKING,
        S.PACKED,
    ],
)
def test_anything_before_shipping_can_be_cancelled(state):
    assert fire(order(state), "cancel")[1] == S.CANCELLED


def test_prepaid_unpaid_order_may_not_go_to_the_warehouse():
    o = order(S.AWAITING_PAYMENT)
    with pytest.raises(InvalidTransition, match="it is awaiting payment"):
        fire(o, "release_to_pick")
    assert S(o.status) == S.AWAITING_PAYMENT
    o.payment_status = PaymentStatus.PAID
    assert fire(o, "release_to_pick")[1] == S.READY_TO_PICK


def test_cod_order_goes_to_the_warehouse_unpaid():
    assert fire(order(S.ALLOCATED, terms=PaymentTerms.COD), "release_to_pick")[1] == S.READY_TO_PICK


def test_unknown_trigger_is_a_programming_error():
    with pytest.raises(ValueError):
        fire(order(S.RECEIVED), "teleport")


def test_return_lifecycle():
    rma = SimpleNamespace(status=ReturnStatus.REQUESTED.value, rma_no="RMA-100001")
    for trigger in ("approve", "receive", "inspect", "refund", "close"):
        fire_return(rma, trigger)
    assert rma.status == ReturnStatus.CLOSED
    with pytest.raises(InvalidTransition, match="Cannot refund RMA-100001: it is closed"):
        fire_return(rma, "refund")


@pytest.mark.parametrize("paid", [PaymentStatus.UNPAID, PaymentStatus.PAID])
@pytest.mark.parametrize("state", list(S))
def test_can_says_exactly_what_fire_would_do(state, paid):
    for trigger in ORDER_MACHINE.events:
        asked, tried = order(state, paid=paid), order(state, paid=paid)
        try:
            fire(tried, trigger)
            moved = True
        except InvalidTransition:
            moved = False
        assert can(asked, trigger) is moved, (state, trigger)
        assert asked.status == state.value  # asking moves nothing


def test_actions_outside_the_table_are_allowed_where_the_lifecycle_says():
    assert [s for s in S if can(order(s), "request_return")] == [
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
        S.DELIVERED,
        S.COMPLETED,
    ]
    assert [s for s in S if can(order(s), "fix_sku")] == [S.ON_HOLD]
    unpayable = {S.RECEIVED, S.ON_HOLD, S.REJECTED, S.CANCELLED}
    assert {s for s in S if not can(order(s), "pay")} == unpayable
    with pytest.raises(ValueError, match="unknown order action"):
        can(order(S.RECEIVED), "teleport")


def test_a_pick_card_offers_a_step_the_machine_has_from_each_state_it_covers():
    for state, trigger in PICK_STEPS.items():
        assert can(order(state, paid=PaymentStatus.PAID), trigger)
    # review ends with every way out of it, so an approval card closes on each
    assert {t for t in ORDER_MACHINE.events if can(order(REVIEW), t)} == {"approve", "reject", "edit", "cancel"}
    assert ends_review(REVIEW) and not ends_review(S.RECEIVED)
