"""Errors as RFC 9457 problem details (``application/problem+json``), in the reader's language.

Every refusal of the core is a ``DomainError`` with a stable ``code``: that code is the problem's
``code`` and the last part of its ``type`` URI; ``detail`` is the catalogue's sentence in the
language ``Accept-Language`` asks for (简体中文 or English). The status follows the error's family:

- 400: the request does not match the documented schema (``errors[]`` lists each field), a header
  is malformed, or the body cannot be read (not UTF-8, not JSON, nested too deep); 413: too large;
- 401: no key, or a key that is unknown or revoked (with ``WWW-Authenticate: Bearer``);
- 403: the key lacks the scope or permission (``params.scope`` names a missing scope);
- 404: no such order (also someone else's, for a customer-limited key), SKU, customer, ...;
- 409: the record's state does not allow it, or a retry while the first request still runs;
- 412: ``If-Match`` names a version the order no longer has;
- 422: the request matches the schema but the business rules refuse it (an unknown carrier, a
  quantity above the limit, a reused ``Idempotency-Key`` with a different body, ...);
- 503: the database is unavailable.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.i18n import Translator
from bot.texts import error_text
from core import idempotency
from core.auth import PermissionDenied
from core.errors import N_, ConcurrencyConflict, Conflict, DatabaseUnavailable, DomainError, InvalidInput, NotFound

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://chatops-oms.invalid/problems/"


class MissingKey(DomainError):
    code = "unauthenticated"
    template = N_("This request needs an API key: send it as Authorization: Bearer oms_….")


class InvalidKey(DomainError):
    code = "invalid_api_key"
    template = N_("That API key is unknown or was revoked.")


class MissingScope(DomainError):
    code = "missing_scope"
    template = N_("This API key may not do that: it needs the scope {scope}.")
    scope: str


class NoSuchRoute(NotFound):
    code = "no_such_route"
    template = N_("There is no {method} {path} in this API; its routes are in /api/v1/openapi.json.")
    method: str
    path: str


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    template = N_("{path} does not take {method}; it takes {allowed}.")
    method: str
    path: str
    allowed: str


class StaleVersion(DomainError):
    code = "precondition_failed"
    template = N_("{key} is at version {current}, not the version If-Match names; read it again and retry.")
    key: str
    current: int


class BadRequestBody(InvalidInput):
    """The body cannot be read at all (400); each reason is its own code."""

    code = "malformed_request"
    template = N_("The request body cannot be read.")


class BodyNotUtf8(BadRequestBody):
    code = "body_not_utf8"
    template = N_("The request body must be UTF-8.")


class BodyNotJson(BadRequestBody):
    code = "body_not_json"
    template = N_("The request body must be JSON.")


class BodyTooDeep(BadRequestBody):
    code = "body_too_deep"
    template = N_("The request body's JSON nests deeper than {limit} levels.")
    limit: int


class BodyLoneSurrogate(BadRequestBody):
    code = "body_lone_surrogate"
    template = N_("The request body's JSON escapes half of a character (a lone surrogate).")


class BodyEmpty(BadRequestBody):
    code = "body_empty"
    template = N_("The request body is empty; send a JSON object.")


def unreadable(reason: str, max_depth: int) -> BadRequestBody:
    """The refusal for one of ``integrations.web.body``'s reasons (``BadBody.reason``)."""
    if reason == "utf8":
        return BodyNotUtf8()
    if reason == "depth":
        return BodyTooDeep(limit=max_depth)
    if reason == "surrogate":
        return BodyLoneSurrogate()
    return BodyNotJson()


class RequestTooLarge(InvalidInput):
    code = "request_too_large"
    template = N_("The request body is larger than {limit:,} bytes.")
    limit: int


class RequestInvalid(InvalidInput):
    """The request does not match the documented schema (400, with ``errors[]``)."""

    code = "validation_failed"
    template = N_("The request does not match the API's schema; errors lists what to fix.")


class BadHeader(InvalidInput):
    code = "invalid_header"
    template = N_("A request header is not valid.")


class BadIdempotencyKey(BadHeader):
    code = "invalid_idempotency_key"
    template = N_("Idempotency-Key must be 1 to 128 printable ASCII characters.")


class BadIfMatch(BadHeader):
    code = "invalid_if_match"
    template = N_('If-Match must be the order\'s version as its ETag gives it, e.g. "3".')


def locale_of(request: web.Request) -> str:
    """``zh-CN`` when the first language ``Accept-Language`` prefers is Chinese, else ``en``."""
    best, best_q = "en", -1.0
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > best_q:
            best, best_q = tag.strip(), q
    return "zh-CN" if best.lower().startswith("zh") else "en"


def status_of(error: DomainError) -> int:
    if isinstance(error, MissingKey | InvalidKey):
        return 401
    if isinstance(error, PermissionDenied | MissingScope):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, StaleVersion):
        return 412
    if isinstance(error, MethodNotAllowed):
        return 405
    if isinstance(error, RequestTooLarge):
        return 413
    if isinstance(error, BadRequestBody | RequestInvalid | BadHeader):
        return 400
    if isinstance(error, idempotency.StillRunning | Conflict | ConcurrencyConflict):
        return 409
    if isinstance(error, DatabaseUnavailable):
        return 503
    return 422  # InvalidInput, pricing and master-data refusals, a reused idempotency key


# Each status's title, in the reader's language as the detail is (RFC 9457: a title changes only
# with localization). The English is the HTTP reason phrase.
TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    409: N_("Conflict"),
    412: N_("Precondition Failed"),
    413: N_("Request Entity Too Large"),
    422: N_("Unprocessable Entity"),
    503: N_("Service Unavailable"),
}


def body(request: web.Request, error: DomainError, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    status = status_of(error)
    _ = Translator(locale_of(request))
    title = TITLES.get(status)
    problem: dict[str, Any] = {
        "type": TYPE_BASE + error.code,
        "title": _(title) if title else HTTPStatus(status).phrase,
        "status": status,
        "detail": error_text(_, error),
        "code": error.code,
        "params": error.to_dict()["params"],
    }
    if errors is not None:
        problem["errors"] = errors
    return problem


def respond(body_: dict[str, Any], *, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=body_["status"],
        text=json.dumps(body_, ensure_ascii=False),
        content_type=CONTENT_TYPE,
        headers=headers,
    )


def problem(request: web.Request, error: DomainError, errors: list[dict[str, Any]] | None = None) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="oms"'} if status_of(error) == 401 else None
    if isinstance(error, DatabaseUnavailable):
        headers = {"Retry-After": "30"}
    return respond(body(request, error, errors), headers=headers)


def field_errors(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [p if isinstance(p, int) else str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def invalid(request: web.Request, error: ValidationError, where: str) -> web.Response:
    errors = field_errors(error)
    for e in errors:
        e["loc"] = [where, *e["loc"]]
    return problem(request, RequestInvalid(), errors)


# Every status a route can answer with a problem, for the OpenAPI document.
ERROR_STATUSES: dict[int, str] = {
    400: "The request does not match the schema (errors[] lists each field), or its body cannot be read.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key lacks a scope or permission this needs.",
    404: "No such resource (or not one this key may see).",
    409: "The state does not allow this now, or the first request with this Idempotency-Key still runs.",
    412: "If-Match names a version the order no longer has.",
    413: "The body is too large.",
    422: "Schema-valid, but refused by a business rule; or its Idempotency-Key was used for another request.",
    503: "The database is unavailable.",
}
