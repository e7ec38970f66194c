"""The REST API's OpenAPI 3.1 document: valid, complete, and true to what the server sends."""

from __future__ import annotations

import types
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import jsonschema
import pytest
from openapi_spec_validator import validate

from core.apikeys import SCOPES
from core.events.catalogue import EVENTS, Event
from core.events.store import payload
from integrations.api.openapi import document, event_schema, rebased_components
from integrations.api.registry import PREFIX, ROUTES
from integrations.api.schemas import MONEY_PATTERN, OrderIn


def test_the_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation


def test_every_route_is_documented_with_its_scope_bearer_auth_and_problem_responses():
    doc = document()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "oms_…",
    }
    for route in ROUTES:
        op = doc["paths"][PREFIX + route.path][route.method.lower()]
        assert route.scope in SCOPES, route
        assert op["x-required-scope"] == route.scope
        assert op["security"] == [{"bearer": []}]
        for status in ("400", "401", "403", "404", "422", "503"):
            assert set(op["responses"][status]["content"]) == {"application/problem+json"}, (route, status)
        if route.method == "POST":
            assert {"Idempotency-Key", "Accept-Language"} <= {p["name"] for p in op["parameters"]}
            assert "409" in op["responses"]
        if route.if_match:
            assert "412" in op["responses"]


def test_money_is_a_string_with_a_pattern_not_pydantics_number_or_string():
    schemas = document()["components"]["schemas"]
    total = schemas["OrderDetail"]["properties"]["total"]
    assert total == {"examples": ["128.00"], "pattern": MONEY_PATTERN, "title": "Total", "type": "string"}
    assert "anyOf" not in schemas["OrderIn"]["properties"]["discount_percent"]


def test_a_request_model_refuses_what_its_schema_refuses():
    schema = {"$defs": rebased_components(), "$ref": "#/$defs/OrderIn"}
    bad = {"customer": "C001", "lines": [{"sku": "TEA-001", "qty": "2"}]}  # qty as a string
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    jsonschema.validate({"customer": "C001", "lines": [{"sku": "TEA-001", "qty": 2}]}, schema)
    with pytest.raises(ValueError):
        OrderIn.model_validate_json('{"customer": "C001", "lines": [{"sku": "TEA-001", "qty": "2"}]}')
    assert (
        OrderIn.model_validate_json('{"customer": "C001", "lines": [{"sku": "TEA-001", "qty": 2.0}]}').lines[0].qty == 2
    )


# --- outbound events --------------------------------------------------------------------------------


def _sample(hint: Any, name: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _sample(next(a for a in get_args(hint) if a is not type(None)), name)
    if origin is tuple:
        return (_sample(get_args(hint)[0], name),)
    if origin is dict:
        key, value = get_args(hint)
        return {_sample(key, name) if key is not str else "role": _sample(value, name)}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    if hint is bool:
        return True
    if hint is int:
        return 3
    if hint is Decimal:
        return Decimal("5360.00")
    if hint is datetime:
        return datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    if hint is date:
        return date(2026, 3, 31)
    return f"{name}-1"


def sample_event(cls: type[Event]) -> Event:
    hints = get_type_hints(cls)
    values = {f.name: _sample(hints[f.name], f.name) for f in fields(cls) if f.name != "at"}
    return cls(at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC), **values)


def envelope(event: Event, n: int = 7) -> dict[str, Any]:
    return {
        "id": f"evt_{n}",
        "type": event.name,
        "version": event.version,
        "timestamp": event.at.isoformat(),
        "data": payload(event),
    }


def test_every_event_in_the_catalogue_is_a_webhook_in_the_document():
    assert set(document()["webhooks"]) == set(EVENTS)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_real_payload_of_each_event_validates_against_its_webhook_schema(name):
    event = sample_event(EVENTS[name])
    schema = event_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(envelope(event))
    # and the schema is tight: a missing field, a wrong type or the wrong name is refused
    data = payload(event)
    first = next(iter(data))
    broken = envelope(event) | {"data": {k: v for k, v in data.items() if k != first}}
    assert not validator.is_valid(broken)
    assert not validator.is_valid(envelope(event) | {"type": "not.this"})
    assert not validator.is_valid(envelope(event) | {"id": "7"})


def test_a_field_stored_under_another_key_is_documented_under_that_key():
    data = document()["components"]["schemas"]["StockLowData"]
    assert "name" in data["properties"] and "product" not in data["properties"]
    assert "name" in payload(sample_event(EVENTS["stock.low"]))


def test_a_field_the_core_adds_later_stays_out_of_the_response_until_documented():
    from integrations.api.schemas import StockOut

    view = {
        "sku": "TEA-001",
        "name": "龙井茶 250g",
        "kit": False,
        "safety_stock": 20,
        "warehouses": [{"warehouse": "SH", "name": "上海仓", "on_hand": 5, "reserved": 1, "available": 4, "bin": "A1"}],
        "total": {"on_hand": 5, "reserved": 1, "available": 4},
        "locations": ["A1"],  # new in the core: not in the API's document
    }
    shown = StockOut.model_validate(view).model_dump(mode="json")
    assert "locations" not in shown and "bin" not in shown["warehouses"][0]
    assert document()["components"]["schemas"]["StockOut"]["additionalProperties"] is False
