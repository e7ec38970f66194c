"""The forgiving line-item grammar of chat and the CLI: ``TEA-001*2``, ``TEA-001 x2``, ``TEA-001×2``, ``TEA-001``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.i18n import N_
from core.errors import InvalidInput, QuantityTooSmall

_ITEM = re.compile(r"^(?P<sku>[A-Za-z0-9][A-Za-z0-9._/-]*?)(?:\s*[*×xX]\s*(?P<qty>-?\d+))?$")
_QTY_ONLY = re.compile(r"^[*×xX]\s*(?P<qty>-?\d+)$")
_COUNTED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*\s*[*×xX]\s*-?\d+$")


class QuantityBeforeSku(InvalidInput):
    code = "quantity_before_sku"
    template = N_("{token} is a quantity with no SKU before it; write SKU*QTY, e.g. TEA-001*2.")
    token: str


class UnreadableItem(InvalidInput):
    code = "unreadable_item"
    template = N_("Cannot read {token} as an item; write SKU*QTY, e.g. TEA-001*2.")
    token: str


class NoItems(InvalidInput):
    code = "no_items"
    template = N_("Name at least one item as SKU*QTY, e.g. TEA-001*2.")


def parse_line_items(tokens: Iterable[str]) -> list[tuple[str, int]]:
    """Parse tokens into (SKU, qty); a quantity may stand in its own token (``TEA-001 x2``)."""
    items: list[tuple[str, int]] = []
    for token in (t.strip() for t in tokens):
        if not token:
            continue
        lone = _QTY_ONLY.match(token)
        if lone:
            if not items:
                raise QuantityBeforeSku(token=token)
            sku, _ = items.pop()
            items.append((sku, _quantity(lone["qty"], sku)))
            continue
        match = _ITEM.match(token)
        if not match:
            raise UnreadableItem(token=token)
        sku = match["sku"].upper()
        items.append((sku, _quantity(match["qty"], sku) if match["qty"] else 1))
    if not items:
        raise NoItems()
    return items


def counted_item(token: str) -> bool:
    """``TEA-001*1`` is an item; ``box`` in "damaged box" is a word of the reason, not SKU BOX."""
    return bool(_COUNTED.match(token.strip()))


def _quantity(text: str, sku: str) -> int:
    """The number as typed, however large: the core refuses one above its bound by name."""
    try:
        qty = int(text)
    except ValueError:  # more digits than Python turns into a number (4,300)
        raise ValueError(f"{sku}: that quantity is far too large") from None
    if qty <= 0:
        raise QuantityTooSmall(sku=sku, qty=qty)
    return qty
