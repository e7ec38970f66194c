"""The order lifecycle, declared once.

    received ─hold─▶ on_hold ─revalidate─▶ received
    on_hold | pending_approval ─edit─▶ received   (lines, address or terms changed; rules run again)
    received ─request_approval─▶ pending_approval ─approve─▶ confirmed | ─reject─▶ rejected
    received ─confirm─▶ confirmed
    confirmed ─allocate─▶ allocated      confirmed ─backorder─▶ backordered ─allocate─▶ allocated
    allocated ─await_payment─▶ awaiting_payment   (prepaid and unpaid)
    allocated | awaiting_payment ─release_to_pick─▶ ready_to_pick   (guard: paid, or not prepaid)
    ready_to_pick | partially_shipped ─start_picking─▶ picking ─pack─▶ packed
    packed | partially_shipped ─ship_part─▶ partially_shipped
    packed | partially_shipped ─ship─▶ shipped ─deliver─▶ delivered ─complete─▶ completed
    anything before shipping ─cancel─▶ cancelled
    confirmed ─finish_contract─▶ completed   (guard: a project contract, every milestone paid; core.contracts)

Guards are pure functions of the order. Callbacks do no I/O: the service records audit rows and
events after a successful ``fire``. Returns have their own, smaller machine below.

``can(order, action)`` answers "would this be allowed now?" for a trigger of the table and for the
few actions that leave the status alone (paying, asking for a return, fixing a SKU), so services,
cards and taps ask here instead of keeping lists of states of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import EventData, Machine, MachineError

from core.errors import Action, InvalidTransition
from core.orders.status import OrderKind, PaymentStatus, PaymentTerms
from core.orders.status import OrderStatus as S
from core.orders.status import ReturnStatus as R

CANCELLABLE = [
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
]


# Actions that do not move the order, and the states that allow them.
ALLOWED_IN: dict[str, frozenset[S]] = {
    # Finance records a payment once there is something to pay for, until the order is void.
    "pay": frozenset(S) - {S.RECEIVED, S.ON_HOLD, S.REJECTED, S.CANCELLED},
    "request_return": frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.COMPLETED}),
    "fix_sku": frozenset({S.ON_HOLD}),  # the one-tap fix of a mistyped SKU, then re-validation
}

# An approval card belongs to one stay in review: every way out (approve, reject, edit, cancel)
# ends the request it showed, even when an edited order comes straight back to review.
REVIEW = S.PENDING_APPROVAL

# The stretch a pick card covers, and the warehouse's next step it offers in each state.
PICK_STEPS: dict[S, str] = {S.READY_TO_PICK: "start_picking", S.PICKING: "pack"}


def _may_pick(event: EventData) -> bool:
    order = event.model
    return order.payment_terms != PaymentTerms.PREPAID or order.payment_status == PaymentStatus.PAID


def _is_contract(event: EventData) -> bool:
    return getattr(event.model, "kind", None) == OrderKind.CONTRACT


ORDER_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "hold", "source": S.RECEIVED, "dest": S.ON_HOLD},
    {"trigger": "revalidate", "source": S.ON_HOLD, "dest": S.RECEIVED},
    # An edit (lines, address, terms) voids pending approvals: the order is checked from the top.
    {"trigger": "edit", "source": [S.ON_HOLD, S.PENDING_APPROVAL], "dest": S.RECEIVED},
    {"trigger": "request_approval", "source": S.RECEIVED, "dest": S.PENDING_APPROVAL},
    {"trigger": "confirm", "source": S.RECEIVED, "dest": S.CONFIRMED},
    {"trigger": "approve", "source": S.PENDING_APPROVAL, "dest": S.CONFIRMED},
    {"trigger": "reject", "source": S.PENDING_APPROVAL, "dest": S.REJECTED},
    {"trigger": "allocate", "source": [S.CONFIRMED, S.BACKORDERED], "dest": S.ALLOCATED},
    {"trigger": "backorder", "source": S.CONFIRMED, "dest": S.BACKORDERED},
    {"trigger": "await_payment", "source": S.ALLOCATED, "dest": S.AWAITING_PAYMENT},
    {
        "trigger": "release_to_pick",
        "source": [S.ALLOCATED, S.AWAITING_PAYMENT],
        "dest": S.READY_TO_PICK,
        "conditions": [_may_pick],
    },
    {"trigger": "start_picking", "source": [S.READY_TO_PICK, S.PARTIALLY_SHIPPED], "dest": S.PICKING},
    {"trigger": "pack", "source": S.PICKING, "dest": S.PACKED},
    {"trigger": "ship_part", "source": [S.PACKED, S.PARTIALLY_SHIPPED], "dest": S.PARTIALLY_SHIPPED},
    {"trigger": "ship", "source": [S.PACKED, S.PARTIALLY_SHIPPED], "dest": S.SHIPPED},
    {"trigger": "deliver", "source": S.SHIPPED, "dest": S.DELIVERED},
    {"trigger": "complete", "source": S.DELIVERED, "dest": S.COMPLETED},
    {"trigger": "cancel", "source": CANCELLABLE, "dest": S.CANCELLED},
    {"trigger": "finish_contract", "source": S.CONFIRMED, "dest": S.COMPLETED, "conditions": [_is_contract]},
]

RETURN_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "approve", "source": R.REQUESTED, "dest": R.APPROVED},
    {"trigger": "reject", "source": R.REQUESTED, "dest": R.REJECTED},
    {"trigger": "receive", "source": R.APPROVED, "dest": R.RECEIVED},
    {"trigger": "inspect", "source": R.RECEIVED, "dest": R.INSPECTED},
    {"trigger": "refund", "source": R.INSPECTED, "dest": R.REFUNDED},
    {"trigger": "exchange", "source": R.INSPECTED, "dest": R.EXCHANGED},
    {"trigger": "close", "source": [R.REFUNDED, R.EXCHANGED, R.REJECTED, R.INSPECTED], "dest": R.CLOSED},
]


def _machine(states: type, transitions: list[dict[str, Any]]) -> Machine:
    # One machine per table, with no models attached: rows are passed to ``fire``, so binding a
    # loaded row costs nothing and its current state is simply its ``status`` column.
    return Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
        model_attribute="status",
        ignore_invalid_triggers=False,
    )


ORDER_MACHINE = _machine(S, ORDER_TRANSITIONS)
RETURN_MACHINE = _machine(R, RETURN_TRANSITIONS)


def _fire(
    machine: Machine, status_type: Callable[[str], Any], entity: str, key: Callable[[Any], str], row: Any, trigger: str
) -> tuple[Any, Any]:
    event = machine.events.get(trigger)
    if event is None:
        raise ValueError(f"unknown {entity} trigger {trigger!r}")
    before = status_type(row.status)
    row.status = before  # rows load plain strings; the machine looks Enum states up by name
    try:
        moved = event.trigger(row)
    except MachineError:
        moved = False
    if not moved:  # no such move from here, or a guard said no; the row is unchanged
        raise InvalidTransition(action=Action(trigger), entity=entity, key=key(row), state=before) from None
    row.status = status_type(row.status)
    return before, row.status


def can(order: Any, action: str) -> bool:
    """Whether ``action`` is allowed for the order now (for a trigger: its source state and its
    guards, without firing it)."""
    status = S(order.status)
    if action in ALLOWED_IN:
        return status in ALLOWED_IN[action]
    event = ORDER_MACHINE.events.get(action)
    if event is None:
        raise ValueError(f"unknown order action {action!r}")
    data = EventData(ORDER_MACHINE.get_state(status.name), event, ORDER_MACHINE, order, (), {})
    return any(all(c.check(data) for c in t.conditions) for t in event.transitions.get(status.name, []))


def ends_review(before: S) -> bool:
    """Whether a move of the order out of ``before`` ends the approval request its cards show."""
    return before == REVIEW


def fire(order: Any, trigger: str) -> tuple[S, S]:
    """Move an order by ``trigger`` or raise ``InvalidTransition`` naming its current state."""
    return _fire(ORDER_MACHINE, S, "order", lambda o: o.order_no, order, trigger)


def fire_return(rma: Any, trigger: str) -> tuple[R, R]:
    return _fire(RETURN_MACHINE, R, "return", lambda r: r.rma_no, rma, trigger)
