"""The managers' dashboard (``/dashboard``): today's figures, live, for a person signed in to the
console with the right to see reports; every figure drills down to the orders behind it.

It is a page of the console (its sign-in, its cookie, its perimeter and headers) with a JSON API
of its own: ``/console/api/dashboard`` (the figures), ``…/orders`` (a drill-down) and
``…/stream`` (server-sent "changed" notices, sent when events were delivered, so the page
fetches the figures again without a reload). All figures come from ``core.reports``.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.i18n import Translator, normalise
from bot.labels import status as status_label
from bot.texts import error_text
from core.auth import Permission, PermissionDenied
from core.context import Context
from core.errors import DomainError
from core.reports import drill, figures
from core.reports.periods import parse
from integrations.console.api import CHANGED, CLOSING, STATIC
from integrations.console.signin import bad, speaker_for, still_signed_in
from integrations.web.app import SERVICES

STATIC_PAGE = "dashboard.html"
PING_SECONDS = 15.0


def _period(request: web.Request, ctx: Context) -> figures.Period:
    """``?period=today|7d|30d|2026-11-01..2026-11-30``; anything else is the translated
    UnknownPeriod (or BadDateRange) DomainError, answered by ``_answer`` in the speaker's language."""
    return parse(request.query.get("period", "today"), ctx.now(), ctx.settings.timezone)


def _lang(request: web.Request, fallback: str) -> str:
    wanted = request.query.get("lang")
    return normalise(wanted) if wanted in ("en", "zh-CN") else fallback


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def _speaker(request: web.Request):  # noqa: ANN202  (Speaker; the console's own check)
    speaker, _user = await speaker_for(request, request.query.get("user"))
    try:
        speaker.actor.require(Permission.REPORT_VIEW)
    except PermissionDenied as denied:  # "You may not view reports.", in the reader's language
        raise bad(error_text(Translator(speaker.locale), denied), 403, code=denied.code) from None
    return speaker


def _groups(breakdown: figures.Breakdown) -> list[dict[str, Any]]:
    return [{"key": g.key, "orders": g.orders, "sales": str(g.sales)} for g in breakdown.groups]


async def figures_json(request: web.Request) -> web.Response:
    """Every figure on the page for one period, in one read."""
    speaker = await _speaker(request)
    lang = _lang(request, speaker.locale)
    _ = Translator(lang)

    async def read(ctx: Context) -> dict[str, Any]:
        period = _period(request, ctx)
        summary = await figures.summary(ctx, period)
        returns = await figures.return_rate(ctx, period)
        by = {name: _groups(await figures.breakdown(ctx, period, name)) for name in figures.BREAKDOWNS}
        pivot = await drill.pivot(ctx, period)
        stalls = await figures.stages(ctx, days=max(period.days, 7))
        series = await figures.series(ctx, period)
        return {
            "period": {
                "name": period.name,
                "first": period.first.isoformat(),
                "last": period.last.isoformat(),
                "timezone": period.timezone,
            },
            "currency": ctx.settings.currency,
            "summary": {
                "orders": summary.orders,
                "sales": str(summary.sales),
                "average": _money(summary.average),
                "margin": _money(summary.margin.amount),
                "margin_percent": _money(summary.margin.percent),
                "unknown_cost_lines": summary.margin.unknown_lines,
                "return_rate": _money(returns.rate),
                "returned_orders": returns.returned_orders,
            },
            "by": by,
            "pivot": {
                "rows": pivot.rows,
                "columns": pivot.columns,
                "cells": [[str(pivot.cells.get((r, c), "")) for c in pivot.columns] for r in pivot.rows],
                "totals": [str(pivot.row_total(r)) for r in pivot.rows],
            },
            "series": {
                "unit": series.unit,
                "points": [{"key": p.key, "orders": p.orders, "sales": str(p.sales)} for p in series.points],
            },
            "stages": [
                {
                    "status": s.status,
                    "label": status_label(_, s.status),
                    "stays": s.stays,
                    "average_hours": round(s.average.total_seconds() / 3600, 1),
                    "p90_hours": round(s.p90.total_seconds() / 3600, 1),
                }
                for s in stalls.stages
            ],
            "stalled": [
                {
                    "order_no": w.order_no,
                    "status": w.status,
                    "label": status_label(_, w.status),
                    "hours": round(w.waited.total_seconds() / 3600, 1),
                }
                for w in stalls.longest
            ],
            "parcels": [
                {"order_no": p.order_no, "carrier": p.carrier, "tracking_no": p.tracking_no} for p in stalls.parcels
            ],
        }

    return web.json_response(await _answer(request, speaker, read), dumps=_dumps)


async def orders_json(request: web.Request) -> web.Response:
    """The orders behind one figure: ``?period=&by=line|region|sales|channel&key=`` (no ``by``:
    every order of the period)."""
    speaker = await _speaker(request)
    _ = Translator(_lang(request, speaker.locale))
    by, key = request.query.get("by") or None, request.query.get("key", "")
    if len(key) > 200:
        raise bad("'key' is at most 200 characters")

    async def read(ctx: Context) -> dict[str, Any]:
        found = await drill.orders_behind(ctx, _period(request, ctx), by, key)
        return {
            "by": found.by,
            "key": found.key,
            "count": found.count,
            "sales": str(found.sales),
            "orders": [
                {
                    "order_no": o.order_no,
                    "customer": o.customer,
                    "status": o.status,
                    "label": status_label(_, o.status),
                    "total": str(o.total),
                    "created_at": o.created_at.isoformat(),
                }
                for o in found.orders
            ],
        }

    return web.json_response(await _answer(request, speaker, read), dumps=_dumps)


async def _answer(request: web.Request, speaker, read) -> dict[str, Any]:  # noqa: ANN001
    try:
        return await request.app[SERVICES].query(speaker.actor, read)
    except DomainError as error:
        raise bad(error_text(Translator(speaker.locale), error), code=error.code) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def stream(request: web.Request) -> web.StreamResponse:
    """``event: changed`` whenever something was delivered (an order placed, moved, shipped)."""
    await _speaker(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b"event: ready\ndata: {}\n\n")
    try:
        while not request.app[CLOSING].is_set():
            woken = request.app[CHANGED].event
            try:
                await asyncio.wait_for(woken.wait(), PING_SECONDS)
            except TimeoutError:
                if not await still_signed_in(request):
                    break
                await response.write(b": ping\n\n")
                continue
            await response.write(b"event: changed\ndata: {}\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / STATIC_PAGE)


async def short_address(request: web.Request) -> web.Response:
    """``/dashboard`` is what people type; the page lives under ``/console`` with its cookie."""
    raise web.HTTPFound("/console/dashboard")


def mount_dashboard(app: web.Application) -> None:
    app.router.add_get("/dashboard", short_address)
    app.router.add_get("/console/dashboard", page)
    app.router.add_get("/console/api/dashboard", figures_json)
    app.router.add_get("/console/api/dashboard/orders", orders_json)
    app.router.add_get("/console/api/dashboard/stream", stream)
