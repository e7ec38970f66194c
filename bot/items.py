"""The forgiving line-item grammar of chat and the CLI: ``TEA-001*2``, ``TEA-001 x2``, ``TEA-001×2``, ``TEA-001``."""

from __future__ import annotations

import re
from collections.abc import Iterable

_ITEM = re.compile(r"^(?P<sku>[A-Za-z0-9][A-Za-z0-9._/-]*?)(?:\s*[*×xX]\s*(?P<qty>-?\d+))?$")
_QTY_ONLY = re.compile(r"^[*×xX]\s*(?P<qty>-?\d+)$")


def parse_line_items(tokens: Iterable[str]) -> list[tuple[str, int]]:
    """Parse tokens into (SKU, qty); a quantity may stand in its own token (``TEA-001 x2``)."""
    items: list[tuple[str, int]] = []
    for token in (t.strip() for t in tokens):
        if not token:
            continue
        lone = _QTY_ONLY.match(token)
        if lone:
            if not items:
                raise ValueError(f"quantity {token!r} comes before any SKU")
            sku, _ = items.pop()
            items.append((sku, _quantity(lone["qty"], sku)))
            continue
        match = _ITEM.match(token)
        if not match:
            raise ValueError(f"cannot read {token!r} as SKU*QTY")
        sku = match["sku"].upper()
        items.append((sku, _quantity(match["qty"], sku) if match["qty"] else 1))
    if not items:
        raise ValueError("no items given")
    return items


def _quantity(text: str, sku: str) -> int:
    """The number as typed, however large: the core refuses one above its bound by name."""
    try:
        qty = int(text)
    except ValueError:  # more digits than Python turns into a number (4,300)
        raise ValueError(f"{sku}: that quantity is far too large") from None
    if qty <= 0:
        raise ValueError(f"{sku}: quantity must be at least 1, got {qty}")
    return qty
