"""What each API scope lets a key do, in the permissions the roles are made of.

Stripe's restricted keys, in our words: a scope is a resource and read or write. Products and
customers have no permission of their own (every role may look them up in chat), so their scopes
grant nothing in the services and the REST API checks them itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.auth import Permission as P
from core.errors import N_, InvalidInput

SCOPES: dict[str, frozenset[P]] = {
    "orders:read": frozenset({P.ORDER_VIEW}),
    "orders:write": frozenset({P.ORDER_VIEW, P.ORDER_CREATE, P.ORDER_EDIT, P.ORDER_CANCEL}),
    "orders:approve": frozenset({P.ORDER_VIEW, P.ORDER_APPROVE}),
    "payments:write": frozenset({P.ORDER_VIEW, P.PAYMENT_CONFIRM}),
    "fulfilment:write": frozenset({P.ORDER_VIEW, P.FULFIL}),
    "stock:read": frozenset({P.STOCK_VIEW}),
    "stock:write": frozenset({P.STOCK_VIEW, P.STOCK_MOVE}),
    "returns:read": frozenset({P.ORDER_VIEW}),
    "returns:write": frozenset({P.ORDER_VIEW, P.RETURN_REQUEST, P.RETURN_MANAGE, P.REFUND}),
    "products:read": frozenset(),
    "customers:read": frozenset(),
    "reports:read": frozenset({P.REPORT_VIEW}),
    "work_orders:read": frozenset({P.STOCK_VIEW}),  # an MES following production
    "work_orders:write": frozenset({P.STOCK_VIEW, P.PRODUCTION}),
    "webhooks:manage": frozenset({P.WEBHOOK_MANAGE}),
}


class UnknownScope(InvalidInput):
    code = "unknown_scope"
    template = N_("Unknown scope {scope}. Scopes: {known}.")
    scope: str
    known: str


def checked(scopes: Iterable[str]) -> list[str]:
    """The scopes as given, sorted and without repeats; an unknown one is refused by name."""
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    for scope in wanted:
        if scope not in SCOPES:
            raise UnknownScope(scope=scope, known=", ".join(SCOPES))
    return wanted


def permissions_for(scopes: Iterable[str]) -> frozenset[P]:
    return frozenset(p for s in scopes for p in SCOPES.get(s, ()))
