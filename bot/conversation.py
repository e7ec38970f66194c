"""The platform-neutral front door: a message or a tap in, replies out, the timeline kept.

``bot.gateway`` calls ``answer_text`` and ``answer_tap`` inside one turn (``core.turn``), so the
handlers' service calls and the reply commit together; everything a person sees (replies, cards,
errors) is translated for them here, and a stack trace never reaches chat.
Typed text is made printable and held to ``max_text_length`` here, once for every platform.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import bot.handlers  # noqa: F401  (its MODULES declare the commands)
from bot import attachments
from bot.i18n import DEFAULT_BY_PLATFORM, Translator
from bot.incoming import kept, printable
from bot.models import ChatMessage, Direction
from bot.router import COMMANDS, Chat, split
from bot.spelling import closest_command
from bot.taps import tap
from bot.texts import error_text
from bot.views import Reply
from bot.where import plain_words
from core.auth import Actor
from core.db.inline_sqlite import quick
from core.db.stamp import Copies
from core.errors import DomainError
from core.services import Services
from core.users.actors import actor_for
from core.users.models import ChatIdentity, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    platform: str
    external_id: str


@dataclass(frozen=True)
class Speaker:
    user_id: int
    actor: Actor
    locale: str


async def who(services: Services, identity: Identity) -> Speaker | None:
    """The active person bound to ``identity`` (None: nobody is), from this process's copy.

    The copy is kept under the config stamp (``core.db.stamp``): a user loaded, deactivated, given
    other roles or another language, or an identity moved, by this process or another (``oms
    load``), is seen on the very next request; until then a request costs one primary-key read."""
    with quick():  # the stamp by its key, the identity by its unique key
        async with services.reading() as session:
            return await _speakers(services).get(session, identity, lambda: _look_up(session, identity))


async def _look_up(session: AsyncSession, identity: Identity) -> Speaker | None:
    user = (
        await session.scalars(
            select(User)
            .join(ChatIdentity, ChatIdentity.user_id == User.id)
            .where(
                ChatIdentity.platform == identity.platform,
                ChatIdentity.external_id == identity.external_id,
                User.active.is_(True),
            )
        )
    ).one_or_none()
    return None if user is None else speaker_of(user, identity)


_SPEAKERS: WeakKeyDictionary[AsyncEngine, Copies] = WeakKeyDictionary()


def _speakers(services: Services) -> Copies:
    """One set of copies per database (per engine: a stamp means nothing on another database)."""
    copies = _SPEAKERS.get(services.engine)
    if copies is None:
        copies = _SPEAKERS[services.engine] = Copies()
    return copies


def speaker_of(user: User, identity: Identity) -> Speaker:
    """The person behind ``identity``, acting with their roles, in their language on that platform."""
    source = f"{identity.platform}:{identity.external_id}"
    return Speaker(user.id, actor_for(user, source), user.locale or DEFAULT_BY_PLATFORM.get(identity.platform, "en"))


def unknown_identity(identity: Identity) -> list[Reply]:
    _ = Translator(DEFAULT_BY_PLATFORM.get(identity.platform, "en"))
    return [
        Reply(
            text=_(
                "I don't know you yet. Ask an admin to add `{platform}: {id}` to your user in the "
                "master-data file and run `oms load`.",
                platform=identity.platform,
                id=identity.external_id,
            )
        )
    ]


async def answer_text(services: Services, speaker: Speaker, platform: str, text: str) -> list[Reply]:
    """What the chat layer answers ``speaker``, already known (a signed-in console session)."""
    chat = Chat(services, speaker.actor, speaker.user_id, platform, speaker.locale)
    text, limit = printable(text).strip(), services.settings.max_text_length
    if len(text) > limit:
        return chat.say(
            "A message can be at most {limit:,} characters long; this one has {length:,}.",
            limit=limit,
            length=len(text),
        )
    return await _guarded(chat, lambda: _dispatch(chat, text))


def reads_only(text: str) -> bool:
    """Whether ``text`` names a command declared ``reads_only`` (by any of its names)."""
    parsed = split(printable(text).strip())
    command = COMMANDS.get(parsed[0]) if parsed else None
    return command is not None and command.reads_only


async def answer_tap(services: Services, speaker: Speaker, platform: str, card_id: int, action: str) -> list[Reply]:
    chat = Chat(services, speaker.actor, speaker.user_id, platform, speaker.locale)
    return await _guarded(chat, lambda: tap(chat, card_id, action))


async def _dispatch(chat: Chat, text: str) -> list[Reply]:
    parsed = split(text)
    if parsed is None:
        if (answer := await plain_words(chat, text)) is not None:
            return answer
        return chat.say("Commands start with /. Send /help to see what you can do.")
    name, args = parsed
    command = COMMANDS.get(name)
    if command is None:
        if meant := closest_command(name, chat.actor):
            return chat.say("Unknown command /{name}. Did you mean /{meant}?", name=name, meant=meant)
        return chat.say("Unknown command /{name}. Send /help to see what you can do.", name=name)
    command.require(chat.actor)  # a refusal names what the command needs; translated below
    chat.command_usage = command.usage
    return await command.handler(chat, args)


async def _guarded(chat: Chat, run: Any) -> list[Reply]:
    try:
        replies = await run()
        for reply in replies:  # too large to send: said now, before the turn stores or queues anything
            if reply.attachment is not None:
                attachments.check(chat.services.settings, reply.attachment)
        return replies
    except DomainError as error:
        return [Reply(text=error_text(chat._, error))]
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("unexpected error [%s] for %s", reference, chat.actor.source)
        return chat.say("Sorry, something went wrong on our side (reference {ref}).", ref=reference)


def exchange(
    speaker: Speaker, platform: str, said: str | None, replies: list[Reply], now: datetime, *, keep: int
) -> list[ChatMessage]:
    """One exchange as timeline rows: what was said (if anything, at most ``keep`` characters of
    it, printable), then the replies."""
    heard = [] if said is None else [(Direction.IN, kept(said, keep), None)]
    return [
        ChatMessage(
            user_id=speaker.user_id, platform=platform, direction=direction, text=text, card_id=card_id, created_at=now
        )
        for direction, text, card_id in [*heard, *((Direction.OUT, r.text, r.card_id) for r in replies)]
    ]
