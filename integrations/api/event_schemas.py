"""A pydantic model per outbound event, made from the event dataclasses themselves, for the
OpenAPI document's ``webhooks`` section.

An event's payload is what ``core.events.store.payload`` writes: every dataclass field except
``at``, under ``field.metadata.get("key", field.name)``, enums as their values, Decimal as a
string, dates and times in ISO 8601. The envelope around it is
``{"id": "evt_<n>", "type": <name>, "version": <n>, "timestamp": <date-time>, "data": {...}}``.
A new event or field shows up here without anyone editing this file.
"""

from __future__ import annotations

import types
from dataclasses import MISSING, fields
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from core.events.catalogue import EVENTS, Event
from integrations.api.schemas import Money


def _wire(hint: Any) -> Any:
    """The type of a field as the payload carries it."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return Union[tuple(_wire(a) for a in get_args(hint))]  # noqa: UP007 (built from a tuple)
    if origin is tuple:
        return list[_wire(get_args(hint)[0])]
    if origin is list:
        return list[_wire(get_args(hint)[0])]
    if origin is dict:
        key, value = get_args(hint)
        return dict[_wire(key), _wire(value)]
    if hint is Decimal:
        return Money
    if hint is datetime:
        return AwareDatetime
    if hint is date:
        return date
    return hint  # str, int, bool, and enums (their values)


def _model_name(name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", ".").split(".")) + suffix


def _summary(cls: type[Event]) -> str:
    doc = (cls.__doc__ or "").strip()
    if not doc or doc.startswith(cls.__name__ + "("):  # the dataclass's generated signature
        return f"The data of `{cls.name}`."
    return doc.split("\n\n")[0].replace("\n", " ")


@cache
def data_model(cls: type[Event]) -> type[BaseModel]:
    hints = get_type_hints(cls)
    definitions: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "at":
            continue
        key = f.metadata.get("key", f.name)
        description = None if f.default is MISSING else "Always present (the event has a default for it)."
        definitions[f.name] = (_wire(hints[f.name]), Field(alias=key, description=description))
    return create_model(  # type: ignore[call-overload]
        _model_name(cls.name, "Data"),
        __config__=ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True),
        __doc__=_summary(cls),
        **definitions,
    )


@cache
def envelope_model(cls: type[Event]) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload]
        _model_name(cls.name, "Event"),
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"The `{cls.name}` event, version {cls.version}, as POSTed to a subscribed endpoint.",
        id=(str, Field(pattern=r"^evt_[0-9]+$", examples=["evt_42"])),
        type=(Literal[cls.name], ...),  # type: ignore[valid-type]
        version=(Literal[cls.version], ...),  # type: ignore[valid-type]
        timestamp=(AwareDatetime, Field(description="When it happened (the event's `at`).")),
        data=(data_model(cls), ...),
    )


def envelopes() -> dict[str, type[BaseModel]]:
    """Event name to its envelope model, in the catalogue's order."""
    return {name: envelope_model(cls) for name, cls in EVENTS.items()}
