"""Unit tests for the pure allocation planner and the distance it ranks by."""

from __future__ import annotations

import pytest

from core.inventory.geo import haversine_km
from core.inventory.planning import (
    Pick,
    Plan,
    ShortagePolicy,
    Strategy,
    WarehouseInfo,
    plan_allocation,
)

SH = WarehouseInfo("SH", "上海仓", 31.23, 121.47, priority=30, region="East")
GZ = WarehouseInfo("GZ", "广州仓", 23.13, 113.26, priority=10, region="South")
BJ = WarehouseInfo("BJ", "北京仓", 39.90, 116.40, priority=20, region="North")
WAREHOUSES = (SH, GZ, BJ)
HANGZHOU = (30.25, 120.13)  # SH ≈ 168 km, GZ ≈ 1,045 km, BJ ≈ 1,125 km

TEA, CUP = "TEA-001", "CUP-002"


def plan(
    demand: dict[str, int],
    available: dict[tuple[str, str], int],
    *,
    strategy: Strategy = Strategy.NEAREST,
    policy: ShortagePolicy = ShortagePolicy.PARTIAL,
    destination: tuple[float, float] | None = HANGZHOU,
    closed: tuple[str, ...] = (),
    warehouses: tuple[WarehouseInfo, ...] = WAREHOUSES,
) -> Plan:
    return plan_allocation(
        demand, available, warehouses, strategy=strategy, policy=policy, destination=destination, closed=closed
    )


def everywhere(**stock: int) -> dict[tuple[str, str], int]:
    """The same stock in every warehouse; keyword names are SKU aliases (tea, cup)."""
    skus = {"tea": TEA, "cup": CUP}
    return {(skus[alias], wh.code): qty for alias, qty in stock.items() for wh in WAREHOUSES}


# --- distance ------------------------------------------------------------------------------------


def test_haversine_shanghai_guangzhou_is_about_1210_km() -> None:
    km = haversine_km(SH.lat, SH.lon, GZ.lat, GZ.lon)

    assert km == pytest.approx(1210, rel=0.02)


def test_haversine_is_zero_for_the_same_point_and_symmetric() -> None:
    assert haversine_km(31.23, 121.47, 31.23, 121.47) == 0
    assert haversine_km(31.23, 121.47, 39.90, 116.40) == pytest.approx(haversine_km(39.90, 116.40, 31.23, 121.47))


# --- nearest -------------------------------------------------------------------------------------


def test_nearest_picks_shanghai_for_a_hangzhou_address_when_it_has_everything() -> None:
    # Given every warehouse has everything, and Shanghai has the worst priority
    stock = everywhere(tea=10, cup=10)

    # When
    result = plan({TEA: 4, CUP: 2}, stock)

    # Then only distance decided
    assert result.picks == (Pick("SH", CUP, 2), Pick("SH", TEA, 4))
    assert result.complete and result.shortages == {}
    assert result.warehouses == ("SH",)


def test_explanation_names_the_warehouse_the_reason_and_the_distance() -> None:
    result = plan({TEA: 4}, everywhere(tea=10))

    assert result.explanation == "from SH 上海仓: nearest with full stock (168 km)"


def test_nearest_splits_from_the_nearest_outward_when_nearest_lacks_stock() -> None:
    # Given no warehouse has all ten, Shanghai has six
    stock = {(TEA, "SH"): 6, (TEA, "GZ"): 5, (TEA, "BJ"): 5}

    result = plan({TEA: 10}, stock)

    # Then Shanghai is emptied first and the rest comes from the next nearest (Guangzhou)
    assert result.picks == (Pick("GZ", TEA, 4), Pick("SH", TEA, 6))
    assert result.complete
    assert result.explanation == (
        "split: TEA-001 from SH (168 km) and GZ (1,045 km); nearest first, no warehouse had everything"
    )


def test_nearest_prefers_any_warehouse_with_everything_over_a_split() -> None:
    stock = {(TEA, "SH"): 6, (TEA, "BJ"): 10}

    result = plan({TEA: 10}, stock)

    assert result.picks == (Pick("BJ", TEA, 10),)


def test_without_delivery_coordinates_nearest_falls_back_to_priority_and_says_so() -> None:
    result = plan({TEA: 1}, everywhere(tea=5), destination=None)

    assert result.warehouses == ("GZ",)  # priority 10, the best
    assert "no delivery coordinates; by priority" in result.explanation


def test_a_warehouse_without_coordinates_ranks_after_located_ones() -> None:
    # Given a top-priority warehouse with no coordinates
    nowhere = WarehouseInfo("XX", "无坐标仓", None, None, priority=1)
    stock = {(TEA, "XX"): 5, (TEA, "BJ"): 5}

    result = plan({TEA: 5}, stock, warehouses=(nowhere, *WAREHOUSES))

    assert result.warehouses == ("BJ",)


# --- fewest shipments ----------------------------------------------------------------------------


def test_fewest_shipments_prefers_a_farther_single_warehouse_over_a_split() -> None:
    # Given Shanghai (near) and Guangzhou could split the order; Beijing (far) has everything
    stock = {(TEA, "SH"): 10, (CUP, "GZ"): 5, (TEA, "BJ"): 10, (CUP, "BJ"): 5}

    result = plan({TEA: 10, CUP: 5}, stock, strategy=Strategy.FEWEST_SHIPMENTS)

    assert result.warehouses == ("BJ",)
    assert result.explanation.startswith("from BJ 北京仓: one shipment")


def test_fewest_shipments_covers_with_fewer_warehouses_than_nearest_fill() -> None:
    # Given Shanghai has half the tea, Guangzhou all the cups, Beijing all the tea
    stock = {(TEA, "SH"): 5, (CUP, "GZ"): 10, (TEA, "BJ"): 10}
    demand = {TEA: 10, CUP: 10}

    fewest = plan(demand, stock, strategy=Strategy.FEWEST_SHIPMENTS)
    nearest = plan(demand, stock, strategy=Strategy.NEAREST)

    # Then greedy cover ships from two warehouses where nearest-outward needs three
    assert fewest.picks == (Pick("GZ", CUP, 10), Pick("BJ", TEA, 10))
    assert "fewest shipments (2)" in fewest.explanation
    assert set(nearest.warehouses) == {"SH", "GZ", "BJ"}


def test_fewest_shipments_breaks_a_cover_tie_in_favour_of_the_nearer_warehouse() -> None:
    # Given Shanghai and Beijing each cover eight units; Guangzhou covers the rest either way
    stock = {(TEA, "SH"): 8, (TEA, "BJ"): 8, (TEA, "GZ"): 2, (CUP, "GZ"): 2}

    result = plan({TEA: 10, CUP: 2}, stock, strategy=Strategy.FEWEST_SHIPMENTS)

    assert result.picks == (Pick("GZ", CUP, 2), Pick("GZ", TEA, 2), Pick("SH", TEA, 8))


def test_fewest_shipments_without_coordinates_takes_the_highest_priority_single_warehouse() -> None:
    result = plan({TEA: 3}, everywhere(tea=3), strategy=Strategy.FEWEST_SHIPMENTS, destination=None)

    assert result.warehouses == ("GZ",)
    assert "no delivery coordinates; by priority" in result.explanation


# --- priority ------------------------------------------------------------------------------------


def test_priority_order_beats_distance() -> None:
    result = plan({TEA: 2}, everywhere(tea=5), strategy=Strategy.PRIORITY)

    assert result.warehouses == ("GZ",)
    assert result.explanation == "from GZ 广州仓: first by priority with full stock (priority 10)"


def test_priority_fills_from_the_first_onward_when_none_has_everything() -> None:
    stock = {(TEA, "GZ"): 4, (TEA, "BJ"): 3, (TEA, "SH"): 5}

    result = plan({TEA: 10}, stock, strategy=Strategy.PRIORITY)

    assert result.picks == (Pick("BJ", TEA, 3), Pick("GZ", TEA, 4), Pick("SH", TEA, 3))


def test_equal_priority_is_decided_by_code() -> None:
    a = WarehouseInfo("A1", "甲", None, None, priority=5)
    b = WarehouseInfo("B1", "乙", None, None, priority=5)

    result = plan({TEA: 1}, {(TEA, "A1"): 1, (TEA, "B1"): 1}, strategy=Strategy.PRIORITY, warehouses=(b, a))

    assert result.warehouses == ("A1",)


# --- closed warehouses (dry run) -----------------------------------------------------------------


def test_a_closed_warehouse_is_ignored_and_named_in_the_explanation() -> None:
    result = plan({TEA: 2}, everywhere(tea=5), closed=("SH",))

    assert result.warehouses == ("GZ",)
    assert result.explanation.endswith("; closed: SH")


def test_stock_in_a_closed_warehouse_does_not_count_against_the_shortage() -> None:
    stock = {(TEA, "SH"): 100, (TEA, "GZ"): 4}

    result = plan({TEA: 10}, stock, policy=ShortagePolicy.BACKORDER, closed=("SH",))

    assert result.shortages == {TEA: 6}


# --- shortages -----------------------------------------------------------------------------------

SHORT_STOCK = {(TEA, "SH"): 3, (TEA, "GZ"): 2, (CUP, "GZ"): 2}
SHORT_DEMAND = {TEA: 10, CUP: 2}


def test_backorder_reserves_nothing_and_reports_the_gap_against_all_open_stock() -> None:
    result = plan(SHORT_DEMAND, SHORT_STOCK, policy=ShortagePolicy.BACKORDER)

    assert result.picks == ()
    assert result.shortages == {TEA: 5}
    assert not result.complete
    assert result.explanation == "backordered: TEA-001 short by 5"


def test_partial_reserves_what_is_there_and_backorders_the_rest() -> None:
    result = plan(SHORT_DEMAND, SHORT_STOCK, policy=ShortagePolicy.PARTIAL)

    assert result.picks == (Pick("GZ", CUP, 2), Pick("GZ", TEA, 2), Pick("SH", TEA, 3))
    assert result.shortages == {TEA: 5}
    assert not result.complete
    assert result.explanation.startswith("partial: ")
    assert result.explanation.endswith("backordered: TEA-001 short by 5")


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_reports_the_same_gap(strategy: Strategy) -> None:
    result = plan(SHORT_DEMAND, SHORT_STOCK, strategy=strategy)

    assert result.shortages == {TEA: 5}
    assert sum(p.qty for p in result.picks) == 7


def test_backorder_does_not_apply_when_a_split_covers_everything() -> None:
    stock = {(TEA, "SH"): 6, (TEA, "GZ"): 4}

    result = plan({TEA: 10}, stock, policy=ShortagePolicy.BACKORDER)

    assert result.complete and sum(p.qty for p in result.picks) == 10


def test_partial_with_nothing_available_reserves_nothing() -> None:
    result = plan({TEA: 3}, {}, policy=ShortagePolicy.PARTIAL)

    assert result.picks == () and result.shortages == {TEA: 3}
    assert result.explanation == "nothing available; backordered: TEA-001 short by 3"


# --- invariants ----------------------------------------------------------------------------------


def test_picks_are_sorted_by_sku_then_warehouse_not_by_rank() -> None:
    # Given a forced split where SH is nearer than GZ but sorts after it, and SKUs arrive out of order
    stock = {(TEA, "SH"): 1, (TEA, "GZ"): 2, (CUP, "SH"): 1, (CUP, "GZ"): 2}

    result = plan({TEA: 3, CUP: 3}, stock)

    assert [(p.sku, p.warehouse) for p in result.picks] == [(CUP, "GZ"), (CUP, "SH"), (TEA, "GZ"), (TEA, "SH")]
    assert result.warehouses == ("GZ", "SH")


@pytest.mark.parametrize("qty", [0, -1])
def test_non_positive_demand_is_refused(qty: int) -> None:
    with pytest.raises(ValueError, match=TEA):
        plan({TEA: qty}, everywhere(tea=5))


def test_equal_inputs_give_equal_plans_whatever_their_order() -> None:
    # Given a twin of Shanghai at the same spot with the same priority
    twin = WarehouseInfo("SH2", "上海二仓", 31.23, 121.47, priority=30)
    stock = {(TEA, "SH"): 5, (TEA, "SH2"): 5, (CUP, "SH"): 5, (CUP, "SH2"): 5}
    reordered_stock = dict(reversed(list(stock.items())))

    first = plan({TEA: 2, CUP: 1}, stock, warehouses=(twin, *WAREHOUSES))
    second = plan({CUP: 1, TEA: 2}, reordered_stock, warehouses=(BJ, GZ, SH, twin))

    assert first == second
    assert first.warehouses == ("SH",)


def test_empty_demand_is_a_complete_empty_plan() -> None:
    result = plan({}, everywhere(tea=5))

    assert result.picks == () and result.complete
