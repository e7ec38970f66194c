"""What every chat adapter calls once it has verified a request: one message or one tap in.

An adapter knows its platform's wire format; this module knows what happens next, the same for
all of them: a platform's retry of a delivery we already took is recognised and ignored, the
neutral chat layer answers, the exchange goes on the speaker's timeline, and the replies are
queued in the outbox for the chat the person spoke in. All of that is one transaction with the
change the command made (a turn, ``core.turn``): an order is never committed without the reply
that reports it, nor a reply without its order. Replies therefore leave through the same
rate-limited, retrying sender as every notification, and a card sent as a reply is edited later
like any other copy of it. The console goes through here too: its timeline is its delivery, so
nothing is queued for it, and its ``client_msg_id`` is answered from the first attempt's replies.

A delivery is taken at most once: its id is recorded before the command runs, so a platform's
retry never runs it again, even when the first run is still going or ended in an error (the
person is told, and can send it again). Running a typed command twice would be worse than not at
all (two orders), and taps are safe either way (a card version acts once).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, true

from bot import attachments
from bot.actions import ActionId
from bot.cards import render
from bot.conversation import (
    Identity,
    Speaker,
    answer_tap,
    answer_text,
    exchange,
    reads_only,
    unknown_identity,
    who,
)
from bot.delivery import SHOWS_TIMELINE, enqueue
from bot.events.dispatcher import deliver_pending
from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.models import Card, ChatMessage, Direction
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.router import COMMANDS
from bot.texts import error_text
from bot.views import Reply
from core import idempotency
from core import inbound as keys
from core.auth import Actor
from core.context import Context
from core.errors import DatabaseUnavailable
from core.inbound import Use, first_time
from core.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """Who spoke, where to answer, and the platform's own id for this delivery."""

    platform: str
    user: str  # the platform's user id, as bound to a person in the master data
    chat: str  # where replies go: a direct chat or a group (platform-specific recipient)
    event_id: str | None = None  # None: the platform never re-delivers this kind of request
    # True: ``event_id`` is the client's own request id (the console's ``client_msg_id``) and a
    # repeat is answered with the first attempt's replies instead of being ignored (Stripe's rules,
    # ``core.idempotency``: the same id for another request is refused, ``KeyReused``, and a repeat
    # while the first has no result yet too, ``StillRunning``; both raised before anything runs).
    replay: bool = False
    speaker: Speaker | None = None  # known already (a signed-in console session): not looked up


@dataclass(frozen=True)
class Written:
    """One reply's timeline row as it was committed."""

    id: int
    text: str | None
    card_id: int | None
    attachment_id: int | None
    created_at: datetime


@dataclass
class Answer:
    """What the chat layer said; adapters that answer in place (a toast, an ack) show ``texts``."""

    texts: list[str] = field(default_factory=list)
    known: bool = True  # False: the speaker is not bound to any user
    duplicate: bool = False  # a re-delivery: nothing was done, nothing queued (``replay``: see reply_ids)
    reply_ids: list[int] = field(default_factory=list)  # the replies' timeline rows (a replay: the first's)
    unavailable: DatabaseUnavailable | None = None  # the database is gone: ``texts`` says so
    # The replies' rows as this turn wrote them, so a platform showing its timeline (the console)
    # need not read them back; empty for a replay or an apology (read those by ``reply_ids``).
    written: list[Written] = field(default_factory=list)


def stale(services: Services, signed_at: datetime) -> str | None:
    """Why a signed request stamped ``signed_at`` is not trusted now (None: it is), for platforms
    whose signature covers a timestamp without a window of their own (WeCom): older than the
    de-duplication window, a replay could arrive after its key was pruned and act again."""
    return keys.stale(signed_at, services.clock())


async def first_use(services: Services, source: str, credential: str, body: bytes) -> Use:
    """Claim a signature that does not cover the body (DingTalk's robot ``timestamp`` + ``sign``)
    for this body, before the request is answered: ``Use.REUSED`` is a forged body riding on a
    captured signature, to refuse like a bad one."""
    return await services.run(Actor.system(source), lambda ctx: keys.first_use(ctx, source, credential, body))


async def message(services: Services, inbound: Inbound, text: str) -> Answer:
    """A typed message or command; replies are queued to ``inbound.chat``."""
    said = text.strip()
    return await _take(
        services,
        inbound,
        said,
        lambda speaker: answer_text(services, speaker, inbound.platform, said),
        queue=True,
        reads_only=reads_only(said),
    )


async def tap(
    services: Services, inbound: Inbound, action: str, *, queue_replies: bool = False, card_id: int | None = None
) -> Answer:
    """A button tap. The card's own edits reach every copy through the outbox; the replies (who
    acted, or why not) are returned for the adapter to show the tapper at once, and queued to the
    chat only when the platform has no in-place way to show them (``queue_replies``).

    ``card_id``: the card the platform says was tapped, where it sends one beside the action (the
    console); an action not for that card is refused as no longer valid."""
    not_ours = None
    if card_id is None:
        try:
            card_id = ActionId.decode(action).card_id
        except ValueError:
            _ = Translator(DEFAULT_BY_PLATFORM.get(inbound.platform, "en"))
            text = _("That button is not one of ours any more. Send /approvals to see what is waiting.")
            not_ours = [Reply(text=text)]
    tapped = card_id or 0
    return await _take(
        services,
        inbound,
        None,
        lambda speaker: answer_tap(services, speaker, inbound.platform, tapped, action),
        queue=queue_replies,
        not_ours=not_ours,
    )


async def _take(
    services: Services,
    inbound: Inbound,
    said: str | None,
    answer: Callable[[Speaker], Awaitable[list[Reply]]],
    *,
    queue: bool,
    not_ours: list[Reply] | None = None,
    reads_only: bool = False,
) -> Answer:
    """De-duplicate, then answer in one turn: what the command changed, the events it recorded
    (delivered in the turn), what was said and answered (the timeline) and the queued replies
    commit together or not at all. A platform that shows the timeline itself (the console) has
    nothing queued: its timeline rows are its replies.

    A command that only reads (``reads_only``) is answered before the turn, from a reading
    session: it has nothing to commit with its reply, and on SQLite the turn holds the one writer
    connection, which every other request's turn waits for meanwhile. Having recorded no events,
    its turn delivers none either (the dispatcher's poll and the next changing turn do).

    If the turn fails, nothing it did stands, and the apology is written in a fresh transaction
    (for a client's request id, as that request's result: a retry is shown the same apology)."""
    outbox = inbound.platform not in SHOWS_TIMELINE
    queue = queue and outbox
    try:
        if not inbound.replay and not await _first_time(services, inbound):
            return Answer(duplicate=True)
    except DatabaseUnavailable as error:
        return _unavailable(inbound, error)
    speaker: Speaker | None = inbound.speaker
    scope: str | None = None

    async def run() -> Answer:
        async with services.reads_together():  # the speaker and a read-only answer: one reading session
            return await answered()

    async def answered() -> Answer:
        nonlocal speaker, scope
        if not_ours is not None:  # no speaker to look up, nothing to keep: just say so
            if queue:
                await services.run(Actor.system(inbound.platform), lambda ctx: _queue(ctx, inbound, None, not_ours))
            return Answer(texts=[r.text for r in not_ours if r.text])
        if speaker is None:
            speaker = await who(services, Identity(inbound.platform, inbound.user))
        if speaker is None:  # not bound: tell them how to get bound, keep no timeline
            replies = unknown_identity(Identity(inbound.platform, inbound.user))
            if queue:
                await services.run(Actor.system(inbound.platform), lambda ctx: _queue(ctx, inbound, None, replies))
            return Answer(texts=[r.text for r in replies if r.text], known=False)
        if inbound.replay and inbound.event_id:
            scope = f"{inbound.platform}:{speaker.user_id}"
            claim = await _claim(services, inbound, scope, said)
            if not claim.fresh:
                return Answer(duplicate=True, reply_ids=list((claim.result or {}).get("reply_ids", [])))
        known = speaker
        read = await answer(known) if reads_only else None

        async def turn(ctx: Context) -> Answer:
            if read is not None:  # it recorded nothing: there is nothing of its own to deliver
                return await _keep(ctx, inbound, known, read, said=said, queue=queue, scope=scope)
            replies = await answer(known)
            # What the command recorded is delivered in the turn rather than on the dispatcher's
            # next poll (the same claim, so nothing twice): the cards and other people's timelines
            # move with the change, and the reply is queued after the card edits it reports.
            await deliver_pending(services)
            return await _keep(ctx, inbound, known, replies, said=said, queue=queue, scope=scope)

        # A read-only command's turn only writes the exchange: it goes ahead of the changes
        # waiting for SQLite's writer, so a lookup is not kept waiting behind a queue of approvals.
        # (Its start ends the shared reading session: what the turn reads, it reads afresh.)
        return await services.run_turn(Actor.system("chat"), turn, brief=read is not None)

    async def sorry(text: str) -> Answer:
        """The turn was rolled back: nothing it did stands. The apology, in a fresh transaction."""

        async def write(ctx: Context) -> list[int]:
            if outbox:  # even after a tap: the toast may not have been shown
                await _queue(ctx, inbound, speaker, [Reply(text=text)])
            if speaker is None:
                return []
            return [r.id for r in await _keep_rows(ctx, inbound, speaker, said, [Reply(text=text)], scope=scope)]

        return Answer(texts=[text], reply_ids=await services.run(Actor.system(inbound.platform), write))

    return await _told_if_it_fails(services, inbound, run, sorry)


async def _claim(services: Services, inbound: Inbound, scope: str, said: str | None) -> idempotency.Claim:
    """The client's request id, claimed in a transaction of its own before anything runs (so a
    retry arriving meanwhile sees it); raises ``KeyReused`` or ``StillRunning``."""
    key, request = inbound.event_id or "", said
    return await services.run(Actor.system(inbound.platform), lambda ctx: idempotency.claim(ctx, scope, key, request))


async def _told_if_it_fails(
    services: Services,
    inbound: Inbound,
    run: Callable[[], Awaitable[Answer]],
    sorry: Callable[[str], Awaitable[Answer]],
) -> Answer:
    """The chat layer turns a command's own errors into replies; this catches what fails around it
    (the database gone, a lock that never came, a timeline that could not be written), so the
    person hears something, not silence."""
    try:
        return await run()
    except DatabaseUnavailable as error:
        return _unavailable(inbound, error)
    except (idempotency.KeyReused, idempotency.StillRunning):
        raise  # the client's request id was refused: nothing ran, the caller says why
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("%s delivery %s failed [%s]", inbound.platform, inbound.event_id, reference)
        _ = Translator(DEFAULT_BY_PLATFORM.get(inbound.platform, "en"))
        text = _("Sorry, something went wrong on our side (reference {ref}).", ref=reference)
        try:
            return await sorry(text)
        except Exception:  # the database itself is gone: the log is all we have
            log.exception("could not tell %s %s about [%s]", inbound.platform, inbound.user, reference)
        return Answer(texts=[text])


def _unavailable(inbound: Inbound, error: DatabaseUnavailable) -> Answer:
    """The database is gone: nothing can be queued either, so the answer in place is all there is."""
    reason = error.params.get("reason")
    log.error("%s delivery %s refused: the database file is %s", inbound.platform, inbound.event_id, reason)
    text = error_text(Translator(DEFAULT_BY_PLATFORM.get(inbound.platform, "en")), error)
    return Answer(texts=[text], unavailable=error)


async def _first_time(services: Services, inbound: Inbound) -> bool:
    if inbound.event_id is None:
        return True
    return await services.run(
        Actor.system(inbound.platform), lambda ctx: first_time(ctx, inbound.platform, inbound.event_id or "")
    )


async def _keep(
    ctx: Context,
    inbound: Inbound,
    speaker: Speaker,
    replies: list[Reply],
    *,
    said: str | None,
    queue: bool,
    scope: str | None,
) -> Answer:
    """The exchange on the speaker's timeline and the replies in the outbox, in the turn."""
    rows = await _keep_rows(ctx, inbound, speaker, said, replies, scope=scope)
    if queue:
        await _queue(ctx, inbound, speaker, replies)
    written = [Written(r.id, r.text, r.card_id, r.attachment_id, r.created_at) for r in rows]
    return Answer(texts=[r.text for r in replies if r.text], reply_ids=[r.id for r in rows], written=written)


async def _keep_rows(
    ctx: Context, inbound: Inbound, speaker: Speaker, said: str | None, replies: list[Reply], *, scope: str | None
) -> list[ChatMessage]:
    """What was said and answered, as timeline rows (the replies' rows are returned); with a
    client's request id, the replies' row ids are stored as that request's result in the same
    transaction (a replay shows the same rows)."""
    rows = exchange(speaker, inbound.platform, said, replies, ctx.now(), keep=ctx.settings.max_text_length)
    if any(reply.attachment is not None for reply in replies):
        for row, reply in zip(rows[len(rows) - len(replies) :], replies, strict=True):
            if reply.attachment is not None:
                row.attachment = attachments.store(ctx, reply.attachment)
        ctx.session.add_all(rows)
        await ctx.session.flush()
    else:
        await _insert_rows(ctx, rows)
    out = [r for r in rows if r.direction == Direction.OUT]
    if scope is not None and inbound.event_id:
        await idempotency.complete(ctx, scope, inbound.event_id, {"reply_ids": [r.id for r in out]})
    return out


_TIMELINE = ChatMessage.__table__
_INSERT_ROW = insert(_TIMELINE).returning(_TIMELINE.c.id)  # built once: every chat turn runs it


async def _insert_rows(ctx: Context, rows: list[ChatMessage]) -> None:
    """Timeline rows without attachments, written one prebuilt INSERT … RETURNING each rather
    than by a flush of the unit of work, which cost a /order a tenth of its CPU more. The
    rows stay out of the session (their ids are set; nothing reads them back through it); what the
    session holds unwritten goes first, so the ids keep the order things were said in (flushed
    here, not left to the autoflush, which a ``no_autoflush`` block would turn off)."""
    if ctx.session.new:
        await ctx.session.flush()
    for row in rows:
        values = {
            "user_id": row.user_id,
            "platform": row.platform,
            "direction": row.direction,
            "text": row.text,
            "card_id": row.card_id,
            "attachment_id": None,
            "created_at": row.created_at,
        }
        row.id = (await ctx.session.execute(_INSERT_ROW, values)).scalar_one()


async def _queue(ctx: Context, inbound: Inbound, speaker: Speaker | None, replies: list[Reply]) -> None:
    locale = speaker.locale if speaker else DEFAULT_BY_PLATFORM.get(inbound.platform, "en")
    _ = Translator(locale)
    for reply in replies:
        # Under the card's lock: a tap closing it at this moment either waits for this reply (and
        # then edits it too) or has closed it already (and this renders it closed).
        card = await ctx.session.get(Card, reply.card_id, with_for_update=True) if reply.card_id else None
        if card is not None:
            payload = {"card": render(card, _, ctx.settings.timezone).to_dict(), "locale": locale, "reply": True}
            enqueue(ctx, inbound.platform, inbound.chat, "send", payload, card.id)
        elif reply.attachment is not None:  # an image or a file, ``text`` its caption
            to, payload = inbound.chat, {"text": reply.text, "locale": locale, "reply": True}
            if reply.private:
                to, payload = inbound.user, {"text": reply.text, "locale": locale}
            enqueue(ctx, inbound.platform, to, "send", payload, attachment=reply.attachment)
        elif reply.text and reply.private:
            enqueue(ctx, inbound.platform, inbound.user, "send", {"text": reply.text, "locale": locale})
        elif reply.text:
            enqueue(ctx, inbound.platform, inbound.chat, "send", {"text": reply.text, "locale": locale, "reply": True})


def command_menu(locale: str) -> list[tuple[str, str]]:
    """The English command names with a one-line description in ``locale``, for platforms that show
    a command menu (Telegram's ``setMyCommands``); Chinese aliases still work when typed."""
    _ = Translator(locale)
    seen: dict[str, str] = {}
    for command in COMMANDS.values():
        seen.setdefault(command.name, _(command.summary) if command.summary else _(command.usage))
    return list(seen.items())


async def renew_copy(
    services: Services,
    platform: str,
    recipient: str,
    card_id: int,
    renew: Callable[[str], str],
    *,
    handle_contains: str | None = None,
) -> bool:
    """A platform handed out a new handle for one delivered copy of a card (WeCom: each tap's
    single-use ``response_code``). It is kept on that copy's send row, where the dispatcher reads
    the message id for the next edit, so the copy stays editable after a restart too."""

    async def update(ctx: Context) -> bool:
        row = await ctx.session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.platform == platform,
                OutboxMessage.recipient == recipient,
                OutboxMessage.card_id == card_id,
                OutboxMessage.kind == "send",
                OutboxMessage.status == OutboxStatus.SENT,
                # which copy, when the person has several (a reminder repeats the card)
                OutboxMessage.platform_message_id.contains(handle_contains, autoescape=True)
                if handle_contains
                else true(),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        if row is None or row.platform_message_id is None:
            return False
        row.platform_message_id = renew(row.platform_message_id)
        return True

    return await services.run(Actor.system(platform), update)
