"""The declared lifecycle: every SPEC state is reachable, and refusals change nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.errors import InvalidTransition
from core.orders.lifecycle import ORDER_MACHINE, fire, fire_return
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
