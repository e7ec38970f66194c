"""The chat layer's label tables cover exactly the values the core defines: a new status, role or
trigger without a translated name fails here instead of reaching chat as a raw ``snake_case`` word."""

from __future__ import annotations

from bot import labels
from core.auth import Role
from core.orders.lifecycle import ALLOWED_IN, ORDER_TRANSITIONS, RETURN_TRANSITIONS
from core.orders.status import OrderStatus, PaymentStatus, PaymentTerms, ReturnStatus, ShipmentStatus
from core.production.lifecycle import WORK_ORDER_TRANSITIONS
from core.production.models import WorkOrderStatus


def values(*enums) -> set[str]:
    return {member.value for enum in enums for member in enum}


def test_order_statuses() -> None:
    assert set(labels.STATUS) == values(OrderStatus)


def test_payment_statuses_and_terms() -> None:
    assert set(labels.PAYMENT) == values(PaymentStatus, PaymentTerms)


def test_roles() -> None:
    assert set(labels.ROLES) == values(Role)


def test_return_statuses() -> None:
    assert set(labels.RETURN_STATUS) == values(ReturnStatus)


def test_shipment_statuses() -> None:
    assert set(labels.SHIPMENT_STATUS) == values(ShipmentStatus)


def test_work_order_statuses() -> None:
    assert set(labels.WORK_ORDER_STATUS) == values(WorkOrderStatus)


def test_actions_are_the_triggers_of_the_state_machines() -> None:
    machines = (*ORDER_TRANSITIONS, *RETURN_TRANSITIONS, *WORK_ORDER_TRANSITIONS)
    triggers = {t["trigger"] for t in machines} | set(ALLOWED_IN)
    assert set(labels.ACTIONS) == triggers


def test_done_names_only_actions() -> None:
    assert set(labels.DONE) <= set(labels.ACTIONS)
