"""The route table: each route's method, path, scope and models, and the one wrapper every route
runs in, so scope checks, request validation, idempotency and error mapping are the same for all
of them and the OpenAPI document (``openapi.py``) is written from the same table.

A route's handler gets a ``Call`` (the key's actor, the validated body and query, the path) and
returns ``work``: a function of a core ``Context`` that calls the service functions and returns
``(status, body)``. The wrapper runs it as one unit of work (``Services.run``) for a POST, or as a
read (``Services.query``) for a GET, so every change goes through the core with the key's actor:
its permissions, its audit rows, its events.

``Idempotency-Key`` (any POST), Stripe's semantics through ``core.idempotency`` (scope: the key's
actor name, ``api:NAME``): the key is claimed in its own transaction, then the work runs and its
response is stored in the work's own transaction, so a change and its stored response commit
together. A retry with the same key and body gets the stored status and body back
(``Idempotent-Replayed: true``); the same key with another body is 422; a retry while the first is
still running is 409. A refusal (4xx) is stored too, as Stripe does; an unexpected failure frees the
key (nothing was committed), so the retry runs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from core import idempotency
from core.auth import Actor
from core.context import Context
from core.errors import ChangedMeanwhile, ConcurrencyConflict, DatabaseUnavailable, DomainError
from core.services import Services
from integrations.api import problems
from integrations.api.problems import MissingScope, RequestTooLarge, StaleVersion
from integrations.web.app import SERVICES
from integrations.web.body import BadBody, loads, read

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
ACTOR = web.RequestKey("api_actor", Actor)
Work = Callable[[Context], Awaitable[tuple[int, dict[str, Any]]]]
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_VERSION = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')
REPLAYED = "Idempotent-Replayed"
# Refusals that say "try again": not stored for the key, so the retry runs instead of replaying them.
TRANSIENT = (ChangedMeanwhile, DatabaseUnavailable)


@dataclass
class Call:
    request: web.Request
    actor: Actor
    services: Services
    body: Any = None
    query: Any = None
    expected_version: int | None = None

    def path(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[Work]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under PREFIX, OpenAPI-style placeholders: /orders/{order_no}
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    scope: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    if_match: bool = False  # takes If-Match: "<order version>"
    description: str = ""
    errors: tuple[int, ...] = field(default=(400, 401, 403, 404, 422, 503))


ROUTES: list[Route] = []


def route(method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        errors = options.pop("errors", None)
        if errors is None:
            errors = (400, 401, 403, 404, 409, 413, 422, 503) if method == "POST" else (400, 401, 403, 404, 422, 503)
            if options.get("if_match"):
                errors = tuple(sorted({*errors, 412}))
        doc = (handler.__doc__ or "").strip()
        summary = options.pop("summary", None) or doc.splitlines()[0]
        description = "\n".join(doc.splitlines()[1:]).strip()
        ROUTES.append(
            Route(
                method,
                path,
                handler,
                operation_id=handler.__name__,
                summary=summary,
                description=description,
                errors=errors,
                **options,
            )
        )
        return handler

    return register


def _settings(request: web.Request) -> Any:
    return request.app[SERVICES].settings


async def _body(request: web.Request, model: type[BaseModel], required: bool) -> tuple[Any, Any]:
    """The raw JSON (for the idempotency fingerprint) and the validated model."""
    settings = _settings(request)
    try:
        raw = await read(request, max_bytes=settings.max_json_body_bytes)
        value = loads(raw, max_depth=settings.max_json_depth) if raw.strip() else ({} if not required else None)
    except BadBody as bad:
        if bad.status == 413:
            raise RequestTooLarge(limit=settings.max_json_body_bytes) from None
        raise problems.unreadable(bad.reason, settings.max_json_depth) from None
    if value is None:
        raise problems.BodyEmpty()
    # From the JSON text (already checked above), so strict mode takes enum values and ISO times
    # as JSON carries them, and nothing else.
    return value, model.model_validate_json(raw if raw.strip() else b"{}")


def _expected_version(request: web.Request) -> int | None:
    value = request.headers.get("If-Match")
    if value is None:
        return None
    match = _VERSION.match(value.strip())
    if not match:
        raise problems.BadIfMatch()
    return int(match.group(1))


def wrap(route_: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        actor = request[ACTOR]
        raw: Any = None
        try:
            if route_.scope not in actor.scopes:
                raise MissingScope(scope=route_.scope)
            call = Call(request, actor, services)
            if route_.query is not None:
                try:
                    call.query = route_.query.model_validate(dict(request.query))
                except ValidationError as error:
                    return problems.invalid(request, error, "query")
            if route_.body is not None:
                try:
                    raw, call.body = await _body(request, route_.body, route_.body_required)
                except ValidationError as error:
                    return problems.invalid(request, error, "body")
            if route_.if_match:
                call.expected_version = _expected_version(request)
            key = request.headers.get("Idempotency-Key") if route_.method == "POST" else None
            if key is not None and not _IDEMPOTENCY_KEY.match(key):
                raise problems.BadIdempotencyKey()
            work = await route_.handler(call)
            if route_.method != "POST":
                status, body = await services.query(actor, work)
                return _json(request, route_, status, body)
            if key is None:
                status, body = await services.run(actor, work)
                return _json(request, route_, status, body)
            return await _idempotent(request, route_, call, work, key, raw)
        except DomainError as error:
            return problems.problem(request, _versioned(error, request, route_))

    endpoint.__name__ = route_.operation_id
    return endpoint


def _versioned(error: DomainError, request: web.Request, route_: Route) -> DomainError:
    """A stale version the client named in If-Match is 412, not a plain conflict."""
    if route_.if_match and type(error) is ConcurrencyConflict and request.headers.get("If-Match") is not None:
        return StaleVersion(key=error.key, current=error.current)
    return error


def _json(request: web.Request, route_: Route, status: int, body: dict[str, Any], **headers: str) -> web.Response:
    response = web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json", headers=headers
    )
    if isinstance(body, dict) and isinstance(body.get("version"), int) and "order_no" in body:
        response.headers["ETag"] = f'"{body["version"]}"'
    return response


async def _idempotent(request: web.Request, route_: Route, call: Call, work: Work, key: str, raw: Any) -> web.Response:
    services, actor = call.services, call.actor
    scope = actor.name[:64]
    fingerprint = {"method": request.method, "path": request.path, "body": raw}
    claim = await services.run(actor, lambda ctx: idempotency.claim(ctx, scope, key, fingerprint))
    if not claim.fresh:
        stored = claim.result or {}
        status, body = int(stored.get("status", 200)), stored.get("body", {})
        if status >= 400:
            return problems.respond(body, headers={REPLAYED: "true"})
        return _json(request, route_, status, body, **{REPLAYED: "true"})

    async def work_and_store(ctx: Context) -> tuple[int, dict[str, Any]]:
        status, body = await work(ctx)
        await idempotency.complete(ctx, scope, key, {"status": status, "body": body})
        return status, body

    try:
        status, body = await services.run(actor, work_and_store)
    except TRANSIENT as error:  # nothing happened and a retry may well succeed: let it run
        await _release(services, actor, scope, key)
        return problems.problem(request, error)
    except DomainError as error:
        refused = problems.body(request, _versioned(error, request, route_))
        stored = {"status": refused["status"], "body": refused}
        await services.run(actor, lambda ctx: idempotency.complete(ctx, scope, key, stored))
        return problems.respond(refused)
    except BaseException:
        await _release(services, actor, scope, key)
        raise
    return _json(request, route_, status, body)


# Placeholders that must not swallow a fixed sibling path (GET /stock/{sku} beside POST
# /stock/receipts), so a request to the sibling is told the methods it really has.
_ROUTER_PATTERNS = {"{sku}": "{sku:(?!receipts$|adjustments$)[^/]+}"}


async def _release(services: Services, actor: Actor, scope: str, key: str) -> None:
    try:
        await services.run(actor, lambda ctx: idempotency.release(ctx, scope, key))
    except Exception:  # the original failure is what the caller must see
        log.exception("could not free idempotency key %s for %s", key, scope)


def mount_routes(app: web.Application) -> None:
    for r in ROUTES:
        path = r.path
        for placeholder, pattern in _ROUTER_PATTERNS.items():
            path = path.replace(placeholder, pattern)
        app.router.add_route(r.method, PREFIX + path, wrap(r), name=r.operation_id)
