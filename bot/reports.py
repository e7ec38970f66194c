"""What ``/report`` and the daily digest say about sales: a short text and a chart, in the reader's language.

The figures come from ``core.reports.figures``: sales are accepted goods orders; orders not
accepted yet, refused or cancelled ones and project contracts (``/projects`` reports those) are
left out. The period is today, 7d, 30d or a date range ``2026-11-01..2026-11-30``
(``core.reports.periods.parse``). This module picks the words, the labels of the
groups (a missing province, the direct channel) and the chart's title, and draws it with
``bot.charts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot import charts
from bot.i18n import N_, Translator
from bot.labels import money
from bot.views import Attachment, Reply
from core.context import Context
from core.reports import figures
from core.reports.periods import Period, looks_like_range, named
from core.reports.periods import parse as parse_period

PERIOD_WORDS = {
    "today": "today",
    "今天": "today",
    "今日": "today",
    "7d": "7d",
    "7天": "7d",
    "7日": "7d",
    "近7天": "7d",
    "30d": "30d",
    "30天": "30d",
    "30日": "30d",
    "近30天": "30d",
}
BY_WORDS = {
    "line": "line",
    "lines": "line",
    "产品线": "line",
    "region": "region",
    "province": "region",
    "地区": "region",
    "省份": "region",
    "sales": "sales",
    "salesperson": "sales",
    "销售": "sales",
    "channel": "channel",
    "渠道": "channel",
}
PERIOD_LABELS = {"today": N_("Today"), "7d": N_("Last 7 days"), "30d": N_("Last 30 days")}
BY_TITLES = {
    "line": N_("sales by product line"),
    "region": N_("sales by region"),
    "sales": N_("sales by salesperson"),
    "channel": N_("sales by channel"),
}
BY_HEADINGS = {
    "line": N_("By product line: {groups}"),
    "region": N_("By region: {groups}"),
    "sales": N_("By salesperson: {groups}"),
    "channel": N_("By channel: {groups}"),
}
NONE_LABELS = {
    "line": N_("no product line"),
    "region": N_("no province"),
    "sales": N_("no salesperson"),
    "channel": N_("unknown channel"),
}
CHANNEL_LABELS = {"direct": N_("direct sales")}
TOP_IN_TEXT = 3


@dataclass(frozen=True)
class ReportRequest:
    period: str  # today | 7d | 30d | a date range as typed ("2026-11-01..2026-11-30"), checked when read
    by: str | None  # line | region | sales | channel; None: sales over time


def parse(args: list[str]) -> ReportRequest | None:
    """``[today|7d|30d|FIRST..LAST] [by] [line|region|sales|channel]`` in English or Chinese; None if not that."""
    words = [a.lower() for a in args]
    period = "today"
    if words and words[0] in PERIOD_WORDS:
        period = PERIOD_WORDS[words.pop(0)]
    elif words and looks_like_range(words[0]):
        period = words.pop(0)
    if words and words[0] in ("by", "按"):
        words.pop(0)
        if not words:
            return None
    elif words and words[0].startswith("按"):
        words[0] = words[0][1:]
    if not words:
        return ReportRequest(period, None)
    if len(words) == 1 and words[0] in BY_WORDS:
        return ReportRequest(period, BY_WORDS[words[0]])
    return None


def period_label(_: Translator, period: Period) -> str:
    if period.name not in PERIOD_LABELS:
        return _name(_, period)
    label = _(PERIOD_LABELS[period.name])
    if period.first == period.last:
        return f"{label} ({period.first.isoformat()})"
    return f"{label} ({period.first.isoformat()} – {period.last.isoformat()})"


def group_label(_: Translator, by: str, key: str) -> str:
    if not key:
        return _(NONE_LABELS[by])
    if by == "channel" and key in CHANNEL_LABELS:
        return _(CHANNEL_LABELS[key])
    return key


def _name(_: Translator, period: Period) -> str:
    """ "Today", "Last 7 days" or, for a date range, its dates."""
    if period.name in PERIOD_LABELS:
        return _(PERIOD_LABELS[period.name])
    return f"{period.first.isoformat()} – {period.last.isoformat()}"


def summary_text(_: Translator, summary: figures.Summary, returns: figures.ReturnRate) -> str:
    label = _name(_, summary.period)
    lines = [
        _(
            "{period}: {count} orders, sales {sales}",
            period=label,
            count=summary.orders,
            sales=money(summary.sales),
        )
    ]
    if summary.average is not None:
        lines[0] += _(", average {average}", average=money(summary.average))
    margin = summary.margin
    if margin.percent is not None:
        lines.append(_("Gross margin {amount} ({percent}%)", amount=money(margin.amount), percent=margin.percent))
    if margin.unknown_revenue:
        lines.append(
            _("Without a product cost (margin unknown): {amount} of sales", amount=money(margin.unknown_revenue))
        )
    if returns.rate is not None and returns.returned_orders:
        lines.append(
            _(
                "Returns: {returned} of {count} orders ({rate}%)",
                returned=returns.returned_orders,
                count=returns.orders,
                rate=returns.rate,
            )
        )
    return "\n".join(lines)


def breakdown_text(_: Translator, breakdown: figures.Breakdown) -> str:
    top = breakdown.groups[:TOP_IN_TEXT]
    parts = [f"{group_label(_, breakdown.by, g.key)} {money(g.sales)}" for g in top]
    return _(BY_HEADINGS[breakdown.by], groups=" · ".join(parts)) if parts else ""


def _subtitle(_: Translator, summary: figures.Summary) -> str:
    return " · ".join(
        [
            period_label(_, summary.period),
            _("{count} orders", count=summary.orders),
            _("sales {sales}", sales=money(summary.sales)),
        ]
    )


async def series_chart(_: Translator, series: figures.Series, summary: figures.Summary) -> bytes:
    hourly = series.unit == "hour"
    points = series.points if any(p.orders for p in series.points) else []  # nothing sold: say so
    labels = [p.key[-2:] if hourly else p.key[5:] for p in points]
    title = _("Sales by hour") if hourly else _("Sales by day")
    return await charts.render(
        charts.bars,
        title,
        labels,
        [p.sales for p in points],
        subtitle=_subtitle(_, summary),
        empty=_("No orders"),
    )


def bars_of(_: Translator, breakdown: figures.Breakdown) -> tuple[list[str], list[Decimal]]:
    """The chart's bars: the largest groups, and past ``charts.MAX_BARS`` the rest as one "other"
    bar, so the bars still add up to the sales."""
    groups = breakdown.groups
    labels = [group_label(_, breakdown.by, g.key) for g in groups[: charts.MAX_BARS]]
    values: list[Decimal] = [g.sales for g in groups[: charts.MAX_BARS]]
    if len(groups) > charts.MAX_BARS:
        labels[-1] = _("other")
        values[-1] = sum((g.sales for g in groups[charts.MAX_BARS - 1 :]), Decimal("0"))
    return labels, values


async def breakdown_chart(_: Translator, breakdown: figures.Breakdown, summary: figures.Summary) -> bytes:
    labels, values = bars_of(_, breakdown)
    title = _(BY_TITLES[breakdown.by])
    return await charts.render(
        charts.bars,
        title[:1].upper() + title[1:],
        labels,
        values,
        subtitle=_subtitle(_, summary),
        horizontal=True,
        empty=_("No orders"),
    )


def png(name: str, data: bytes) -> Attachment:
    return Attachment(filename=name, media_type="image/png", data=data, kind="image")


async def report(ctx: Context, _: Translator, request: ReportRequest) -> list[Reply]:
    """The figures for the request, as one reply: the chart, and the text as its caption."""
    period = parse_period(request.period, ctx.now(), ctx.settings.timezone)
    stem = f"sales-{period.name}" if period.name in PERIOD_LABELS else f"sales-{period.first}..{period.last}"
    last = f"-{period.last.isoformat()}" if period.name in PERIOD_LABELS else ""
    summary = await figures.summary(ctx, period)
    returns = await figures.return_rate(ctx, period)
    text = summary_text(_, summary, returns)
    if request.by is None:
        chart = await series_chart(_, await figures.series(ctx, period), summary)
        name = f"{stem}{last}.png"
    else:
        breakdown = await figures.breakdown(ctx, period, request.by)
        if breakdown.groups:
            text += "\n" + breakdown_text(_, breakdown)
        chart = await breakdown_chart(_, breakdown, summary)
        name = f"{stem}-by-{request.by}{last}.png"
    return [Reply(text=text, attachment=png(name, chart))]


async def digest_chart(ctx: Context, _: Translator) -> Attachment:
    """Today's sales by hour, for the daily digest (read as the digest's system actor)."""
    period = named("today", ctx.now(), ctx.settings.timezone)
    summary = await figures.summary(ctx, period)
    chart = await series_chart(_, await figures.series(ctx, period), summary)
    return png(f"digest-{period.last.isoformat()}.png", chart)
