"""The OpenAPI 3.1 document, written from the route table and the very models that validate requests.

pydantic's JSON Schema (2020-12) is OpenAPI 3.1's schema dialect, so the models' schemas go into
``components.schemas`` unchanged; ``paths`` come from ``registry.ROUTES`` (scope, models, error
statuses), and ``webhooks`` from the event catalogue (``event_schemas``). A unit test validates
the result with ``openapi-spec-validator``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from integrations.api import problems, production, routes  # noqa: F401  (routes register themselves)
from integrations.api.event_schemas import envelopes
from integrations.api.registry import PREFIX, REPLAYED, ROUTES, Route
from integrations.api.schemas import Problem

REF = "#/components/schemas/{model}"
PATH_PARAMS = {
    "order_no": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$", "examples": ["SO-100001"]},
    "sku": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", "examples": ["TEA-001"]},
    "mo_no": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$", "examples": ["MO-100001"]},
}
_PARAM = re.compile(r"{(\w+)}")

DESCRIPTION = """\
The OMS for machines: ERP, finance, WMS and customer portals work with orders, stock and returns
through the same services, permissions, rules and audit as chat.

- **Auth**: `Authorization: Bearer oms_…` (create a key with `oms apikey create NAME --scopes …`).
  A route names the scope it needs; a key limited to one customer sees only that customer's
  orders and returns (another's is 404), one limited to warehouses only theirs.
- **Money** is a decimal string (`"128.00"`); **times** are ISO 8601 with an offset.
- **Errors** are `application/problem+json` (RFC 9457) with the catalogue's stable `code`;
  `detail` follows `Accept-Language` (`zh-CN` or English). A request that does not match this
  document (or a body that is not UTF-8 JSON) is **400**, with `errors[]` naming each field; one
  that matches it but is refused by a business rule (an unknown carrier, a quantity above the
  limit) is **422**; an unknown order **404**; a state that does not allow the action **409**; a
  stale `If-Match` **412**.
- **Idempotency**: send `Idempotency-Key` on any POST. The first response (status and body) is
  kept 24 h and replayed for a retry with the same body (`Idempotent-Replayed: true`); the same
  key with another body is 422; a retry while the first still runs is 409.
- **Pagination**: `limit` (1–100, default 20) and `starting_after` (the last id of the previous
  page); the response is `{"data": [...], "has_more": bool}`, newest first for orders.
- **Events**: see `webhooks`; each is POSTed signed per Standard Webhooks.
"""


def _parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
        for name in _PARAM.findall(route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            params.append(param)
        schemas.update(schema.get("$defs", {}))
    if route.method == "POST":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes a retry safe: the first response is stored 24 h and replayed.",
                "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,128}$"},
            }
        )
    if route.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": 'Act only if the order is still at this version (its ETag, e.g. "3").',
                "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'},
            }
        )
    params.append(
        {
            "name": "Accept-Language",
            "in": "header",
            "required": False,
            "description": "`zh-CN` for errors in 简体中文; anything else: English.",
            "schema": {"type": "string", "examples": ["zh-CN"]},
        }
    )
    return params


def _operation(route: Route, refs: dict[tuple[type[BaseModel], str], Any], schemas: dict[str, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": refs[(Problem, "serialization")]}}
    responses: dict[str, Any] = {
        str(route.status): {
            "description": "OK" if route.status == 200 else "Created",
            "content": {"application/json": {"schema": refs[(route.response, "serialization")]}},
        }
    }
    if route.method == "POST":
        responses[str(route.status)]["headers"] = {
            REPLAYED: {
                "description": "`true` when this is the stored response of an earlier request with the same key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    for status in route.errors:
        entry: dict[str, Any] = {"description": problems.ERROR_STATUSES[status], "content": problem}
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[str(status)] = entry
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route, schemas),
        "responses": responses,
        "security": [{"bearer": []}],
        "x-required-scope": route.scope,
    }
    op["description"] = (route.description + "\n\n" if route.description else "") + f"Scope: `{route.scope}`."
    if route.body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    return op


@cache
def document() -> dict[str, Any]:
    events = envelopes()
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for r in ROUTES:
        models.append((r.response, "serialization"))
        if r.body is not None:
            models.append((r.body, "validation"))
    models += [(m, "serialization") for m in events.values()]
    unique = list(dict.fromkeys(models))
    refs, defs = models_json_schema(unique, ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        paths.setdefault(PREFIX + r.path, {})[r.method.lower()] = _operation(r, refs, schemas)
    webhooks = {
        name: {
            "post": {
                "operationId": f"event_{name.replace('.', '_')}",
                "summary": (model.__doc__ or name).strip(),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": refs[(model, "serialization")]}},
                },
                "responses": {"2XX": {"description": "Received; anything else is retried with backoff."}},
            }
        }
        for name, model in events.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatops-oms", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in dict.fromkeys(r.tag for r in ROUTES)],
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "oms_…"}},
        },
        "security": [{"bearer": []}],
    }


def event_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one event's envelope, self-contained (for validating a delivery)."""
    doc = document()
    ref = doc["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return {"$defs": rebased_components(), **_rebase(ref)}


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _rebase(v)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def rebased_components() -> dict[str, Any]:
    return _rebase(document()["components"]["schemas"])
