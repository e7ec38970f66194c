"""Who the console speaks for: the signed-in person (``signin`` mode) or whoever the page names
(``open`` mode, a loopback-only demo).

In ``signin`` mode a single-use link (from the ``/console`` chat command or ``oms console link``)
opens a server-side session held in an ``HttpOnly``, ``SameSite=Strict`` cookie. Opening the link
only shows a page that asks; the session starts when the person presses the button there, so a
chat platform that fetches links to preview them cannot use up the link.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.conversation import Identity, Speaker, speaker_of, who
from bot.i18n import normalise
from core.access import signin
from core.auth import Actor
from core.users.models import User
from integrations.web.app import SERVICES

PLATFORM = "console"
COOKIE = "oms_console"
STATIC = Path(__file__).resolve().parent / "static"
LINK_PAGE = (STATIC / "signin.html").read_text(encoding="utf-8")  # read once: it is filled per request


@dataclass(frozen=True)
class Mode:
    name: str  # "signin" or "open"
    public_url: str | None = None

    @property
    def signin(self) -> bool:
        return self.name == "signin"

    @property
    def secure_cookie(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))


MODE = web.AppKey("console_mode", Mode)


def bad(message: str, status: int = 400, **extra: Any) -> web.HTTPException:
    """A JSON error the page can show: ``{"error": "...", ...}``."""
    kinds = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound}
    body = json.dumps({"error": message, **extra}, ensure_ascii=False)
    return kinds[status](text=body, content_type="application/json")


def _claimed(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad("'user' must name a console identity")
    return value.strip()


async def speaker_for(request: web.Request, claimed: Any, *, unknown_ok: bool = False) -> tuple[Speaker | None, str]:
    """The person this request speaks for, and the identity id to show the page.

    ``open``: the identity the request names (None for an unbound one when ``unknown_ok``: they
    are told how to get bound). ``signin``: the session's owner; a request naming anyone else is
    refused (403), one without a live session too (401)."""
    services = request.app[SERVICES]
    user_field = _claimed(claimed)
    if not request.app[MODE].signin:
        if user_field is None:
            raise bad("'user' must name a console identity")
        speaker = await who(services, Identity(PLATFORM, user_field))
        if speaker is None and not unknown_ok:
            raise bad(f"No console identity is called “{user_field}”.", 404)
        return speaker, user_field
    session = await _session(request)
    me = console_id(session.user)
    if user_field is not None and user_field not in (me, session.user.name):
        raise bad("You are signed in as someone else; the console speaks only for you.", 403, code="not_you")
    return speaker_of(session.user, Identity(PLATFORM, me)), me


async def still_signed_in(request: web.Request) -> bool:
    """For long-lived requests (the event stream): is the session that opened it still live?"""
    if not request.app[MODE].signin:
        return True
    try:
        await _session(request)
    except web.HTTPUnauthorized:
        return False
    return True


def console_id(user: User) -> str:
    """The person's console identity if the master data gives one, else a stable stand-in."""
    return next((i.external_id for i in user.identities if i.platform == PLATFORM), f"user-{user.id}")


async def _session(request: web.Request) -> signin.SignedIn:
    secret = request.cookies.get(COOKIE)
    services = request.app[SERVICES]
    found = await services.query(Actor.system("console"), lambda ctx: signin.signed_in(ctx, secret)) if secret else None
    if found is None:
        raise bad("Sign in first: send /console to the bot in your chat app for a sign-in link.", 401, code="signin")
    if found.touch:
        await services.run(Actor.system("console"), lambda ctx: signin.touch(ctx, found.session_id))
    return found


async def me(request: web.Request) -> web.Response:
    """Who the page is for: the signed-in person (``signin``), or just the mode (``open``)."""
    if not request.app[MODE].signin:
        return web.json_response({"mode": "open"})
    session = await _session(request)
    user = session.user
    return web.json_response(
        {
            "mode": "signin",
            "identity": {
                "id": console_id(user),
                "name": user.name,
                "roles": user.roles,
                "warehouses": user.warehouses,
                "locale": normalise(user.locale or "zh-CN"),
            },
        }
    )


async def link_page(request: web.Request) -> web.Response:
    """``/console/signin?token=…``: says whom the link is for and asks; using it is a POST."""
    token = request.query.get("token", "")
    services = request.app[SERVICES]
    user = await services.query(Actor.system("console"), lambda ctx: signin.peek_link(ctx, token)) if token else None
    name = html.escape(user.name) if user else ""
    page = LINK_PAGE.replace("{{name}}", name).replace("{{state}}", "ready" if user else "invalid")
    return web.Response(text=page, content_type="text/html")


async def redeem(request: web.Request) -> web.Response:
    """``POST /console/api/signin {"token"}``: one use of the link, a session, its cookie."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad("the body must be JSON") from None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or len(token) > 200:
        raise bad("'token' must be the sign-in link's token")
    remote = f"{request.remote or '?'} {request.headers.get('User-Agent', '')}".strip()
    services = request.app[SERVICES]
    try:
        secret, session = await services.run(
            Actor.system("console"), lambda ctx: signin.redeem_link(ctx, token, remote)
        )
    except signin.SignInLinkInvalid as error:
        raise bad(error.message, 401, code=error.code) from None
    response = web.json_response({"ok": True})
    max_age = int((session.expires_at - session.created_at).total_seconds())
    response.set_cookie(
        COOKIE,
        secret,
        path="/console",
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=request.app[MODE].secure_cookie,
    )
    return response


async def sign_out(request: web.Request) -> web.Response:
    secret = request.cookies.get(COOKIE)
    if secret:
        await request.app[SERVICES].run(Actor.system("console"), lambda ctx: signin.sign_out(ctx, secret))
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/console")
    return response


def mount_signin(app: web.Application) -> None:
    app.router.add_get("/console/signin", link_page)
    app.router.add_post("/console/api/signin", redeem)
    app.router.add_post("/console/api/signout", sign_out)
