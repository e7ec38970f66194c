"""The work-order machine: one table, one ``fire``; a refused move names the state, and starting
waits for the materials."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.production.errors import MaterialsMissing, WorkOrderTransitionRefused
from core.production.lifecycle import can, fire
from core.production.models import WorkOrderStatus as W


@dataclass
class Job:
    status: str = "planned"
    mo_no: str = "MO-100001"
    short: dict[int, int] = field(default_factory=dict)


def test_the_happy_path_and_the_states_it_passes() -> None:
    job = Job()
    assert [fire(job, t) for t in ("release", "start", "finish")] == [
        (W.PLANNED, W.RELEASED),
        (W.RELEASED, W.IN_PROGRESS),
        (W.IN_PROGRESS, W.DONE),
    ]


def test_a_refused_move_names_the_state_and_changes_nothing() -> None:
    job = Job(status="done")
    with pytest.raises(WorkOrderTransitionRefused) as refused:
        fire(job, "cancel")
    assert refused.value.message == "Cannot cancel MO-100001: it is done."
    assert job.status == W.DONE
    with pytest.raises(WorkOrderTransitionRefused, match="Cannot start MO-100001: it is planned."):
        fire(Job(), "start")


def test_start_waits_for_every_material_and_adjust_keeps_the_state() -> None:
    job = Job(status="released", short={7: 2})
    assert not can(job, "start")
    with pytest.raises(MaterialsMissing, match="1 of its materials"):
        fire(job, "start")
    assert job.status == W.RELEASED
    assert fire(job, "adjust") == (W.RELEASED, W.RELEASED)
    job.short = {}
    assert can(job, "start")


@pytest.mark.parametrize("state", ["planned", "released", "in_progress"])
def test_any_open_work_order_can_be_cancelled(state: str) -> None:
    assert fire(Job(status=state), "cancel")[1] == W.CANCELLED


def test_in_progress_is_not_adjusted() -> None:
    assert not can(Job(status="in_progress"), "adjust")
