"""Exploding a bill of materials: multi-level, scrap rounded up per component, exact Decimal sums,
stock shared across the tree; and finding a cycle with the SKUs that close it."""

from __future__ import annotations

from decimal import Decimal

from core.production.bom import explode, find_cycle, gross

D = Decimal
DESK, FRAME, TOP, SCREW, LEG, STEEL = 1, 2, 3, 4, 5, 6
BOMS = {
    DESK: [(FRAME, D("1"), D("0")), (TOP, D("1"), D("0")), (SCREW, D("16"), D("0.05"))],
    FRAME: [(LEG, D("2"), D("0")), (STEEL, D("3.5"), D("0.04"))],
}


def test_scrap_rounds_up_to_whole_units_and_decimal_sums_are_exact() -> None:
    assert gross(3, D("16"), D("0.05")) == 51  # 50.4
    assert gross(2, D("3.5"), D("0.04")) == 8  # 7.28
    assert gross(100, D("0.07"), D("0")) == 7  # a float would give 7.000000000000001 and draw 8
    assert gross(10, D("0.25"), D("0")) == 3  # 2.5 kg draws 3
    assert gross(4, D("0.25"), D("0")) == 1  # exactly 1


def test_a_sub_assembly_on_the_shelf_is_taken_and_only_the_rest_is_exploded() -> None:
    available = {FRAME: 1, TOP: 10, SCREW: 30, LEG: 2, STEEL: 5}
    needs = {n.product_id: n for n in explode(DESK, 3, BOMS, available)}
    assert (needs[FRAME].required, needs[FRAME].on_hand, needs[FRAME].made) == (1, 1, 2)
    assert (needs[LEG].required, needs[LEG].on_hand, needs[LEG].short) == (4, 2, 2)  # 2 frames × 2
    assert (needs[STEEL].required, needs[STEEL].on_hand, needs[STEEL].short) == (8, 5, 3)
    assert (needs[TOP].required, needs[TOP].short) == (3, 0)
    assert (needs[SCREW].required, needs[SCREW].on_hand, needs[SCREW].short) == (51, 30, 21)
    assert available == {FRAME: 0, TOP: 7, SCREW: 0, LEG: 0, STEEL: 0}


def test_nothing_on_hand_explodes_every_level_and_a_shared_component_is_counted_once() -> None:
    boms = {DESK: [(FRAME, D("2"), D("0")), (LEG, D("1"), D("0"))], FRAME: [(LEG, D("2"), D("0.10"))]}
    available = {LEG: 5}
    needs = {n.product_id: n for n in explode(DESK, 2, boms, available)}
    assert needs[FRAME].made == 4 and needs[FRAME].required == 0
    assert needs[LEG].required == 9 + 2  # ⌈4 × 2 × 1.1⌉ = 9 for the frames, 2 on the desk itself
    assert needs[LEG].on_hand == 5  # the five on the shelf are shared, not counted twice


def test_a_cycle_is_found_with_the_skus_that_close_it() -> None:
    assert find_cycle({"DESK": ["FRAME"], "FRAME": ["LEG"], "LEG": []}) is None
    assert find_cycle({"DESK": ["FRAME"], "FRAME": ["LEG"], "LEG": ["DESK"]}) == ["DESK", "FRAME", "LEG", "DESK"]
    assert find_cycle({"A": ["B"], "B": ["C"], "C": ["B"]}) == ["B", "C", "B"]
