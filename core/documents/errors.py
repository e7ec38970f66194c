"""Refusals for printable documents and exports."""

from __future__ import annotations

from core.errors import N_, Conflict, DomainError, InvalidInput, NotFound


class NothingToPick(NotFound):
    code = "nothing_to_pick"
    template = N_("Nothing is ready to pick in {warehouse}.")
    warehouse: str


class ContractHasNoSlip(Conflict):
    code = "contract_has_no_slip"
    template = N_(
        "{order_no} is a project contract: it ships no goods, so it has no delivery note; "
        "its milestones are on /order and the statement."
    )
    order_no: str


class BadMonth(InvalidInput):
    code = "bad_month"
    template = N_("{month} is not a month: write it as YYYY-MM, e.g. 2026-11.")
    month: str


class BadSince(InvalidInput):
    code = "bad_since"
    template = N_("{since} is not a period: write 30d, 12h or a date like 2026-11-01.")
    since: str


class UnknownStatus(InvalidInput):
    code = "unknown_status"
    template = N_("{status} is not an order status.")
    status: str


class UnknownFormat(InvalidInput):
    code = "unknown_format"
    template = N_("{format} is not an export format: use csv or xlsx.")
    format: str


class TemplateBroken(DomainError):
    """A document template (shipped or an admin's copy) cannot be rendered."""

    code = "template_broken"
    template = N_("The template {file} is broken at line {line}: {problem}")
    file: str
    line: int
    problem: str


class TemplateMissing(NotFound):
    code = "template_missing"
    template = N_("There is no template {file}.")
    file: str


class ResourceRefused(DomainError):
    """A template asked for something outside its folder (a local file, a web address)."""

    code = "resource_refused"
    template = N_("The template {file} may only use files in its own folder, not {url}.")
    file: str
    url: str
