"""The report figures against sums worked out by hand (the orders: tests/support/report_orders.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.customers.models import Customer
from core.errors import DomainError
from core.orders.models import Order
from core.reports import drill, figures
from core.reports.periods import BadDateRange, UnknownPeriod, date_range, named, parse
from core.reports.regions import province_name
from tests.support.master_data import SYSTEM
from tests.support.report_orders import DAY_START, NOW, D, add_non_sales, build
from tests.support.service_calls import as_user


async def _run(services, fn):
    return await as_user(services, "经理", fn)


def test_periods_are_local_days():
    today = named("today", NOW, "Asia/Shanghai")
    assert (today.start, today.end) == (DAY_START, DAY_START + timedelta(days=1))
    week = named("7d", NOW, "Asia/Shanghai")
    assert week.first == date(2026, 11, 14) and week.last == date(2026, 11, 20) and week.days == 7
    assert named("30d", NOW, "UTC").first == date(2026, 10, 22)
    with pytest.raises(UnknownPeriod):
        named("week", NOW, "UTC")
    with pytest.raises(BadDateRange):
        date_range(date(2026, 11, 2), date(2026, 11, 1), "UTC")


def test_provinces_fold_their_suffixes():
    assert province_name("广东省") == province_name("广东") == "广东"
    assert province_name("上海市") == "上海"
    assert province_name("广西壮族自治区") == "广西"
    assert province_name("内蒙古自治区") == "内蒙古"
    assert province_name("香港特别行政区") == "香港"
    assert province_name(" guangdong province ") == "Guangdong"
    assert province_name(None) == province_name("") == ""


async def test_today_summary_counts_from_local_midnight_and_leaves_cancelled_out(services):
    await build(services)
    period = named("today", NOW, "Asia/Shanghai")
    result = await _run(services, lambda ctx: figures.summary(ctx, period))
    assert result.orders == 2  # A and D
    assert result.sales == D("668.20")
    assert result.average == D("334.10")
    # Known: A's tea 256 and D's tea 128 x 0.9 = 115.20; cost 2x60 + 60. The gift box's 297.00 is unknown.
    assert result.margin.revenue == D("371.20")
    assert result.margin.cost == D("180.00")
    assert result.margin.amount == D("191.20")
    assert result.margin.percent == D("51.5")
    assert result.margin.unknown_revenue == D("297.00")
    assert result.margin.unknown_lines == 1


async def test_a_date_range_and_an_empty_period(services):
    await build(services)
    yesterday = date_range(date(2026, 11, 19), date(2026, 11, 19), "Asia/Shanghai")
    result = await _run(services, lambda ctx: figures.summary(ctx, yesterday))
    assert (result.orders, result.sales) == (1, D("180.00"))  # B only
    assert result.margin.percent == D("73.3")  # (180 - 48) / 180
    empty = date_range(date(2026, 1, 1), date(2026, 1, 31), "Asia/Shanghai")
    nothing = await _run(services, lambda ctx: figures.summary(ctx, empty))
    assert (nothing.orders, nothing.sales, nothing.average, nothing.margin.percent) == (0, D("0.00"), None, None)
    month = await _run(services, lambda ctx: figures.summary(ctx, named("30d", NOW, "Asia/Shanghai")))
    assert (month.orders, month.sales) == (4, D("948.20"))


async def test_breakdowns(services):
    await build(services)
    today = named("today", NOW, "Asia/Shanghai")
    week = named("7d", NOW, "Asia/Shanghai")

    async def groups(period, by):
        result = await _run(services, lambda ctx: figures.breakdown(ctx, period, by))
        return [(g.key, g.orders, g.sales) for g in result.groups]

    assert await groups(week, "region") == [("浙江", 2, D("436.00")), ("广东", 1, D("412.20"))]
    assert await groups(today, "line") == [("茶叶", 2, D("371.20")), ("", 1, D("297.00"))]
    assert await groups(today, "sales") == [("", 1, D("412.20")), ("李雷", 1, D("256.00"))]
    assert await groups(week, "channel") == [("direct", 2, D("436.00")), ("shopify", 1, D("412.20"))]
    with pytest.raises(figures.UnknownBreakdown):
        await groups(today, "colour")


async def test_return_rate(services):
    await build(services)
    week = await _run(services, lambda ctx: figures.return_rate(ctx, named("7d", NOW, "Asia/Shanghai")))
    assert (week.orders, week.returned_orders, week.rate, week.refunded) == (3, 1, D("33.3"), D("45.00"))
    assert (week.shipped_units, week.returned_units) == (4, 1)
    month = await _run(services, lambda ctx: figures.return_rate(ctx, named("30d", NOW, "Asia/Shanghai")))
    assert (month.orders, month.returned_orders) == (4, 1)  # E's return was rejected


async def test_figures_need_report_permission(services):
    await build(services)
    period = named("today", NOW, "Asia/Shanghai")
    with pytest.raises(DomainError):
        await as_user(services, "杭州茶社", lambda ctx: figures.summary(ctx, period))


async def test_sales_by_local_hour_and_by_local_day(services):
    await build(services)
    today = await _run(services, lambda ctx: figures.series(ctx, named("today", NOW, "Asia/Shanghai")))
    assert today.unit == "hour" and len(today.points) == 24
    busy = [(p.key, p.orders, p.sales) for p in today.points if p.orders]
    assert busy == [("2026-11-20 00", 1, D("256.00")), ("2026-11-20 02", 1, D("412.20"))]
    week = await _run(services, lambda ctx: figures.series(ctx, named("7d", NOW, "Asia/Shanghai")))
    assert [p.key for p in week.points][0] == "2026-11-14" and len(week.points) == 7
    assert [(p.key, p.sales) for p in week.points if p.orders] == [
        ("2026-11-19", D("180.00")),
        ("2026-11-20", D("668.20")),
    ]


async def test_local_hours_on_the_day_the_clocks_go_back(services):
    """Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, so the local day has 25 hours and 02 twice."""
    await _clocks_go_back(services)


@pytest.mark.pg
async def test_local_hours_on_the_day_the_clocks_go_back_on_postgresql(pg_services):
    await _clocks_go_back(pg_services)


async def _clocks_go_back(services):
    await build(services)
    async with services.unit_of_work(SYSTEM) as ctx:
        customer = await ctx.session.scalar(select(Customer).where(Customer.code == "C001"))
        for n, at in enumerate(("2026-10-24 22:30", "2026-10-25 00:30", "2026-10-25 01:30", "2026-10-25 22:59")):
            moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
            ctx.session.add(
                Order(
                    order_no=f"DST-{n}",
                    customer_id=customer.id,
                    status="confirmed",
                    ship_to={},
                    total=D("10.00"),
                    subtotal=D("10.00"),
                    created_at=moment,
                    updated_at=moment,
                    status_changed_at=moment,
                )
            )
    day = date_range(date(2026, 10, 25), date(2026, 10, 25), "Europe/Berlin")
    hours = await _run(services, lambda ctx: figures.series(ctx, day))
    assert [(p.key[-2:], p.orders) for p in hours.points if p.orders] == [("00", 1), ("02", 2), ("23", 1)]
    days = date_range(date(2026, 10, 24), date(2026, 10, 26), "Europe/Berlin")
    by_day = await _run(services, lambda ctx: figures.series(ctx, days))
    assert [(p.key, p.orders) for p in by_day.points] == [("2026-10-24", 0), ("2026-10-25", 4), ("2026-10-26", 0)]


@pytest.mark.pg
async def test_the_same_figures_on_postgresql(pg_services):
    """The SQL differs per dialect where local time is computed (AT TIME ZONE) and JSON is read."""
    services = pg_services
    await build(services)
    today = named("today", NOW, "Asia/Shanghai")
    week = named("7d", NOW, "Asia/Shanghai")
    result = await _run(services, lambda ctx: figures.summary(ctx, today))
    assert (result.orders, result.sales, result.margin.revenue, result.margin.cost) == (
        2,
        D("668.20"),
        D("371.20"),
        D("180.00"),
    )
    assert result.margin.unknown_revenue == D("297.00")
    region = await _run(services, lambda ctx: figures.breakdown(ctx, week, "region"))
    assert [(g.key, g.orders, g.sales) for g in region.groups] == [("浙江", 2, D("436.00")), ("广东", 1, D("412.20"))]
    line = await _run(services, lambda ctx: figures.breakdown(ctx, today, "line"))
    assert [(g.key, g.sales) for g in line.groups] == [("茶叶", D("371.20")), ("", D("297.00"))]
    hours = await _run(services, lambda ctx: figures.series(ctx, today))
    assert [(p.key, p.sales) for p in hours.points if p.orders] == [
        ("2026-11-20 00", D("256.00")),
        ("2026-11-20 02", D("412.20")),
    ]
    days = await _run(services, lambda ctx: figures.series(ctx, week))
    assert [(p.key, p.orders) for p in days.points if p.orders] == [("2026-11-19", 1), ("2026-11-20", 2)]
    returns = await _run(services, lambda ctx: figures.return_rate(ctx, week))
    assert (returns.orders, returns.returned_orders, returns.refunded) == (3, 1, D("45.00"))


async def test_orders_behind_a_figure_and_a_group(services):
    await build(services)
    week = named("7d", NOW, "Asia/Shanghai")

    async def behind(by=None, key=None):
        refs = await _run(services, lambda ctx: figures.orders_behind(ctx, week, by, key))
        return [r.order_no for r in refs]

    assert await behind() == ["SO-4", "SO-1", "SO-2"]  # newest first, the cancelled one left out
    assert await behind("region", "浙江") == ["SO-1", "SO-2"]  # 浙江省 and 浙江
    assert await behind("region", "上海") == []  # E is older than a week
    assert await behind("line", "茶叶") == ["SO-4", "SO-1"]
    assert await behind("line", "") == ["SO-4"]  # the gift box has no product line
    assert await behind("sales", "李雷") == ["SO-1", "SO-2"]
    assert await behind("sales", "") == ["SO-4"]
    assert await behind("channel", "shopify") == ["SO-4"]
    with pytest.raises(figures.UnknownBreakdown):
        await behind("colour", "red")


async def _every_figure(services):
    today, week = named("today", NOW, "Asia/Shanghai"), named("7d", NOW, "Asia/Shanghai")

    async def read(ctx):
        summary = await figures.summary(ctx, today)
        return {
            "summary": (summary.orders, summary.sales, summary.margin),
            "by": {
                by: [(g.key, g.orders, g.sales) for g in (await figures.breakdown(ctx, period, by)).groups]
                for by in figures.BREAKDOWNS
                for period in (today,)
            },
            "series": [(p.key, p.orders, p.sales) for p in (await figures.series(ctx, week)).points],
            "returns": await figures.return_rate(ctx, week),
            "behind": [r.order_no for r in await figures.orders_behind(ctx, today)],
            "behind_lilei": [r.order_no for r in await figures.orders_behind(ctx, today, "sales", "李雷")],
            "pivot": (await drill.pivot(ctx, today)).cells,
            "drill": (await drill.orders_behind(ctx, today, None, "")).count,
            "drill_zj": (await drill.orders_behind(ctx, today, "region", "浙江")).sales,
        }

    return await _run(services, read)


async def test_held_pending_received_and_contract_orders_are_in_no_figure(services):
    """Sales are goods orders that were accepted: one on hold, one pending approval, one just
    received and a 280,000 project contract (its own /projects report) change nothing."""
    await build(services)
    before = await _every_figure(services)
    await add_non_sales(services)
    after = await _every_figure(services)
    assert after == before
    assert after["summary"][:2] == (2, D("668.20"))
    assert "PRJ-1" not in after["behind_lilei"] and "NS-2" not in after["behind"]


async def test_the_pivot_rows_add_up_to_the_sales_by_salesperson(services):
    await build(services)
    await add_non_sales(services)
    for period in (named("today", NOW, "Asia/Shanghai"), named("30d", NOW, "Asia/Shanghai")):
        pivot = await _run(services, lambda ctx, p=period: drill.pivot(ctx, p))
        by_sales = await _run(services, lambda ctx, p=period: figures.breakdown(ctx, p, "sales"))
        assert {row: pivot.row_total(row) for row in pivot.rows} == {g.key: g.sales for g in by_sales.groups}
        summary = await _run(services, lambda ctx, p=period: figures.summary(ctx, p))
        assert sum(pivot.row_total(r) for r in pivot.rows) == summary.sales


def test_a_period_is_named_or_a_date_range():
    assert parse("7d", NOW, "Asia/Shanghai") == named("7d", NOW, "Asia/Shanghai")
    november = parse("2026-11-01..2026-11-30", NOW, "Asia/Shanghai")
    assert (november.name, november.first, november.last, november.days) == (
        "range",
        date(2026, 11, 1),
        date(2026, 11, 30),
        30,
    )
    assert parse("2026-11-01至2026-11-03", NOW, "UTC").days == 3
    with pytest.raises(BadDateRange):
        parse("2026-11-30..2026-11-01", NOW, "UTC")
    for wrong in ("week", "2026-13-01..2026-13-02", "2026-11-01..", "2026-11-01"):
        with pytest.raises(UnknownPeriod):
            parse(wrong, NOW, "UTC")


async def test_the_daily_figures_count_the_same_sales(services):
    from bot.handlers.general import today_text
    from bot.i18n import Translator
    from core.reports.daily import today

    await build(services)
    await add_non_sales(services)
    daily = await _run(services, today)
    assert (daily.orders, daily.sales) == (2, D("668.20"))  # as figures.summary for today
    # What came in today, by status: every goods order, the contract left out.
    assert daily.by_status == [
        ("confirmed", 2),
        ("cancelled", 1),
        ("on_hold", 1),
        ("pending_approval", 1),
        ("received", 1),
    ]
    text = today_text(Translator("en"), daily).splitlines()
    assert text[:2] == ["Today: 2 orders, sales 668.20", "Entered today, by status:"]
