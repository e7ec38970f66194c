"""Domain events: every one has a handler, survives its row, and is published by a bus on which
one failing handler stops no other. Driven with fakes: no database."""

from __future__ import annotations

import logging
import types
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from bot.events.bus import BatchFailed, EventBus, current_event_id
from bot.events.registry import HANDLERS
from bot.reactions.rules import notices, trigger_for
from bot.workflows.schema import Rule, Trigger
from core.audit.models import DomainEvent
from core.events.catalogue import EVENTS, Event, OrderStatusChanged, ShipmentUpdated, StockLow
from core.events.store import UnknownEvent, payload, rebuild
from core.orders.status import OrderStatus, ShipmentStatus

AT = datetime(2026, 12, 3, 1, 2, 3, tzinfo=UTC)


def sample(hint: Any, name: str) -> Any:
    """A value of the field's type that is not the type's default, so a lost field shows."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return sample(next(a for a in get_args(hint) if a is not type(None)), name)
    if origin is tuple:
        return (sample(get_args(hint)[0], name), sample(get_args(hint)[0], name + "2"))
    if origin is dict:
        return {"k": sample(get_args(hint)[1], name)}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    return {str: f"{name}-x", int: 7, bool: True, Decimal: Decimal("12.30"), date: date(2026, 12, 25)}[hint]


def example(cls: type[Event]) -> Event:
    hints = get_type_hints(cls)
    return cls(at=AT, **{f.name: sample(hints[f.name], f.name) for f in fields(cls) if f.name != "at"})


def as_row(event: Event) -> DomainEvent:
    return DomainEvent(id=1, name=event.name, version=event.version, payload=payload(event), created_at=event.at)


def test_every_event_in_the_core_has_a_handler_and_every_handler_an_event():
    unheard = [name for name, cls in EVENTS.items() if not HANDLERS.get(cls)]
    assert unheard == []
    assert set(HANDLERS) <= set(EVENTS.values())


def test_event_names_are_unique_and_say_what_happened():
    classes = list(EVENTS.values())
    assert len({c.name for c in classes}) == len(classes) == len(Event.__subclasses__())
    assert all("." in c.name for c in classes)


@pytest.mark.parametrize("cls", list(EVENTS.values()), ids=lambda c: c.__name__)
def test_an_event_comes_back_from_its_row_as_it_went_in(cls):
    event = example(cls)
    assert rebuild(as_row(event)) == event


def test_the_payload_is_plain_json_under_the_names_rules_see():
    low = StockLow(sku="TEA-003", product="大红袍 200g", available=4, safety_stock=5, at=AT)
    assert payload(low) == {"sku": "TEA-003", "name": "大红袍 200g", "available": 4, "safety_stock": 5}
    change = example(OrderStatusChanged)
    assert payload(change)["to_status"] == change.to_status.value
    assert isinstance(rebuild(as_row(change)).to_status, OrderStatus)


def test_a_row_no_class_reads_is_refused_by_name():
    with pytest.raises(UnknownEvent, match="order.paid"):
        rebuild(DomainEvent(name="order.paid", version=1, payload={}, created_at=AT))
    newer = as_row(example(StockLow))
    newer.version = 2
    with pytest.raises(UnknownEvent, match="stock.low v2"):
        rebuild(newer)


def test_the_workflow_trigger_names_each_come_from_an_event():
    # The external names rule authors write: the contract of the master-data file.
    assert {t.value for t in Trigger} == {
        "order.received",
        "order.confirmed",
        "payment.overdue",
        "stock.low",
        "shipment.exception",
        "milestone.accepted",
    }
    confirmed = OrderStatusChanged(
        order_no="SO-1",
        from_status=OrderStatus.RECEIVED,
        to_status=OrderStatus.CONFIRMED,
        trigger="confirm",
        actor="李雷",
        at=AT,
    )
    held = OrderStatusChanged(
        order_no="SO-1",
        from_status=OrderStatus.RECEIVED,
        to_status=OrderStatus.ON_HOLD,
        trigger="hold",
        actor="x",
        at=AT,
    )
    found = {trigger_for(example(cls)) for cls in EVENTS.values()} | {trigger_for(confirmed)}
    # milestone.accepted is a decision (approve a milestone's invoice, like order.received's review), not a notice
    decisions = {Trigger.MILESTONE_ACCEPTED}
    assert {t for t in found if t} | {trigger_for(update(ShipmentStatus.EXCEPTION))} == set(Trigger) - decisions
    assert trigger_for(held) is None and trigger_for(update(ShipmentStatus.IN_TRANSIT)) is None


def update(to: ShipmentStatus) -> ShipmentUpdated:
    return ShipmentUpdated(
        order_no="SO-1", carrier="SF", tracking_no="1", from_status=ShipmentStatus.PICKED_UP, to_status=to, at=AT
    )


class FakeSession:
    """Savepoints as a list: each handler's own, rolled back when it raises."""

    def __init__(self) -> None:
        self.rolled_back = 0
        self.savepoints = 0

    @asynccontextmanager
    async def begin_nested(self):
        self.savepoints += 1
        try:
            yield
        except Exception:
            self.rolled_back += 1
            raise


class FakeContext:
    def __init__(self) -> None:
        self.session = FakeSession()


async def test_a_failing_handler_is_logged_with_the_event_and_the_others_still_run(caplog):
    heard: list[str] = []

    async def first(ctx, event):
        heard.append("first")

    async def broken(ctx, event):
        raise RuntimeError("boom")

    async def last(ctx, event):
        heard.append("last")

    bus = EventBus({StockLow: [first, broken, last]})
    ctx = FakeContext()
    with caplog.at_level(logging.ERROR, logger="bot.events.bus"):
        failed = await bus.publish(ctx, example(StockLow), event_id=41)

    assert (failed, heard, ctx.session.rolled_back) == (1, ["first", "last"], 1)
    [record] = caplog.records
    assert "event 41 stock.low" in record.getMessage() and "broken" in record.getMessage()
    assert record.exc_info is not None


async def test_a_batch_runs_in_the_callers_transaction_with_no_savepoint_of_its_own():
    heard: list[str] = []

    async def first(ctx, event):
        heard.append(f"first {event.available}")

    async def last(ctx, event):
        heard.append(f"last {event.available}")

    ctx = FakeContext()
    batch = [(replace(example(StockLow), available=n), n) for n in (1, 2, 3)]
    await EventBus({StockLow: [first, last]}).run_batch(ctx, batch)

    assert (ctx.session.savepoints, ctx.session.rolled_back) == (0, 0)
    assert heard == ["first 1", "last 1", "first 2", "last 2", "first 3", "last 3"]


async def test_a_failing_handler_stops_a_batch_and_names_its_event():
    heard: list[str] = []

    async def first(ctx, event):
        heard.append(f"first {event.available}")

    async def broken(ctx, event):
        if event.available == 2:
            raise RuntimeError("boom")

    batch = [(replace(example(StockLow), available=n), 40 + n) for n in (1, 2, 3)]
    with pytest.raises(BatchFailed, match="event 42 stock.low") as failed:
        await EventBus({StockLow: [first, broken]}).run_batch(FakeContext(), batch)
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert heard == ["first 1", "first 2"]  # the caller rolls back what ran


async def test_run_handler_by_handler_a_failing_one_is_undone_alone_and_named(caplog):
    heard: list[str] = []
    ids: list[int | None] = []

    async def first(ctx, event):
        heard.append(f"first {event.available}")
        ids.append(current_event_id())

    async def broken(ctx, event):
        if event.available == 2:
            raise RuntimeError("boom")

    ctx = FakeContext()
    batch = [(replace(example(StockLow), available=n), 40 + n) for n in (1, 2)]
    with caplog.at_level(logging.ERROR, logger="bot.events.bus"):
        failed = await EventBus({StockLow: [first, broken]}).publish_each(ctx, batch)

    assert (failed, ctx.session.rolled_back, ctx.session.savepoints) == (1, 1, 4)
    assert heard == ["first 1", "first 2"] and ids == [41, 42]
    [record] = caplog.records
    assert "event 42 stock.low" in record.getMessage() and "broken" in record.getMessage()


async def test_an_event_without_a_handler_is_not_dropped_silently(caplog):
    with caplog.at_level(logging.ERROR, logger="bot.events.bus"):
        await EventBus({}).publish(FakeContext(), example(StockLow), event_id=9)
    assert "event 9 stock.low has no handler" in caplog.text


async def test_a_notify_rule_driven_through_the_bus_tells_only_when_its_condition_holds():
    rule = Rule.model_validate(
        {"name": "tea-low", "on": "stock.low", "when": "event.available < 5", "notify": {"role": "manager"}}
    )
    sent = []

    async def rules_handler(ctx, event):  # the rules handler with its database parts faked
        sent.extend(notices(event, [rule], {}))

    bus = EventBus({StockLow: [rules_handler]})
    for available in (4, 9):
        low = StockLow(sku="TEA-003", product="大红袍 200g", available=available, safety_stock=10, at=AT)
        await bus.publish(FakeContext(), low)

    [notice] = sent
    assert (notice.rule, notice.target.role, notice.params["subject"]) == ("tea-low", "manager", "TEA-003")
    assert notice.params["event"] == "stock.low"
