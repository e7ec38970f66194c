"""The master-data file (SPEC §10) as typed rows, with errors that point at section, row and field.

Parsing checks each row on its own (types, ranges, required keys); references between rows and to
what is already in the database are checked by the loader, which knows both.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.auth import Role
from core.errors import N_, DomainError
from core.money import money

PLATFORMS = ("console", "dingtalk", "wecom", "slack", "telegram")


class MasterDataError(DomainError):
    """A row of the master-data file is wrong. Files are loaded by an admin with ``oms load``, so
    the problem is said in English, mostly in the words of the field validators."""

    code = "master_data"
    template = N_("{where}: {problem}")
    where: str
    problem: str


def _money(value: Any) -> Decimal:
    amount = money(value)
    if amount < 0:
        raise ValueError(f"must not be negative, got {amount}")
    return amount


def _upper(value: Any) -> str:
    if not isinstance(value, str | int):
        raise ValueError("must be text")
    text = str(value).strip().upper()
    if not text:
        raise ValueError("must not be empty")
    return text


def _key(value: Any) -> str:
    """A customer code: trimmed, case kept, because orders look customers up exactly as typed."""
    text = _text(value)
    if not text:
        raise ValueError("must not be empty")
    return text


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be text")
    return str(value).strip()


Money = Annotated[Decimal, BeforeValidator(_money)]
Code = Annotated[str, BeforeValidator(_upper)]
Key = Annotated[str, BeforeValidator(_key)]
Text = Annotated[str, BeforeValidator(_text)]
Qty = Annotated[int, Field(strict=True)]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseRow(Row):
    code: Code
    name: Text
    region: Text | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    priority: int = 100
    active: bool = True

    @property
    def key(self) -> str:
        return self.code


def _decimal(value: Any) -> Decimal:
    """A quantity or rate as written: YAML's 0.05 is read through its text, never as a binary float."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"must be a number, got {value!r}")
    if number != number.quantize(Decimal("0.0001")):
        raise ValueError(f"at most 4 decimal places, got {number}")
    return number


Measure = Annotated[Decimal, BeforeValidator(_decimal)]


class BomRow(Row):
    """One component of a bill of materials: ``qty`` per unit made, ``scrap_rate`` lost (0.05 = 5 %)."""

    sku: Code
    qty: Measure = Field(gt=0, le=1_000_000)
    scrap_rate: Measure = Field(default=Decimal("0"), ge=0, lt=1)


class ProductRow(Row):
    sku: Code
    name: Text
    price: Money | None = None
    cost: Money | None = None
    safety_stock: Qty = Field(default=0, ge=0)
    product_line: Text | None = None
    kit: dict[Code, Annotated[int, Field(strict=True, ge=1)]] | None = None
    make_to_order: bool = False
    bom: list[BomRow] | None = None
    active: bool = True

    @model_validator(mode="after")
    def _priced(self) -> ProductRow:
        if self.price is None and not self.kit:
            raise ValueError("price: a product needs a price (only a kit may leave it out)")
        if self.kit is not None and not self.kit:
            raise ValueError("kit: a kit needs at least one component")
        if self.kit and self.sku in self.kit:
            raise ValueError("kit: a kit cannot contain itself")
        if self.bom is not None and not self.bom:
            raise ValueError("bom: a bill of materials needs at least one component")
        if self.kit and (self.bom or self.make_to_order):
            raise ValueError("bom: a kit is packed from stock, not made; give the bill of materials to a product")
        for index, item in enumerate(self.bom or []):
            if item.sku == self.sku:
                raise ValueError(f"bom.{index}.sku: {self.sku} cannot be made of itself")
            if item.sku in [earlier.sku for earlier in (self.bom or [])[:index]]:
                raise ValueError(f"bom.{index}.sku: {item.sku} is listed twice")
        return self

    @property
    def key(self) -> str:
        return self.sku


class StockRow(Row):
    sku: Code
    warehouse: Code
    on_hand: Qty = Field(ge=0)
    location: Text | None = Field(default=None, max_length=64)  # bin or shelf, e.g. "A-03-2"

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.warehouse}"


class AddressRow(Row):
    label: Text = "default"
    contact: Text | None = None
    phone: Text | None = None
    province: Text | None = None
    city: Text | None = None
    line: Text | None = None
    postcode: Text | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class CustomerRow(Row):
    code: Key
    name: Text
    tier: Text = "standard"
    group: Text | None = None  # a distributor group: its price list and rebate agreement apply
    phone: Text | None = None
    email: Text | None = None
    credit_limit: Money = Decimal("0.00")
    addresses: list[AddressRow] = []

    @field_validator("addresses")
    @classmethod
    def _unique_labels(cls, addresses: list[AddressRow]) -> list[AddressRow]:
        labels = [a.label for a in addresses]
        if len(labels) != len(set(labels)):
            raise ValueError("two addresses share a label")
        return addresses

    @property
    def key(self) -> str:
        return self.code


class PriceItemRow(Row):
    sku: Code
    price: Money
    min_qty: Qty = Field(default=1, ge=1)


class PriceListRow(Row):
    """Who a list is for: ``customer`` (a code) > ``group`` > ``tier`` > ``channel`` > everyone."""

    name: Text
    tier: Text | None = None
    channel: Text | None = None
    group: Text | None = None
    customer: Key | None = None
    items: list[PriceItemRow] = []

    @model_validator(mode="after")
    def _one_buyer(self) -> PriceListRow:
        if self.customer and self.group:
            raise ValueError("customer: a list is for one customer or for a group, not both")
        return self

    @field_validator("items")
    @classmethod
    def _unique_breaks(cls, items: list[PriceItemRow]) -> list[PriceItemRow]:
        seen = set()
        for item in items:
            if (item.sku, item.min_qty) in seen:
                raise ValueError(f"{item.sku} has two prices for min_qty {item.min_qty}")
            seen.add((item.sku, item.min_qty))
        return items

    @property
    def key(self) -> str:
        return self.name


class PromotionRow(Row):
    kind: Literal["coupon", "spend_save", "bundle"]
    name: Text | None = None
    code: Code | None = None
    percent_off: Decimal | None = Field(default=None, gt=0, le=100)
    amount_off: Money | None = None
    min_spend: Money | None = None
    spend: Money | None = None
    save: Money | None = None
    repeat: bool = False
    bundle: dict[Code, Annotated[int, Field(strict=True, ge=1)]] | None = None
    bundle_price: Money | None = None
    active: bool = True

    @model_validator(mode="after")
    def _terms(self) -> PromotionRow:
        if self.kind == "coupon":
            if not self.code:
                raise ValueError("code: a coupon needs a code")
            if (self.percent_off is None) == (self.amount_off is None):
                raise ValueError("a coupon needs exactly one of percent_off and amount_off")
        elif self.kind == "spend_save":
            if not self.spend or not self.save:
                raise ValueError("spend_save needs spend and save, both above 0")
        elif not self.bundle or self.bundle_price is None:
            raise ValueError("a bundle needs bundle: {SKU: qty} and bundle_price")
        if self.kind != "coupon" and not self.name:
            raise ValueError("name: this promotion needs a name")
        return self

    @property
    def key(self) -> str:
        return self.name or self.code or ""

    def terms(self) -> dict[str, Any]:
        fields = ("percent_off", "amount_off", "min_spend", "spend", "save", "bundle_price")
        terms: dict[str, Any] = {f: str(getattr(self, f)) for f in fields if getattr(self, f) is not None}
        if self.repeat:
            terms["repeat"] = True
        if self.bundle:
            terms["bundle"] = dict(self.bundle)
        return terms


class RebateStepRow(Row):
    above: Money  # net sales in the period from which the rate applies to the whole volume
    rate: Decimal = Field(ge=0, le=100)  # percent


class RebateRow(Row):
    """A rebate agreement (返点) for one customer or one group: a percentage of each customer's net
    sales per period, by volume step, optionally only on one product line."""

    name: Text
    customer: Key | None = None
    group: Text | None = None
    period: Literal["month", "quarter", "year"] = "quarter"
    product_line: Text | None = None
    steps: list[RebateStepRow] = Field(min_length=1)
    active: bool = True

    @model_validator(mode="after")
    def _one_subject(self) -> RebateRow:
        if (self.customer is None) == (self.group is None):
            raise ValueError("customer: an agreement is for exactly one customer or one group")
        for index in range(1, len(self.steps)):
            above, before = self.steps[index].above, self.steps[index - 1].above
            if above <= before:
                raise ValueError(
                    f"steps.{index}.above: {above} overlaps the step before it (above {before});"
                    " each step must start higher than the one before"
                )
        return self

    @property
    def key(self) -> str:
        return self.name


class UserRow(Row):
    name: Text
    roles: list[Role] = Field(min_length=1)
    warehouses: list[Code] = []
    customer: Key | None = None
    locale: Literal["zh-CN", "en"] | None = None
    identities: dict[Literal[PLATFORMS], Text] = {}  # type: ignore[valid-type]
    active: bool = True

    @model_validator(mode="after")
    def _scope(self) -> UserRow:
        if Role.CUSTOMER in self.roles and not self.customer:
            raise ValueError("customer: a user with the customer role must name their customer code")
        return self

    @property
    def key(self) -> str:
        return self.name


CHANNEL_KINDS = ("shopify", "woocommerce", "douyin", "standard")


class ChannelRow(Row):
    """A sales channel; its secrets come from ``OMS_CHANNEL_<CODE>_SECRET`` / ``_TOKEN``, never the file."""

    code: Code = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
    kind: Literal[CHANNEL_KINDS]  # type: ignore[valid-type]
    name: Text
    shop_domain: Text | None = None
    default_tier: Text = "standard"
    sku_map: dict[Annotated[str, BeforeValidator(_text)], Code] = {}
    api_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    accept_test_orders: bool = False
    poll_minutes: int = Field(default=15, ge=0, le=24 * 60)  # reconciliation; 0 turns it off
    active: bool = True

    @property
    def key(self) -> str:
        return self.code


class LabourRateRow(Row):
    """What an hour of a person's (``张工``) or a role's (``电工``) work costs on a project contract."""

    name: Text = Field(min_length=1, max_length=100)
    rate: Money

    @property
    def key(self) -> str:
        return self.name


class WorkflowRow(BaseModel):
    """Only what identifies a rule is checked here; the workflow engine validates the rest."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    name: Text
    on: Text

    @property
    def key(self) -> str:
        return self.name


SECTIONS: dict[str, type[BaseModel]] = {
    "warehouses": WarehouseRow,
    "products": ProductRow,
    "stock": StockRow,
    "customers": CustomerRow,
    "price_lists": PriceListRow,
    "promotions": PromotionRow,
    "rebates": RebateRow,
    "users": UserRow,
    "channels": ChannelRow,
    "labour_rates": LabourRateRow,
    "workflows": WorkflowRow,
}


class MasterData(BaseModel):
    model_config = ConfigDict(frozen=True)
    warehouses: list[WarehouseRow] = []
    products: list[ProductRow] = []
    stock: list[StockRow] = []
    customers: list[CustomerRow] = []
    price_lists: list[PriceListRow] = []
    promotions: list[PromotionRow] = []
    rebates: list[RebateRow] = []
    users: list[UserRow] = []
    channels: list[ChannelRow] = []
    labour_rates: list[LabourRateRow] = []
    workflows: list[WorkflowRow] = []


def where(section: str, index: int, row: Any) -> str:
    """``stock row 2 (TEA-001@SH)``: the location every error message starts with."""
    key = getattr(row, "key", None) if not isinstance(row, dict) else _raw_key(section, row)
    return f"{section} row {index + 1}" + (f" ({key})" if key else "")


def _raw_key(section: str, row: dict[str, Any]) -> str | None:
    if section == "stock" and row.get("sku") and row.get("warehouse"):
        return f"{str(row['sku']).upper()}@{str(row['warehouse']).upper()}"
    for field in ("code", "sku", "name"):
        if row.get(field) not in (None, ""):
            upper = field == "sku" or (field == "code" and section != "customers")
            return str(row[field]).strip().upper() if upper else str(row[field]).strip()
    return None


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 scalars: only true/false are booleans and a leading zero keeps a number text.

    Under PyYAML's YAML 1.1 rules ``province: ON`` becomes ``True`` and ``phone: 057112345``
    becomes the octal number 12358885: silently wrong master data.
    """


_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)


def _yaml_problem(error: yaml.YAMLError, text: str) -> tuple[str, str]:
    """Where the mistake is, counted from 1 as editors do, and what it is.

    PyYAML marks where it noticed: for a quote or bracket left open that is the end of the file,
    a line past the last one, while the mistake is where the construct opened (its context mark).
    """
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return "the file", problem
    context, opened = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and opened is not None and mark.index >= len(text):
        return f"line {opened.line + 1}, column {opened.column + 1}", f"{problem} {context}"
    if context and opened is not None and opened.line != mark.line:
        problem += f", {context} at line {opened.line + 1}, column {opened.column + 1}"
    return f"line {mark.line + 1}, column {mark.column + 1}", problem


def parse_document(text: str) -> MasterData:
    try:
        document = yaml.load(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as error:
        at, problem = _yaml_problem(error, text)
        raise MasterDataError(where=at, problem=f"malformed YAML ({problem})") from None
    if document is None:
        return MasterData()
    if not isinstance(document, dict):
        raise MasterDataError(where="the file", problem="must be a mapping of sections (warehouses:, products:, ...)")
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise MasterDataError(where=str(unknown[0]), problem=f"unknown section; expected one of {', '.join(SECTIONS)}")
    parsed: dict[str, list[BaseModel]] = {}
    for section, model in SECTIONS.items():
        rows = document.get(section) or []
        if not isinstance(rows, list):
            raise MasterDataError(where=section, problem="must be a list of rows")
        parsed[section] = [_row(section, index, raw, model) for index, raw in enumerate(rows)]
    _check_unique(parsed)
    return MasterData(**parsed)


def _row(section: str, index: int, raw: Any, model: type[BaseModel]) -> BaseModel:
    location = where(section, index, raw if isinstance(raw, dict) else {})
    if not isinstance(raw, dict):
        raise MasterDataError(where=location, problem="must be a mapping of fields")
    # YAML 1.1 reads a bare ``on:`` key as the boolean true; a workflow's trigger is written that way.
    raw = {("on" if key is True else key): value for key, value in raw.items()}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        reason = f"{field}: {message}" if field else message
        if message.startswith(f"{field}:"):
            reason = message
        raise MasterDataError(where=location, problem=reason) from None


def _check_unique(parsed: dict[str, list[BaseModel]]) -> None:
    for section, rows in parsed.items():
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            key = row.key  # type: ignore[attr-defined]
            if key in seen:
                location = where(section, index, row)
                raise MasterDataError(where=location, problem=f"repeats row {seen[key] + 1}")
            seen[key] = index
