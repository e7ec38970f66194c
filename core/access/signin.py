"""Signing in to the web console: a single-use link opens a server-side session.

Links and sessions are bearer secrets: a random token goes to the person, a SHA-256 of it to the
database, so neither a database backup nor the audit log can be replayed into a session. A link
is redeemed with one conditional UPDATE, so two browsers racing with the same link get one
session between them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload

from core.access.models import SignInLink, WebSession
from core.audit.record import audit
from core.context import Context
from core.errors import N_, DomainError, UserNotFound
from core.users.actors import actor_for
from core.users.models import ChatIdentity, User

# last_seen_at is written at most this often: a write on every request would queue readers behind the writer.
TOUCH_EVERY = timedelta(minutes=1)


class SignInLinkInvalid(DomainError):
    code = "signin_link_invalid"
    template = N_("This sign-in link is unknown, already used or expired. Ask for a new one.")


@dataclass(frozen=True)
class SignedIn:
    """A session as the console needs it on every request: the person, and whose copy to write."""

    session_id: int
    user: User
    touch: bool  # last_seen_at is old enough to be written again


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def find_user(ctx: Context, who: str) -> User:
    """A user by name or by console identity, as an admin names them on the command line."""
    user = await ctx.session.scalar(
        select(User)
        .outerjoin(ChatIdentity, (ChatIdentity.user_id == User.id) & (ChatIdentity.platform == "console"))
        .where(or_(User.name == who, ChatIdentity.external_id == who))
        .limit(1)
    )
    if user is None or not user.active:
        raise UserNotFound(user=who)
    return user


async def issue_link(ctx: Context, user_id: int, via: str) -> str:
    """A new single-use sign-in token for the user; older unused links stay valid until they expire."""
    user = await ctx.session.get(User, user_id)
    if user is None or not user.active:
        raise UserNotFound(user=str(user_id))
    now = ctx.now()
    token = secrets.token_urlsafe(32)
    ctx.session.add(
        SignInLink(
            token_hash=_hash(token),
            user_id=user.id,
            issued_via=via[:64],
            issued_at=now,
            expires_at=now + timedelta(minutes=ctx.settings.signin_link_minutes),
        )
    )
    audit(ctx, entity="access", key=user.name[:64], action="signin_link_issued", reason=via)
    return token


async def peek_link(ctx: Context, token: str) -> User | None:
    """Whom a still-valid link is for, without using it (the page asks before signing in)."""
    link = await ctx.session.get(SignInLink, _hash(token))
    if link is None or link.used_at is not None or link.expires_at <= ctx.now():
        return None
    user = await ctx.session.get(User, link.user_id)
    return user if user is not None and user.active else None


async def redeem_link(ctx: Context, token: str, remote: str) -> tuple[str, WebSession]:
    """Use a link once: a new session and its secret (for the cookie). Audited as the person."""
    now = ctx.now()
    used = await ctx.session.execute(
        update(SignInLink)
        .where(SignInLink.token_hash == _hash(token), SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now)
        .returning(SignInLink.user_id, SignInLink.issued_via)
    )
    row = used.first()
    user = await ctx.session.get(User, row.user_id) if row else None
    if row is None or user is None or not user.active:
        raise SignInLinkInvalid()
    secret = secrets.token_urlsafe(32)
    session = WebSession(
        token_hash=_hash(secret),
        user_id=user.id,
        signed_in_via=row.issued_via,
        remote=remote[:200],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=ctx.settings.console_session_max_hours),
    )
    ctx.session.add(session)
    as_them = replace(ctx, actor=actor_for(user, "console"))
    audit(as_them, entity="access", key=user.name[:64], action="signin", reason=row.issued_via, remote=remote[:200])
    return secret, session


async def signed_in(ctx: Context, secret: str) -> SignedIn | None:
    """The live session behind a cookie, or None (unknown, revoked, idle too long, past its end,
    or its person deactivated)."""
    now = ctx.now()
    found = (
        await ctx.session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_hash == _hash(secret))
            .options(selectinload(User.identities))
        )
    ).first()
    if found is None:
        return None
    session, user = found
    idle = timedelta(minutes=ctx.settings.console_session_idle_minutes)
    if session.revoked_at is not None or session.expires_at <= now or session.last_seen_at + idle <= now:
        return None
    if not user.active:
        return None
    return SignedIn(session.id, user, touch=now - session.last_seen_at >= TOUCH_EVERY)


async def touch(ctx: Context, session_id: int) -> None:
    await ctx.session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=ctx.now()))


async def sign_out(ctx: Context, secret: str) -> bool:
    result = await ctx.session.execute(
        update(WebSession)
        .where(WebSession.token_hash == _hash(secret), WebSession.revoked_at.is_(None))
        .values(revoked_at=ctx.now())
    )
    return result.rowcount > 0


async def prune(ctx: Context, keep_for: timedelta = timedelta(days=1)) -> int:
    """Forget links and sessions that ended more than ``keep_for`` ago (the audit keeps the sign-ins)."""
    cutoff = ctx.now() - keep_for
    links = await ctx.session.execute(delete(SignInLink).where(SignInLink.expires_at < cutoff))
    sessions = await ctx.session.execute(
        delete(WebSession).where(or_(WebSession.expires_at < cutoff, WebSession.revoked_at < cutoff))
    )
    return links.rowcount + sessions.rowcount


async def end_sessions(ctx: Context, user: User) -> int:
    """Revoke every live session of ``user`` (``oms console logout``); returns how many."""
    now = ctx.now()
    result = await ctx.session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .values(revoked_at=now)
    )
    audit(ctx, entity="access", key=user.name[:64], action="sessions_ended", count=result.rowcount)
    return result.rowcount
