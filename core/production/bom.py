"""Exploding a bill of materials against stock: pure, so the arithmetic is tested without a database.

For ``qty`` units of a product, each component needs ``qty × per unit × (1 + scrap rate)`` units,
rounded up to whole units (a component is drawn whole: 10 × 0.25 kg × 1.05 = 2.625 kg draws 3).
The sums are Decimal, so 100 × 0.07 is exactly 7 (binary floats would make it 7.000000000000001 and
round up to 8). A sub-assembly (a component with a bill of its own) is taken from the shelves as far
as it is there; the rest is made in the same work order, so its own components are exploded for
that rest, level by level. Available stock is a budget shared by the whole tree, so a component
used in two places is not counted as on hand twice.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

# {product id: [(component id, qty per unit, scrap rate), ...]}
Boms = Mapping[int, Sequence[tuple[int, Decimal, Decimal]]]

MAX_DEPTH = 20  # the loader refuses cycles; this stops a corrupted database from recursing forever


@dataclass
class Need:
    """One component of the explosion, summed over the tree."""

    product_id: int
    required: int = 0  # units to draw from stock
    on_hand: int = 0  # of them, available now (to reserve)
    made: int = 0  # a sub-assembly: units made inside the work order

    @property
    def short(self) -> int:
        return self.required - self.on_hand


def gross(qty: int, per_unit: Decimal, scrap_rate: Decimal) -> int:
    """Whole units of a component for ``qty`` units of its parent, scrap included, rounded up."""
    exact = Decimal(qty) * per_unit * (Decimal(1) + scrap_rate)
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def explode(product_id: int, qty: int, boms: Boms, available: MutableMapping[int, int]) -> list[Need]:
    """What making ``qty`` units of ``product_id`` draws from stock, per component, in first-seen order.

    ``available`` ({product id: units}) is consumed as the tree takes from it.
    """
    needs: dict[int, Need] = {}

    def walk(parent: int, units: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"bill of materials of product {product_id} nests deeper than {MAX_DEPTH}")
        for component, per_unit, scrap in boms.get(parent, ()):
            units_needed = gross(units, per_unit, scrap)
            if units_needed == 0:
                continue
            need = needs.setdefault(component, Need(component))
            take = min(units_needed, max(available.get(component, 0), 0))
            available[component] = available.get(component, 0) - take
            if component in boms:  # a sub-assembly: take what is there, make the rest
                need.required += take
                need.on_hand += take
                if units_needed > take:
                    need.made += units_needed - take
                    walk(component, units_needed - take, depth + 1)
            else:
                need.required += units_needed
                need.on_hand += take

    walk(product_id, qty, 0)
    return list(needs.values())


def find_cycle(boms: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in {sku: [component skus]} as the path that closes it (``A → B → A``), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(sku: str) -> list[str] | None:
        state[sku] = 1
        path.append(sku)
        for component in boms.get(sku, ()):
            if state.get(component) == 1:
                return path[path.index(component) :] + [component]
            if component not in state and (found := visit(component)):
                return found
        path.pop()
        state[sku] = 2
        return None

    for sku in boms:
        if sku not in state and (found := visit(sku)):
            return found
    return None
