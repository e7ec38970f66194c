"""The bottleneck view: average and 90th-percentile time per status, and who waits longest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.orders import confirmation
from core.reports.stages import percentile, stall_report
from tests.support.clock import Clock
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place


def test_percentile_is_nearest_rank():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([], 90) == 0.0


async def test_review_time_is_measured_and_the_longest_wait_is_named(services):
    clock = Clock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    services.clock = clock
    await seed(services, stock={("TEA-001", "SH"): 200})
    quick = await place(services, items={"TEA-001": 50})
    slow = await place(services, items={"TEA-001": 50})
    stuck = await place(services, items={"TEA-001": 50})
    clock.advance(hours=2)
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, quick))
    clock.advance(hours=22)
    await as_user(services, "王芳", lambda ctx: confirmation.approve(ctx, slow))
    clock.advance(hours=6)  # `stuck` has waited 30 hours for review by now
    report = await as_user(services, "经理", lambda ctx: stall_report(ctx, days=7))
    review = next(s for s in report.stages if s.status == "pending_approval")
    assert review.stays == 3
    assert review.average == timedelta(hours=(2 + 24 + 30) / 3)
    assert review.p90 == timedelta(hours=30)
    assert report.longest[0].order_no == stuck and report.longest[0].status == "pending_approval"
    assert report.stages[0].status == "pending_approval"  # the bottleneck comes first
