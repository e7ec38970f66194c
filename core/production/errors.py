"""Refusals of make-to-order manufacturing: work orders and bills of materials."""

from __future__ import annotations

from core.errors import N_, Action, Conflict, InvalidInput, NotFound
from core.production.models import WorkOrderStatus


class WorkOrderNotFound(NotFound):
    code = "work_order_not_found"
    template = N_("Work order {mo_no} does not exist.")
    mo_no: str


class WorkOrderTransitionRefused(Conflict):
    code = "work_order_invalid_transition"
    template = N_("Cannot {action} {mo_no}: it is {state}.")
    action: Action
    mo_no: str
    state: WorkOrderStatus


class MaterialsMissing(Conflict):
    code = "work_order_materials_missing"
    template = N_("Cannot start {mo_no}: {missing} of its materials are not on the shelves yet.")
    mo_no: str
    missing: int


class WorkOrderNeedsReason(InvalidInput):
    code = "work_order_needs_reason"
    template = N_("Give a reason to call off {mo_no}: /mo cancel {mo_no} reason")
    mo_no: str
