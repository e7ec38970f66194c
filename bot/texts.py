"""Domain errors in the reader's language: the error's own template, its parameters translated.

There is no table of error texts here: each error declares its one English template (marked for
extraction where it is declared), and the catalogue translates it. Parameters that are words to a
reader (a state, a permission, a role, an action, a usage line) are translated before they are
put in; codes, numbers and names are put in as they are.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, Translator
from bot.labels import action, field, payment, return_status, role, shipment_status, status, work_order_status
from bot.router import Usage
from core.auth import Permission, Role
from core.errors import Action, DomainError, Field, plain
from core.orders.status import OrderStatus, PaymentStatus, PaymentTerms, ReturnStatus, ShipmentStatus
from core.production.models import WorkOrderStatus

LIST_SEPARATOR = N_(", ")  # between the items of a list parameter (warehouses, permissions)


def error_text(_: Translator, error: DomainError) -> str:
    return _(error.template, **{name: shown(_, value) for name, value in error.params.items()})


def shown(_: Translator, value: Any) -> Any:
    """One parameter as the reader should see it (numbers stay numbers, for "{limit:,}")."""
    if isinstance(value, OrderStatus):
        return status(_, value)
    if isinstance(value, ReturnStatus):
        return return_status(_, value)
    if isinstance(value, WorkOrderStatus):
        return work_order_status(_, value)
    if isinstance(value, ShipmentStatus):
        return shipment_status(_, value)
    if isinstance(value, PaymentStatus | PaymentTerms):
        return payment(_, value)
    if isinstance(value, Role):
        return role(_, value)
    if isinstance(value, Permission | Usage):
        return _(str(value))
    if isinstance(value, Action):
        return action(_, value)
    if isinstance(value, Field):
        return field(_, value)
    if isinstance(value, list | tuple):
        return _(LIST_SEPARATOR).join(str(shown(_, v)) for v in value)
    return plain(value)
