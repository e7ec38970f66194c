"""The domain's error hierarchy.

Every refusal the product can give is a ``DomainError`` with a stable ``code`` (for APIs, tests
and the chat layer's translations) and an English message built from ``params``; the chat layer
turns a code plus params into a short reply in the user's language.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    code = "domain_error"
    template = "The request was refused."

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.params = params
        self.message = message or self.template.format(**params)
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "params": _jsonable(self.params)}


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)) for k, v in params.items()
    }


class NotFound(DomainError):
    code = "not_found"
    template = "{kind} {key} does not exist."


class InvalidInput(DomainError):
    code = "invalid_input"
    template = "{field}: {reason}"


class TooManyLines(InvalidInput):
    """An order longer than ``max_order_lines``: refused before any of it is looked up."""

    code = "too_many_lines"
    template = "An order can have at most {limit:,} lines; this one has {count:,}."

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(field="lines", count=count, limit=limit)


class QuantityTooLarge(InvalidInput):
    """A quantity above ``max_line_qty`` on an order line or a stock movement."""

    code = "qty_too_large"
    template = "{sku}: a quantity can be at most {limit:,}."

    def __init__(self, sku: str, limit: int) -> None:
        super().__init__(field="qty", sku=sku, limit=limit)


class TextTooLong(InvalidInput):
    """Free text longer than the column that keeps it (a note, a reason, a reference, a SKU)."""

    code = "text_too_long"
    template = "{field} can be at most {limit:,} characters long."

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(field=field, limit=limit)


class UnknownSku(NotFound):
    code = "unknown_sku"
    template = "Unknown SKU {sku}."

    def __init__(self, sku: str, suggestion: str | None = None) -> None:
        message = f"Unknown SKU {sku}." + (f" Did you mean {suggestion}?" if suggestion else "")
        super().__init__(message, sku=sku, suggestion=suggestion)


class InvalidTransition(DomainError):
    """The order (or return, or shipment) is in a state where this action is impossible."""

    code = "invalid_transition"
    template = "Cannot {action} {entity} {key}: it is {state}."


class PermissionDenied(DomainError):
    code = "forbidden"
    template = "{actor} may not {permission}."


class ConcurrencyConflict(DomainError):
    """Someone changed the record since the caller read it (stale card, lost race)."""

    code = "stale"
    template = "{entity} {key} changed meanwhile (now version {current}); reload and try again."


class DatabaseUnavailable(DomainError):
    """The database under the running server is gone (its SQLite file deleted or replaced), so
    nothing can be saved; ``reason`` ("missing", "replaced") is for the log."""

    code = "database_unavailable"
    template = "The database is unavailable; nothing was saved. Tell an admin."


class InsufficientStock(DomainError):
    """Every shortage at once, as Saleor reports them: {sku: missing quantity}."""

    code = "insufficient_stock"

    def __init__(self, shortages: dict[str, int]) -> None:
        detail = ", ".join(f"{sku} short by {qty}" for sku, qty in sorted(shortages.items()))
        super().__init__(f"Not enough stock: {detail}.", shortages=shortages)


class PricingError(DomainError):
    code = "pricing"
    template = "{reason}"


class UnknownCoupon(PricingError):
    code = "unknown_coupon"
    template = "Coupon {coupon} does not exist or is no longer valid."
