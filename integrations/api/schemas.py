"""The REST API's wire shapes, as pydantic v2 models: the same models validate requests and write
the OpenAPI document (``openapi.py``), so the two cannot drift.

Request models are strict and closed (``extra="forbid"``): what the schema says is refused, is,
so a client (or schemathesis) never has a schema-invalid request accepted. Money is a decimal
string with a pattern on the wire both ways; pydantic's own ``Decimal`` schema (``number`` or
``string`` without a pattern) would call ``""`` valid and then refuse it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from core.orders.status import OrderKind, OrderStatus, PaymentStatus, PaymentTerms, ReturnStatus, ShipmentStatus

MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
Money = Annotated[str, StringConstraints(pattern=MONEY_PATTERN), Field(examples=["128.00"])]
Percent = Annotated[str, StringConstraints(pattern=PERCENT_PATTERN), Field(examples=["5"])]
# Printable text without control characters: what a database column and a log line can keep.
_TEXT = r"^[^\x00-\x1f\x7f]*$"
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Text = Annotated[str, StringConstraints(max_length=500, pattern=_TEXT)]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
]


def _whole(value: Any) -> Any:
    """JSON Schema counts ``3.0`` as an integer; so does the API (strict mode alone would not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MAX_QTY = 1_000_000
# The constraints sit on the int itself, before the validator wraps it: that way pydantic writes
# them into the schema as minimum/maximum (after it, they would leak out as "ge"/"le").
Qty = Annotated[int, Field(ge=1, le=MAX_QTY), BeforeValidator(_whole)]
Delta = Annotated[int, Field(ge=-MAX_QTY, le=MAX_QTY), BeforeValidator(_whole)]
_SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def sku_quantities(what: str) -> Any:
    """``{"TEA-001": 2}``: SKU to quantity. Written out by hand because pydantic would put the key
    pattern in ``patternProperties``, which lets keys that miss the pattern through unchecked."""
    schema = {
        "type": "object",
        "description": what,
        "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": _SKU_PATTERN},
        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_QTY},
        "minProperties": 1,
        "maxProperties": 200,
    }
    return Annotated[dict[Code, Qty], Field(min_length=1, max_length=200), WithJsonSchema(schema)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Projection(Response):
    """A response made from a core read model: what the core adds later is left out (until it is
    documented here), so the API's shape changes only when this file does."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


# --- errors ---------------------------------------------------------------------------------------


class FieldError(Response):
    """One thing wrong with the request: where (a JSON pointer-like path) and what."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(Response):
    """RFC 9457 problem details; ``code`` is the error catalogue's stable code, ``detail`` is in the
    language of ``Accept-Language`` (English or 简体中文)."""

    type: str = Field(examples=["https://oms.example/problems/order_not_found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(examples=["order_not_found"])
    params: dict[str, Any] = Field(default_factory=dict)
    errors: list[FieldError] | None = None


# --- orders ---------------------------------------------------------------------------------------


class OrderLineIn(Request):
    sku: Code
    qty: Qty


class Address(Request):
    """An address for this order only, instead of one of the customer's stored ones."""

    contact: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_TEXT)]
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=_TEXT)]
    province: Annotated[str, StringConstraints(max_length=64, pattern=_TEXT)] | None = None
    city: Annotated[str, StringConstraints(max_length=64, pattern=_TEXT)] | None = None
    line: Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=_TEXT)]
    postcode: Annotated[str, StringConstraints(max_length=16, pattern=_TEXT)] | None = None


class OrderIn(Request):
    """A new order, priced and validated exactly as one typed in chat."""

    customer: Code
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=200)]
    payment_terms: PaymentTerms = PaymentTerms.PREPAID
    coupon: Code | None = None
    discount_percent: Percent = "0"
    address_label: Code | None = None
    ship_to: Address | None = None
    note: Text | None = None
    external_ref: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_TEXT)] | None = Field(
        default=None, description="Your own id for the order: placing it again returns the first order."
    )


class ApproveIn(Request):
    note: Text | None = None


class ReasonIn(Request):
    reason: Reason


class PayIn(Request):
    reference: Annotated[str, StringConstraints(max_length=128, pattern=_TEXT)] | None = None


class ShipIn(Request):
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^\S(.*\S)?$")]
    tracking_no: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")]
    warehouse: Code | None = Field(default=None, description="Needed when the order ships from several warehouses.")
    lines: sku_quantities("SKU to quantity; omitted: everything reserved for the warehouse.") | None = None


class CustomerRef(Projection):
    code: str
    name: str
    tier: str


class Allocation(Projection):
    warehouse: str
    sku: str
    qty: int
    state: Literal["reserved", "shipped"]


class OrderLineOut(Projection):
    sku: str
    name: str | None
    qty: int
    list_price: Money
    unit_price: Money
    line_total: Money
    shipped_qty: int
    returned_qty: int
    allocations: list[Allocation]


class TrackingEvent(Projection):
    at: AwareDatetime
    location: str | None
    description: str | None


class ShipmentOut(Projection):
    carrier: str
    tracking_no: str
    status: ShipmentStatus
    exception_reason: str | None
    lines: dict[str, int]
    last_event: TrackingEvent | None


class ReturnSummary(Projection):
    rma_no: str
    status: ReturnStatus
    resolution: str
    refund_amount: Money
    reason: str | None


class WorkOrderOut(Projection):
    """A make-to-order line's work order."""

    mo_no: str
    status: str
    sku: str
    qty: int


class HistoryEntry(Projection):
    at: AwareDatetime
    action: str
    from_: str | None = Field(alias="from")
    to: str | None
    actor: str
    source: str
    reason: str | None
    entity: str

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra={"additionalProperties": False},
    )


class OrderSummary(Response):
    order_no: str
    kind: OrderKind = Field(description="`contract`: a project order (milestones, costs) instead of goods.")
    status: OrderStatus
    payment_status: PaymentStatus
    payment_terms: PaymentTerms
    channel: str
    customer: str = Field(description="The customer's code.")
    total: Money
    currency: str
    version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class OrderDetail(Projection):
    order_no: str
    kind: OrderKind = Field(description="`contract`: a project order (milestones, costs) instead of goods.")
    contract: dict[str, Any] | None = Field(description="A contract order's project, milestones and figures.")
    status: OrderStatus
    payment_status: PaymentStatus
    payment_terms: PaymentTerms
    channel: str
    channel_order_id: str | None
    channel_order_no: str | None
    version: int = Field(description="Send it back as `If-Match` to act only on this version.")
    customer: CustomerRef
    ship_to: dict[str, Any]
    lines: list[OrderLineOut]
    subtotal: Money
    discount_total: Money
    total: Money
    currency: str
    paid_amount: Money
    refunded_amount: Money
    price_breakdown: dict[str, Any]
    hold_reasons: list[dict[str, Any]]
    review_reason: str | None
    allocation: dict[str, Any]
    shipments: list[ShipmentOut]
    returns: list[ReturnSummary]
    work_orders: list[WorkOrderOut]
    created_at: AwareDatetime
    history: list[HistoryEntry]


class OrderList(Response):
    data: list[OrderSummary]
    has_more: bool


# --- products, customers, stock, returns --------------------------------------------------------------


class ProductOut(Response):
    sku: str
    name: str
    price: Money
    product_line: str | None
    kit: bool
    make_to_order: bool = Field(description="A shortage of it becomes a work order (a bill of materials).")
    active: bool


class ProductList(Response):
    data: list[ProductOut]
    has_more: bool


class CustomerOut(Response):
    code: str
    name: str
    tier: str
    phone: str | None
    email: str | None
    credit_limit: Money
    outstanding_balance: Money


class CustomerList(Response):
    data: list[CustomerOut]
    has_more: bool


class WarehouseLevel(Projection):
    warehouse: str
    name: str
    on_hand: int
    reserved: int
    available: int


class StockTotals(Projection):
    on_hand: int
    reserved: int
    available: int


class StockOut(Projection):
    sku: str
    name: str
    kit: bool
    safety_stock: int
    warehouses: list[WarehouseLevel]
    total: StockTotals


class ReceiptIn(Request):
    sku: Code
    warehouse: Code
    qty: Qty
    reason: Text | None = None


class AdjustmentIn(Request):
    sku: Code
    warehouse: Code
    delta: Delta
    reason: Reason


class StockMoved(Response):
    stock: StockOut
    served_orders: list[str] = Field(description="Backordered orders the new stock was allocated to.")


class ReturnIn(Request):
    order_no: Code
    lines: sku_quantities("SKU to the quantity to return.")
    reason: Reason
    resolution: Literal["refund", "exchange"] = "refund"


class ReturnOut(Response):
    rma_no: str
    order_no: str
    status: ReturnStatus
    resolution: str
    reason: str | None
    refund_amount: Money
    lines: dict[str, int]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ReturnList(Response):
    data: list[ReturnOut]
    has_more: bool


def money(value: Decimal) -> str:
    return f"{value:f}"
