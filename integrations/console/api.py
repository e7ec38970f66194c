"""The web console, the fifth "platform": a page, its JSON API (SPEC §9) and a live event stream.

The API speaks for a console identity (``user`` is its id); it adds nothing of its own to the
product: every message and tap goes through ``bot.gateway`` like any other platform's (its
de-duplication, one transaction for the change and its reply); the page reads the replies from
the timeline rows the gateway wrote, so nothing is queued for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from bot import gateway
from bot.cards import render
from bot.conversation import Speaker
from bot.gateway import Answer, Inbound, Written
from bot.i18n import Translator, normalise
from bot.models import Card, ChatAttachment, ChatMessage
from bot.router import visible_commands
from bot.texts import error_text
from core import idempotency
from core.errors import DomainError
from core.services import Services
from core.users.models import ChatIdentity, User
from core.users.preferences import LOCALES, set_locale
from integrations.console.perimeter import guard, security_headers
from integrations.console.signin import MODE, PLATFORM, Mode, bad, me, mount_signin, speaker_for, still_signed_in
from integrations.web import changes, events
from integrations.web.app import SERVICES
from integrations.web.body import cursor, is_row_id, json_object

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
API = "/console/api"
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # never SVG: it can script


class Waker:
    """Wakes every open event stream at once when something was written."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def wake(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


CHANGED = web.AppKey("console_changed", Waker)
CLOSING = web.AppKey("console_closing", asyncio.Event)
POLL_SECONDS = 0.5
PING_SECONDS = 15.0


async def _json(request: web.Request) -> dict[str, Any]:
    settings = request.app[SERVICES].settings
    return await json_object(request, max_bytes=settings.max_json_body_bytes, max_depth=settings.max_json_depth)


def _wake(app: web.Application) -> None:
    """Wake this process's streams, and tell the other server processes (if any) to wake theirs."""
    app[CHANGED].wake()
    changes.announce(app)


async def entries(services: Services, speaker: Speaker, *, after: int = 0, ids: list[int] | None = None) -> list[dict]:
    async with services.reading() as session:
        stmt = select(ChatMessage).where(ChatMessage.user_id == speaker.user_id, ChatMessage.platform == PLATFORM)
        stmt = stmt.where(ChatMessage.id.in_(ids)) if ids is not None else stmt.where(ChatMessage.id > after)
        rows = list(await session.scalars(stmt.order_by(ChatMessage.id)))
        card_ids = {r.card_id for r in rows if r.card_id}
        cards = {c.id: c for c in await session.scalars(select(Card).where(Card.id.in_(card_ids)))} if card_ids else {}
        files = await _attachments(session, {r.attachment_id for r in rows if r.attachment_id})
    _ = Translator(speaker.locale)
    tz = services.settings.timezone
    return [
        {
            "id": r.id,
            "direction": str(r.direction),
            "text": r.text,
            "card": render(cards[r.card_id], _, tz).to_dict() if r.card_id in cards else None,
            "attachment": {**files[r.attachment_id], "url": f"{API}/attachments/{r.id}"}
            if r.attachment_id in files
            else None,
            "at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def _plain(written: list[Written], reply_ids: list[int]) -> list[dict] | None:
    """The replies as ``entries`` would read them back, from the rows the turn wrote, when they are
    text only; None when they must be read (a card is rendered as it is now, an attachment is
    described from its row, a replay or an apology carries no rows of its own)."""
    if [w.id for w in written] != reply_ids or any(w.card_id or w.attachment_id for w in written):
        return None
    return [
        {
            "id": w.id,
            "direction": "out",
            "text": w.text,
            "card": None,
            "attachment": None,
            "at": w.created_at.astimezone(UTC).isoformat(),
        }
        for w in written
    ]


async def _attachments(session: Any, ids: set[int]) -> dict[int, dict[str, Any]]:
    """What the page shows of each attachment (never the bytes: those come from ``attachment``)."""
    if not ids:
        return {}
    A = ChatAttachment
    rows = await session.execute(select(A.id, A.filename, A.media_type, A.kind, A.size).where(A.id.in_(ids)))
    return {r.id: {"filename": r.filename, "media_type": r.media_type, "kind": r.kind, "size": r.size} for r in rows}


async def attachment(request: web.Request) -> web.Response:
    """The bytes of an image or file on the reader's own timeline (``message`` is the timeline
    row), to the person it was sent to only: an image the page may show inline, anything else as
    a download (so a file can never run as a page of ours)."""
    speaker, _user = await speaker_for(request, request.query.get("user"))
    message_id = request.match_info["message"]
    if not message_id.isdigit() or not is_row_id(int(message_id)):
        raise bad("no such attachment", 404)
    async with request.app[SERVICES].reading() as session:
        row = (
            await session.execute(
                select(ChatAttachment)
                .join(ChatMessage, ChatMessage.attachment_id == ChatAttachment.id)
                .where(
                    ChatMessage.id == int(message_id),
                    ChatMessage.user_id == speaker.user_id,
                    ChatMessage.platform == PLATFORM,
                )
            )
        ).scalar_one_or_none()
    if row is None:
        raise bad("no such attachment (or it is no longer kept)", 404)
    inline = row.kind == "image" and row.media_type in INLINE_IMAGES
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=row.data,
        content_type=row.media_type or "application/octet-stream",
        headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.filename)}"},
    )


async def identities(request: web.Request) -> web.Response:
    """Every console identity, for the picker; served only in ``open`` mode."""
    services = request.app[SERVICES]
    async with services.reading() as session:
        rows = (
            await session.execute(
                select(ChatIdentity.external_id, User)
                .join(User, User.id == ChatIdentity.user_id)
                .where(ChatIdentity.platform == PLATFORM, User.active.is_(True))
                .order_by(User.id)
            )
        ).all()
    return web.json_response(
        {
            "identities": [
                {
                    "id": external_id,
                    "name": user.name,
                    "roles": user.roles,
                    "warehouses": user.warehouses,
                    "locale": normalise(user.locale or "en"),
                }
                for external_id, user in rows
            ]
        }
    )


async def inbox(request: web.Request) -> web.Response:
    speaker, user = await speaker_for(request, request.query.get("user"))
    after = cursor(request.query.get("after"))
    services = request.app[SERVICES]
    items = await entries(services, speaker, after=after)
    last = items[-1]["id"] if items else after
    return web.json_response(
        {
            "user": user,
            "locale": speaker.locale,
            # The zone the cards' times are written in; the page shows its own times in it too.
            "timezone": services.settings.timezone,
            # What this person may type, so the page offers no command they would be refused.
            "commands": [c.name for c in visible_commands(speaker.actor)],
            "entries": items,
            "last_id": last,
        }
    )


async def messages(request: web.Request) -> web.Response:
    """A typed message, through ``bot.gateway`` like every platform's. With a ``client_msg_id``
    a retry (a reply lost to a dropped connection) is answered with the first attempt's replies
    and runs nothing again."""
    body = await _json(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad("'text' must be a non-empty string")
    msg_id = body.get("client_msg_id")
    if msg_id is not None and not (isinstance(msg_id, str) and 0 < len(msg_id) <= 128):
        raise bad("'client_msg_id' must be a string of at most 128 characters")
    services = request.app[SERVICES]
    async with services.reads_together():  # the speaker, then the gateway's reads before its turn
        speaker, user = await speaker_for(request, body.get("user"), unknown_ok=True)
        inbound = Inbound(PLATFORM, user, user, event_id=msg_id or None, replay=True, speaker=speaker)
        answer = await _message(services, inbound, text, speaker)
    return await _answered(request, speaker, answer)


async def _message(services: Services, inbound: Inbound, text: str, speaker: Speaker | None) -> Answer:
    try:
        return await gateway.message(services, inbound, text)
    except (idempotency.KeyReused, idempotency.StillRunning) as error:
        status = web.HTTPUnprocessableEntity if isinstance(error, idempotency.KeyReused) else web.HTTPConflict
        raise _refused(status, error, speaker.locale if speaker else "en") from None


async def actions(request: web.Request) -> web.Response:
    body = await _json(request)
    card_id, action = body.get("card_id"), body.get("action")
    if not is_row_id(card_id) or not isinstance(action, str):
        raise bad("'card_id' (a number) and 'action' (a string) are required")
    speaker, user = await speaker_for(request, body.get("user"), unknown_ok=True)
    inbound = Inbound(PLATFORM, user, user, speaker=speaker)
    answer = await gateway.tap(request.app[SERVICES], inbound, action, card_id=card_id)
    return await _answered(request, speaker, answer)


async def _answered(request: web.Request, speaker: Speaker | None, answer: Answer) -> web.Response:
    """The replies as the page shows them: the timeline rows the gateway wrote for them (a replay:
    the first attempt's rows); for an unbound identity, how to get bound, kept on no timeline."""
    if answer.unavailable is not None:
        raise answer.unavailable  # answered 503 with the reason
    if speaker is None or not answer.known:
        now = datetime.now(UTC).isoformat()
        replies = [{"id": None, "direction": "out", "text": t, "card": None, "at": now} for t in answer.texts]
        return web.json_response({"replies": replies})
    replies = _plain(answer.written, answer.reply_ids)
    if replies is None:
        replies = await entries(request.app[SERVICES], speaker, ids=answer.reply_ids)
    if answer.duplicate:
        return web.json_response({"replies": replies, "replayed": True})
    _wake(request.app)
    return web.json_response({"replies": replies})


def _refused(kind: type[web.HTTPException], error: DomainError, locale: str) -> web.HTTPException:
    """A refusal the page shows as it is: in the reader's language, with its stable code."""
    body = json.dumps({"error": error_text(Translator(locale), error), "code": error.code}, ensure_ascii=False)
    return kind(text=body, content_type="application/json")


async def locale(request: web.Request) -> web.Response:
    body = await _json(request)
    speaker, _user = await speaker_for(request, body.get("user"))
    wanted = body.get("locale")
    if wanted not in LOCALES:
        raise bad("'locale' must be 'en' or 'zh-CN'")
    await request.app[SERVICES].run(speaker.actor, lambda ctx: set_locale(ctx, speaker.user_id, wanted))
    return web.json_response({"ok": True})


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: new timeline entries, and cards in the timeline that changed."""
    services = request.app[SERVICES]
    speaker, _user = await speaker_for(request, request.query.get("user"))
    after = cursor(request.query.get("after"))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    cards = CardWatch(services, speaker)
    await cards.changed()  # what the reader has now is the baseline
    idle = 0.0
    try:
        while not request.app[CLOSING].is_set():
            for entry in await entries(services, speaker, after=after):
                await response.write(f"event: entry\ndata: {json.dumps(entry, ensure_ascii=False)}\n\n".encode())
                after = entry["id"]
            for card in await cards.changed():
                await response.write(f"event: card\ndata: {json.dumps(card, ensure_ascii=False)}\n\n".encode())
            if idle >= PING_SECONDS:
                if not await still_signed_in(request):  # signed out or revoked meanwhile: stop telling
                    break
                await response.write(b": ping\n\n")
                idle = 0.0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(request.app[CHANGED].event.wait(), POLL_SECONDS)
            idle += POLL_SECONDS
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


class CardWatch:
    """Which cards on one reader's timeline changed since last asked.

    It looks back a margin behind its last look, because a card's ``updated_at`` is stamped before
    its transaction commits; what it already sent is remembered, so nothing is sent twice.
    """

    MARGIN = timedelta(seconds=30)

    def __init__(self, services: Services, speaker: Speaker) -> None:
        self.services, self.speaker = services, speaker
        self.sent: dict[int, tuple[str, int, str]] = {}
        self.since = datetime.now(UTC) - self.MARGIN

    async def changed(self) -> list[dict[str, Any]]:
        async with self.services.reading() as session:
            looked_at = datetime.now(UTC)
            mine = select(ChatMessage.card_id).where(
                ChatMessage.user_id == self.speaker.user_id,
                ChatMessage.platform == PLATFORM,
                ChatMessage.card_id.is_not(None),
            )
            cards = list(await session.scalars(select(Card).where(Card.id.in_(mine), Card.updated_at > self.since)))
        self.since = looked_at - self.MARGIN
        _ = Translator(self.speaker.locale)
        fresh = []
        for card in cards:
            fingerprint = (str(card.state), card.version, card.updated_at.isoformat())
            if self.sent.get(card.id) != fingerprint:
                self.sent[card.id] = fingerprint
                fresh.append(render(card, _, self.services.settings.timezone).to_dict())
        return fresh


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def mount(app: web.Application) -> str | None:
    """The console in the settings' mode (``signin`` unless set; ``off``: not mounted)."""
    settings = app[SERVICES].settings
    mode = settings.console_mode or "signin"
    if mode == "off":
        return None
    app[MODE] = Mode(mode, settings.public_url)
    app.middlewares.append(guard(settings.public_url))
    app.on_response_prepare.append(security_headers)
    app[CHANGED] = Waker()
    app[CLOSING] = asyncio.Event()

    async def closing(app: web.Application) -> None:  # let open event streams end for a quick shutdown
        app[CLOSING].set()
        app[CHANGED].wake()  # this process's streams only: the others keep serving

    app.on_shutdown.append(closing)
    app.router.add_get("/console", page)
    app.router.add_static("/console/static", STATIC)
    if mode == "open":
        app.router.add_get("/console/api/identities", identities)
    mount_signin(app)
    app.router.add_get("/console/api/me", me)
    app.router.add_get("/console/api/inbox", inbox)
    app.router.add_post("/console/api/messages", messages)
    app.router.add_post("/console/api/actions", actions)
    app.router.add_post("/console/api/locale", locale)
    app.router.add_get("/console/api/stream", stream)
    app.router.add_get("/console/api/attachments/{message}", attachment)
    from integrations.console.dashboard import mount_dashboard  # it builds on this module's waker

    mount_dashboard(app)
    events.on_delivered(app, lambda: _wake(app))  # events delivered by the dispatcher reach open streams
    changes.mount(app, app[CHANGED].wake)  # and so do changes made by another server process
    return "console"
