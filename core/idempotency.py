"""Idempotency keys with stored results: a client's retry is answered from the first result.

Stripe's semantics: the first request with a key claims it (its own short transaction, so a
concurrent retry sees the claim), and its result is stored when it is done. A retry with the same
key and the same request gets that stored result; the same key with a different request is
refused; a retry while the first is still running (or was cut off before storing its result) is
told so, and nothing runs twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.context import Context
from core.db.base import Base
from core.errors import N_, DomainError

KEEP_FOR = timedelta(hours=24)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)  # whose keys: "console:12", "api:erp"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]


class KeyReused(DomainError):
    """The key was first used for a different request."""

    code = "idempotency_key_reused"
    template = N_("This request id was already used for a different request.")


class StillRunning(DomainError):
    """The first request with this key has no stored result: it is running, or was cut off."""

    code = "idempotency_in_progress"
    template = N_(
        "This request is already being handled (or was interrupted); check the result before sending it again."
    )


@dataclass(frozen=True)
class Claim:
    fresh: bool  # True: run the request, then store its result with ``complete``
    result: dict[str, Any] | None = None  # the stored result of the first request (fresh False)


def fingerprint(request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def claim(ctx: Context, scope: str, key: str, request: Any) -> Claim:
    """Claim ``key`` for ``request``, or return the first request's stored result."""
    digest = fingerprint(request)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.execute(
                insert(IdempotencyKey).values(scope=scope, key=key, request_hash=digest, created_at=ctx.now())
            )
        return Claim(fresh=True)
    except IntegrityError:
        pass
    first = await ctx.session.get(IdempotencyKey, (scope, key), populate_existing=True)
    if first is None:  # pruned in between: too old to matter
        raise StillRunning()
    if first.request_hash != digest:
        raise KeyReused()
    if first.completed_at is None:
        raise StillRunning()
    return Claim(fresh=False, result=first.result)


async def complete(ctx: Context, scope: str, key: str, result: dict[str, Any]) -> None:
    await ctx.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(result=result, completed_at=ctx.now())
    )


async def prune(ctx: Context, keep_for: timedelta = KEEP_FOR) -> int:
    result = await ctx.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < ctx.now() - keep_for))
    return result.rowcount


async def release(ctx: Context, scope: str, key: str) -> None:
    """Forget a claim whose request failed before it stored anything (its transaction rolled
    back), so a retry runs instead of being told the first is still running."""
    await ctx.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.completed_at.is_(None)
        )
    )
