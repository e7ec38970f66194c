"""Refusals of the contract rules: one class per reason (the machinery is in ``core.errors``)."""

from __future__ import annotations

from decimal import Decimal

from core.errors import N_, Conflict, InvalidInput, NotFound
from core.orders.status import OrderStatus


class ContractValueNotPositive(InvalidInput):
    code = "contract_value_not_positive"
    template = N_("A contract needs a value above 0, not {value}.")
    value: str


class NoProjectName(InvalidInput):
    code = "no_project_name"
    template = N_('Name the contract\'s project, e.g. /contract C001 "机房改造" 280000.')


class NotAContract(Conflict):
    code = "not_a_contract"
    template = N_("{order_no} is not a project contract.")
    order_no: str


class ContractHasNoLines(Conflict):
    code = "contract_has_no_lines"
    template = N_("{order_no} is a project contract: it changes through its milestones (/milestone), not its lines.")
    order_no: str


class ContractNotRunning(Conflict):
    code = "contract_not_running"
    template = N_("{order_no} is {state}; milestones and costs are for a confirmed contract.")
    order_no: str
    state: OrderStatus


class ContractClosed(Conflict):
    code = "contract_closed"
    template = N_("{order_no} is {state}; its milestones can no longer change.")
    order_no: str
    state: OrderStatus


class MilestoneShareInvalid(InvalidInput):
    code = "milestone_share_invalid"
    template = N_(
        "A milestone's share is a percentage above 0 and at most 100 (30%) or an amount above 0, not {share}."
    )
    share: str


class MilestoneDueDateInvalid(InvalidInput):
    code = "milestone_due_date_invalid"
    template = N_("{text} is not a date; give the due date as YYYY-MM-DD, e.g. 2026-12-20.")
    text: str


class MilestonesExceedValue(Conflict):
    code = "milestones_exceed_value"
    template = N_(
        "Milestone {name} ({amount}) would take the milestones over the contract value {value}: "
        "{allocated} is already given to milestones, {left} is left."
    )
    name: str
    amount: Decimal
    value: Decimal
    allocated: Decimal
    left: Decimal


class MilestoneNotFound(NotFound):
    code = "milestone_not_found"
    template = N_("{order_no} has no milestone {seq}; it has {count}.")
    order_no: str
    seq: int
    count: int


class MilestoneOutOfOrder(Conflict):
    code = "milestone_out_of_order"
    template = N_("Milestone {seq} of {order_no} cannot be accepted before milestone {earlier} ({name}) is invoiced.")
    order_no: str
    seq: int
    earlier: int
    name: str


class MilestoneAlreadyAccepted(Conflict):
    code = "milestone_already_accepted"
    template = N_("Milestone {seq} of {order_no} was already accepted.")
    order_no: str
    seq: int


class MilestoneNotInReview(Conflict):
    code = "milestone_not_in_review"
    template = N_("Milestone {seq} of {order_no} does not wait for an approval.")
    order_no: str
    seq: int


class MilestoneAlreadyApproved(Conflict):
    code = "milestone_already_approved"
    template = N_("You have already approved milestone {seq} of {order_no}; it waits for someone else.")
    order_no: str
    seq: int


class ContractHasUnpaidInvoices(Conflict):
    code = "contract_has_unpaid_invoices"
    template = N_("Cannot cancel {order_no}: unpaid invoices {invoices}; finance settles or credits them first.")
    order_no: str
    invoices: list[str]


class NothingToPay(Conflict):
    code = "nothing_to_pay"
    template = N_("{order_no} has no unpaid milestone invoice.")
    order_no: str


class UnknownLabourRate(NotFound):
    code = "unknown_labour_rate"
    template = N_("No labour rate for {worker}; the master data's labour_rates name: {known}.")
    worker: str
    known: str


class HoursInvalid(InvalidInput):
    code = "hours_invalid"
    template = N_("{text} is not a number of hours; write it like 8h or 1.5h.")
    text: str


class NoCostForProduct(Conflict):
    code = "no_cost_for_product"
    template = N_("{sku} has no cost in the master data, so its use cannot be costed.")
    sku: str


class NotEnoughForProject(Conflict):
    code = "not_enough_for_project"
    template = N_("Cannot take {qty} {sku} for the project: {available} free in {warehouse}.")
    sku: str
    qty: int
    available: int
    warehouse: str
