"""The domain's catalogue of refusals.

Every refusal is a ``DomainError`` subclass with a stable ``code``, typed parameters (its fields,
declared as class annotations and passed by keyword) and one English ``template`` that names them.
``message`` renders the template in plain English for the CLI, logs and the API; the chat layer
renders the same template in the reader's language, translating parameters that are state names,
permissions, roles or actions. Templates are marked with ``N_`` where they are declared, so the
translation catalogue is extracted from the code and no second table can drift from it.

Where a rule refuses for different reasons, each reason is its own subclass with its own code and
sentence; nobody passes a prebuilt message.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, dataclass_transform

from core.orders.status import OrderStatus, ReturnStatus


def N_(message: str) -> str:
    """Marks a template for extraction into the translation catalogue; the core never translates."""
    return message


class Action(str):
    """The name of a state-machine trigger (``start_picking``), so a reader sees it as words."""


class Field(str):
    """The name of a stored field (``note``, ``tracking_no``), so a reader sees it as words."""


@dataclass_transform(kw_only_default=True, eq_default=False)
class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    code: ClassVar[str] = "domain_error"
    template: ClassVar[str] = N_("The request was refused.")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each error is a keyword-only dataclass: its annotations are its parameters, a raise site
        # names them all, and there is no positional argument left to pass a ready-made message in.
        super().__init_subclass__(**kwargs)
        dataclass(kw_only=True, eq=False)(cls)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its parameters, not its English text
        return _restore, (type(self), self.params)

    @property
    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} if hasattr(self, "__dataclass_fields__") else {}

    @property
    def message(self) -> str:
        return self.template.format(**{name: plain(value) for name, value in self.params.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "params": {k: _jsonable(v) for k, v in self.params.items()}}


def _restore(cls: type[DomainError], params: dict[str, Any]) -> DomainError:
    return cls(**params)


def plain(value: Any) -> Any:
    """A parameter as English words: ``awaiting_payment`` reads "awaiting payment"."""
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    if isinstance(value, Action | Field):
        return value.replace("_", " ")
    if isinstance(value, int | float):
        return value  # kept a number, so a template may format it ("{limit:,}")
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(plain(v)) for v in value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return str(value)  # a plain str, also for Action and other str subclasses
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


# --- families: catch these; raise their members --------------------------------------------------


class NotFound(DomainError):
    code = "not_found"
    template = N_("That does not exist.")


class InvalidInput(DomainError):
    """The request itself is malformed or incomplete; the reader can fix it by asking again."""

    code = "invalid_input"
    template = N_("That request is not complete or not valid.")


class Conflict(DomainError):
    """The request is fine, but the record is not in a state that allows it."""

    code = "conflict"
    template = N_("That cannot be done now.")


# --- things that do not exist ---------------------------------------------------------------------


class OrderNotFound(NotFound):
    code = "order_not_found"
    template = N_("Order {order_no} does not exist.")
    order_no: str


class ReturnNotFound(NotFound):
    code = "return_not_found"
    template = N_("Return {rma_no} does not exist.")
    rma_no: str


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    template = N_("Customer {customer} does not exist.")
    customer: str


class UserNotFound(NotFound):
    code = "user_not_found"
    template = N_("User {user} does not exist.")
    user: str


class WarehouseNotFound(NotFound):
    code = "warehouse_not_found"
    template = N_("Warehouse {warehouse} does not exist.")
    warehouse: str


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    template = N_("No shipment has tracking number {carrier} {tracking_no}.")
    carrier: str
    tracking_no: str


class AddressNotFound(NotFound):
    code = "address_not_found"
    template = N_("Customer {customer} has no address labelled {label}.")
    customer: str
    label: str


class OrderLineNotFound(NotFound):
    code = "order_line_not_found"
    template = N_("{order_no} has no line with SKU {sku}.")
    order_no: str
    sku: str


class UnknownSku(NotFound):
    code = "unknown_sku"
    template = N_("Unknown SKU {sku}.")
    sku: str


class UnknownSkuNearMatch(UnknownSku):
    code = "unknown_sku_near_match"
    template = N_("Unknown SKU {sku}. Did you mean {suggestion}?")
    suggestion: str


def unknown_sku(sku: str, suggestion: str | None) -> UnknownSku:
    return UnknownSkuNearMatch(sku=sku, suggestion=suggestion) if suggestion else UnknownSku(sku=sku)


# --- state and concurrency ------------------------------------------------------------------------


class InvalidTransition(Conflict):
    """The order (or return) is in a state where this action is impossible."""

    code = "invalid_transition"
    template = N_("Cannot {action} {key}: it is {state}.")
    action: Action
    entity: str
    key: str
    state: OrderStatus | ReturnStatus


class ConcurrencyConflict(Conflict):
    """Someone changed the record since the caller read it (stale card, lost race)."""

    code = "stale"
    template = N_("{key} was changed by someone else meanwhile; look at it again and retry.")
    entity: str
    key: str
    current: int


class ChangedMeanwhile(ConcurrencyConflict):
    """A race lost inside one transaction, where the record it was about is no longer known."""

    code = "changed_meanwhile"
    template = N_("Someone else changed this at the same moment; please try again.")
    entity: str = "order"
    key: str = ""
    current: int = 0


# --- input that is incomplete or malformed, shared by the core and the parsers ----------------------


class QuantityTooSmall(InvalidInput):
    code = "quantity_too_small"
    template = N_("{sku}: the quantity must be at least 1, not {qty}.")
    sku: str
    qty: int


class TooManyLines(InvalidInput):
    """An order longer than ``max_order_lines``: refused before any of it is looked up."""

    code = "too_many_lines"
    template = N_("An order can have at most {limit:,} lines; this one has {count:,}.")
    count: int
    limit: int


class QuantityTooLarge(InvalidInput):
    """A quantity above ``max_line_qty`` on an order line or a stock movement."""

    code = "qty_too_large"
    template = N_("{sku}: a quantity can be at most {limit:,}.")
    sku: str
    limit: int


class TextTooLong(InvalidInput):
    """Free text longer than the column that keeps it (a note, a reason, a reference, a SKU)."""

    code = "text_too_long"
    template = N_("{field} can be at most {limit:,} characters long.")
    field: Field
    limit: int


# --- the system itself ----------------------------------------------------------------------------


class DatabaseUnavailable(DomainError):
    """The database under the running server is gone (its SQLite file deleted or replaced), so
    nothing can be saved; ``reason`` ("missing", "replaced") is for the log."""

    code = "database_unavailable"
    template = N_("The database is unavailable; nothing was saved. Tell an admin.")
    reason: str
