"""Pure allocation planning: which warehouse ships how many units of each SKU.

The database layer reads stock into these dataclasses, asks ``plan_allocation`` for a plan and
reserves each pick with a conditional UPDATE. When a reservation loses a race it re-reads stock
and plans again, so the planner does no I/O, is cheap, and returns the same plan for the same
inputs. A dry run ("what if Guangzhou were closed?") is the same call with ``closed`` set.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import inf

from core.inventory.geo import haversine_km


class Strategy(StrEnum):
    """How warehouses are chosen for an order."""

    NEAREST = "nearest"
    """Nearest warehouse that has everything; else fill each SKU from the nearest outward."""
    FEWEST_SHIPMENTS = "fewest_shipments"
    """One warehouse if any has everything; else greedy set cover over the remaining units."""
    PRIORITY = "priority"
    """Fixed order (lower priority number, then code): first with everything; else fill in order."""


class ShortagePolicy(StrEnum):
    """What to do when open warehouses together cannot cover the demand."""

    BACKORDER = "backorder"
    """Reserve nothing; the whole order waits."""
    PARTIAL = "partial"
    """Reserve what is there; backorder the rest."""


@dataclass(frozen=True)
class WarehouseInfo:
    code: str
    name: str
    lat: float | None
    lon: float | None
    priority: int = 100
    region: str | None = None


@dataclass(frozen=True)
class Pick:
    """Reserve ``qty`` units of ``sku`` in the warehouse with code ``warehouse``."""

    warehouse: str
    sku: str
    qty: int


@dataclass(frozen=True)
class Plan:
    """The planner's answer; ``picks`` are sorted by (sku, warehouse), the order rows are locked in."""

    picks: tuple[Pick, ...]
    shortages: dict[str, int]
    explanation: str
    strategy: Strategy

    @property
    def complete(self) -> bool:
        return not self.shortages

    @property
    def warehouses(self) -> tuple[str, ...]:
        """Distinct warehouse codes, in pick order."""
        return tuple(dict.fromkeys(pick.warehouse for pick in self.picks))


Allocation = dict[tuple[str, str], int]
"""(sku, warehouse code) -> units to reserve."""

Shelves = dict[str, dict[str, int]]
"""warehouse code -> sku -> available units, for the demanded SKUs of open warehouses only."""


@dataclass(frozen=True)
class _Site:
    """An open warehouse and its distance to the destination (None when either has no coordinates)."""

    info: WarehouseInfo
    km: float | None

    @property
    def code(self) -> str:
        return self.info.code


def plan_allocation(
    demand: Mapping[str, int],
    available: Mapping[tuple[str, str], int],
    warehouses: Sequence[WarehouseInfo],
    *,
    strategy: Strategy,
    policy: ShortagePolicy,
    destination: tuple[float, float] | None = None,
    closed: Collection[str] = (),
) -> Plan:
    """Plan which warehouses reserve the demanded units, and say why in one line.

    ``demand`` is summed per SKU (kits already expanded); ``available`` maps (sku, warehouse)
    to available units, a missing key meaning none; warehouses in ``closed`` are ignored.
    """
    _check_demand(demand)
    wanted = dict(sorted(demand.items()))
    ranked = _rank(_open_sites(warehouses, closed, destination), strategy)
    closed_note = _closed_note(warehouses, closed)
    if not wanted:
        return Plan((), {}, _line("nothing to allocate", closed_note), strategy)

    shelves = {s.code: {sku: max(0, available.get((sku, s.code), 0)) for sku in wanted} for s in ranked}
    distance_strategy = strategy is not Strategy.PRIORITY
    by_distance = distance_strategy and destination is not None
    coords_note = "no delivery coordinates; by priority" if distance_strategy and destination is None else None

    single = _first_with_everything(wanted, ranked, shelves)
    if single is not None:
        picks = _picks({(sku, single.code): qty for sku, qty in wanted.items()})
        explanation = _line(_explain_single(single, strategy, by_distance), coords_note, closed_note)
        return Plan(picks, {}, explanation, strategy)

    if strategy is Strategy.FEWEST_SHIPMENTS:
        allocation = _greedy_cover(wanted, ranked, shelves)
    else:
        allocation = _fill_in_order(wanted, ranked, shelves)
    shortages = _shortages(wanted, allocation)
    short_note = f"backordered: {_describe_shortages(shortages)}" if shortages else None

    if shortages and policy is ShortagePolicy.BACKORDER:
        return Plan((), shortages, _line(short_note, closed_note), strategy)
    picks = _picks(allocation)
    if not picks:
        return Plan((), shortages, _line("nothing available", short_note, closed_note), strategy)
    split = _explain_split(picks, ranked, strategy, by_distance, partial=bool(shortages))
    return Plan(picks, shortages, _line(split, coords_note, short_note, closed_note), strategy)


def _check_demand(demand: Mapping[str, int]) -> None:
    """Guard the caller's invariant: a zero or negative line would plan nonsense silently."""
    bad = sorted(sku for sku, qty in demand.items() if qty <= 0)
    if bad:
        got = ", ".join(f"{sku}={demand[sku]}" for sku in bad)
        raise ValueError(f"demand must be positive for every SKU; got {got}")


def _open_sites(
    warehouses: Sequence[WarehouseInfo], closed: Collection[str], destination: tuple[float, float] | None
) -> list[_Site]:
    """Open warehouses with their distance; a duplicate code would make ranking ambiguous."""
    shut = set(closed)
    seen: set[str] = set()
    sites = []
    for info in warehouses:
        if info.code in seen:
            raise ValueError(f"warehouse {info.code} is listed twice")
        seen.add(info.code)
        if info.code not in shut:
            sites.append(_Site(info, _distance_km(info, destination)))
    return sites


def _distance_km(info: WarehouseInfo, destination: tuple[float, float] | None) -> float | None:
    if destination is None or info.lat is None or info.lon is None:
        return None
    return haversine_km(destination[0], destination[1], info.lat, info.lon)


def _rank(sites: list[_Site], strategy: Strategy) -> list[_Site]:
    """Order warehouses for the strategy; every key ends in the code so equal inputs give one order.

    Distance ranking puts warehouses of unknown distance after the located ones, by priority;
    without a destination that leaves plain priority order.
    """
    if strategy is Strategy.PRIORITY:
        return sorted(sites, key=lambda s: (s.info.priority, s.code))
    return sorted(sites, key=lambda s: (inf if s.km is None else s.km, s.info.priority, s.code))


def _first_with_everything(wanted: Mapping[str, int], ranked: list[_Site], shelves: Shelves) -> _Site | None:
    for site in ranked:
        shelf = shelves[site.code]
        if all(shelf[sku] >= qty for sku, qty in wanted.items()):
            return site
    return None


def _fill_in_order(wanted: Mapping[str, int], ranked: list[_Site], shelves: Shelves) -> Allocation:
    """Fill each SKU on its own, from the first ranked warehouse onward."""
    allocation: Allocation = {}
    for sku, qty in wanted.items():
        remaining = qty
        for site in ranked:
            take = min(remaining, shelves[site.code][sku])
            if take:
                allocation[(sku, site.code)] = take
                remaining -= take
            if not remaining:
                break
    return allocation


def _greedy_cover(wanted: Mapping[str, int], ranked: list[_Site], shelves: Shelves) -> Allocation:
    """Greedy set cover: take the warehouse covering the most remaining units, until none helps.

    Exact minimum cover is NP-hard and the planner re-runs on every lost race, so it must stay
    cheap; greedy is within a log factor of optimal. Ties go to the earlier ranked warehouse
    (nearer, then priority, then code) because only a strictly larger cover replaces the best.
    """
    remaining = dict(wanted)
    candidates = list(ranked)
    allocation: Allocation = {}
    while candidates:
        best, best_takes, best_units = None, {}, 0
        for site in candidates:
            takes = _takes(remaining, shelves[site.code])
            units = sum(takes.values())
            if units > best_units:
                best, best_takes, best_units = site, takes, units
        if best is None:
            break
        for sku, take in best_takes.items():
            allocation[(sku, best.code)] = take
            remaining[sku] -= take
        candidates.remove(best)
    return allocation


def _takes(remaining: Mapping[str, int], shelf: Mapping[str, int]) -> dict[str, int]:
    """What one warehouse can contribute towards the remaining units."""
    return {sku: take for sku, qty in remaining.items() if (take := min(qty, shelf[sku])) > 0}


def _shortages(wanted: Mapping[str, int], allocation: Allocation) -> dict[str, int]:
    """Units not allocated per SKU.

    Both fill strategies exhaust every open warehouse before giving up, so this equals the gap
    against total open stock, which is what a purchase request must cover.
    """
    allocated: dict[str, int] = {}
    for (sku, _), qty in allocation.items():
        allocated[sku] = allocated.get(sku, 0) + qty
    return {sku: qty - allocated.get(sku, 0) for sku, qty in wanted.items() if qty > allocated.get(sku, 0)}


def _picks(allocation: Allocation) -> tuple[Pick, ...]:
    """Picks in (sku, warehouse) order: every process locks stock rows in that same order."""
    return tuple(Pick(code, sku, qty) for (sku, code), qty in sorted(allocation.items()) if qty > 0)


# --- explanation: one line a person can read in chat -------------------------------------------


def _explain_single(site: _Site, strategy: Strategy, by_distance: bool) -> str:
    if strategy is Strategy.PRIORITY:
        reason = "first by priority with full stock"
    else:
        reason = f"{'nearest' if by_distance else 'first'} with full stock"
    if strategy is Strategy.FEWEST_SHIPMENTS:
        reason = f"one shipment, {reason}"
    return f"from {site.code} {site.info.name}: {reason} ({_where(site, by_distance)})"


def _explain_split(
    picks: tuple[Pick, ...], ranked: list[_Site], strategy: Strategy, by_distance: bool, *, partial: bool
) -> str:
    """List each SKU's warehouses in rank order (not pick order), so the line reads as the reason does."""
    sources: dict[str, list[_Site]] = {}
    for site in ranked:
        for pick in picks:
            if pick.warehouse == site.code:
                sources.setdefault(pick.sku, []).append(site)
    listed = ", ".join(
        f"{sku} from {_join_and([f'{s.code} ({_where(s, by_distance)})' for s in sources[sku]])}"
        for sku in sorted(sources)
    )
    if strategy is Strategy.FEWEST_SHIPMENTS:
        order = f"fewest shipments ({len(dict.fromkeys(p.warehouse for p in picks))})"
    elif strategy is Strategy.NEAREST and by_distance:
        order = "nearest first"
    else:
        order = "priority order"
    return f"{'partial' if partial else 'split'}: {listed}; {order}, no warehouse had everything"


def _where(site: _Site, by_distance: bool) -> str:
    """Why this warehouse ranks where it does: its distance, or its priority when that decided."""
    if by_distance and site.km is not None:
        return f"{site.km:,.0f} km"
    if by_distance:
        return f"no coordinates, priority {site.info.priority}"
    return f"priority {site.info.priority}"


def _describe_shortages(shortages: Mapping[str, int]) -> str:
    return ", ".join(f"{sku} short by {qty:,}" for sku, qty in shortages.items())


def _closed_note(warehouses: Iterable[WarehouseInfo], closed: Collection[str]) -> str | None:
    """Name the closed warehouses so a dry run's explanation shows what was assumed."""
    shut = set(closed)
    codes = sorted(info.code for info in warehouses if info.code in shut)
    return f"closed: {', '.join(codes)}" if codes else None


def _join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _line(*parts: str | None) -> str:
    return "; ".join(part for part in parts if part)
