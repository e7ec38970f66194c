"""Refusals of rebate commands: no agreement, nothing to settle, a credit note already decided."""

from __future__ import annotations

from core.auth import PermissionDenied
from core.errors import N_, Conflict, InvalidInput, NotFound


class NoRebateAgreement(NotFound):
    code = "no_rebate_agreement"
    template = N_("{customer} has no rebate agreement.")
    customer: str


class NothingToSettle(Conflict):
    code = "nothing_to_settle"
    template = N_("{customer} has no unsettled rebate for {period}.")
    customer: str
    period: str


class SettlementPending(Conflict):
    code = "settlement_pending"
    template = N_("Credit note {note_no} for {period} already waits for finance.")
    note_no: str
    period: str


class CreditNoteNotFound(NotFound):
    code = "credit_note_not_found"
    template = N_("Credit note {note_no} does not exist.")
    note_no: str


class CreditNoteDecided(Conflict):
    code = "credit_note_decided"
    template = N_("Credit note {note_no} was already decided by {actor}.")
    note_no: str
    actor: str


class BadPeriod(InvalidInput):
    code = "bad_rebate_period"
    template = N_("{period} is not a period: write 2026-11, 2026-Q4 or 2026.")
    period: str


class OwnRebateOnly(PermissionDenied):
    code = "own_rebate_only"
    template = N_("You can only see your own account's rebate ({account}).")
    account: str
