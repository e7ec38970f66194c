"""Events in and out of the ``domain_event`` table: written with the change, read back typed.

The payload is the event's fields as JSON (enums by value, money and dates as strings), so what a
workflow condition sees as ``event.*`` is plain data; ``rebuild`` turns a row back into the
dataclass by the fields' type hints.
"""

from __future__ import annotations

import types
from dataclasses import Field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from core.audit.models import DomainEvent
from core.context import Context
from core.db.bulk_rows import insert_in_bulk
from core.events.catalogue import EVENTS, Event

insert_in_bulk(DomainEvent)  # one INSERT for all of a flush's events; the dispatcher reads them by query


class UnknownEvent(LookupError):
    """A row whose name or version no event class of this code reads (written by another release)."""


def record(ctx: Context, event: Event) -> DomainEvent:
    """Store ``event`` in this transaction; it is delivered only if the transaction commits."""
    row = DomainEvent(name=event.name, version=event.version, payload=payload(event), created_at=event.at)
    ctx.session.add(row)
    return row


def payload(event: Event) -> dict[str, Any]:
    return {_key(f): _plain(getattr(event, f.name)) for f in _payload_fields(type(event))}


def rebuild(row: DomainEvent) -> Event:
    """The typed event a row holds; ``UnknownEvent`` if this code has no class for it."""
    cls = EVENTS.get(row.name)
    if cls is None or (row.version or 1) != cls.version:
        raise UnknownEvent(f"{row.name} v{row.version}")
    hints = _hints(cls)
    data = row.payload or {}
    values = {f.name: _typed(hints[f.name], data[_key(f)]) for f in _payload_fields(cls) if _key(f) in data}
    return cls(at=row.created_at, **values)


def _key(f: Field[Any]) -> str:
    return f.metadata.get("key", f.name)


@cache
def _payload_fields(cls: type[Event]) -> tuple[Field[Any], ...]:
    return tuple(f for f in fields(cls) if f.name != "at")


@cache
def _hints(cls: type[Event]) -> dict[str, Any]:
    return get_type_hints(cls)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        [inner] = [a for a in get_args(hint) if a is not type(None)]
        return _typed(inner, value)
    if origin is tuple:
        return tuple(_typed(get_args(hint)[0], v) for v in value)
    if origin is dict:
        key_type, value_type = get_args(hint)
        return {_typed(key_type, k): _typed(value_type, v) for k, v in value.items()}
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum | Decimal):
        return hint(value)
    return value
