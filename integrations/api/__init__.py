"""The REST API under ``/api/v1`` for ERP, finance, WMS and customer portals, its OpenAPI 3.1
document at ``/api/v1/openapi.json`` and a page rendering it at ``/api/docs``.

Every request carries ``Authorization: Bearer oms_…``; the key is an actor (``api:NAME``) whose
scopes are the permissions roles are made of, so the core's services check, audit and record
events for it as they do for a person in chat. The routes are in ``routes.py``, their shared
wrapper (scopes, validation, idempotency, errors) in ``registry.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler

from core.apikeys import authenticate
from core.apikeys.service import USED_EVERY
from core.auth import Actor
from core.errors import DatabaseUnavailable
from integrations.api import docs, openapi, problems
from integrations.api.registry import ACTOR, PREFIX, mount_routes
from integrations.web.app import SERVICES

Authenticate = Callable[..., Awaitable[Actor | None]]
PUBLIC = {PREFIX + "/openapi.json"}
LAST_NOTED = web.AppKey("api_keys_noted", dict)


def _token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@web.middleware
async def authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/api/v1``: the bearer key becomes the request's actor, or the answer is 401."""
    if not request.path.startswith(PREFIX + "/") or request.path in PUBLIC:
        return await handler(request)
    token = _token(request)
    if token is None:
        return problems.problem(request, problems.MissingKey())
    services = request.app[SERVICES]
    try:
        async with services.reading() as session:
            actor = await authenticate(session, token)
        if actor is not None:
            await _note_use(request.app, token, actor)
    except DatabaseUnavailable as error:
        return problems.problem(request, error)
    if actor is None:
        return problems.problem(request, problems.InvalidKey())
    request[ACTOR] = actor
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as wrong:  # the router's own answers, as problems like the rest
        allowed = ", ".join(sorted(wrong.allowed_methods))
        refusal = problems.MethodNotAllowed(method=request.method, path=request.path, allowed=allowed)
        return problems.respond(problems.body(request, refusal), headers={"Allow": allowed})
    except web.HTTPNotFound:
        return problems.problem(request, problems.NoSuchRoute(method=request.method, path=request.path))


async def _note_use(app: web.Application, token: str, actor: Actor) -> None:
    """Bring the key's ``last_used_at`` up to date, at most once a minute per key and process (a
    read-only check per request otherwise, so a busy integration costs no writes)."""
    services, now = app[SERVICES], datetime.now(UTC)
    seen = app[LAST_NOTED]
    if (last := seen.get(actor.name)) is not None and now - last < USED_EVERY:
        return
    seen[actor.name] = now
    async with services.sessions() as session, session.begin():
        await authenticate(session, token, now=services.clock())


async def spec(request: web.Request) -> web.Response:
    return web.json_response(openapi.document(), headers={"Cache-Control": "no-cache"})


def mount(app: web.Application) -> str | None:
    """The API, always on (it answers nothing without a key someone created with ``oms apikey``)."""
    app[LAST_NOTED] = {}
    app.middlewares.append(authenticated)
    app.router.add_get(PREFIX + "/openapi.json", spec)
    mount_routes(app)
    docs.mount(app)
    return "api"
