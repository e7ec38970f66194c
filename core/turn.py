"""One person's turn: what a chat request changes and the reply reporting it, in one transaction.

A chat request runs several service calls (place the order, then read it back for the reply) and
then writes what was said and answered. Each call used to be its own transaction, so a crash
between the order's commit and its reply's left an order nobody was told about. A turn holds one
unit of work open for the whole request; while it is open, ``Services.run`` and ``Services.query``
called in the same task join it instead of opening their own:

- each ``run`` is a SAVEPOINT, so a refused or failed step rolls back only itself and the handler
  can still answer with the refusal, which is written and committed with the rest;
- a ``query`` reads through the turn's session, so it sees the turn's own uncommitted writes (the
  order just placed) — and on SQLite it must: the writer engine has one connection, held by the
  turn, and a second session would wait for it until the pool times out;
- a permission refusal is audited in the turn's session after its savepoint is rolled back (and
  again in a transaction of its own if the turn as a whole is rolled back);
- a step the database chose as a deadlock or serialization victim poisons the turn even if the
  handler turned the error into a reply: the turn is rolled back and run again from the start
  (``Services.run_turn``), since retrying the step alone would retry inside an aborted transaction.

The turn is found through a context variable, so it follows the request's task and nothing else:
a background loop (the outbox, the timers) never joins a request's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core.audit.record import audit
from core.auth import Actor, PermissionDenied
from core.context import Context
from core.errors import ChangedMeanwhile

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def retryable(error: DBAPIError) -> bool:
    orig = error.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in RETRYABLE_SQLSTATES


def record_refusal(ctx: Context, denied: PermissionDenied) -> None:
    """The audit row for a refused permission, in ``ctx``'s transaction."""
    audit(
        ctx,
        entity="access",
        key=ctx.actor.name[:64],
        action="denied",
        reason=denied.message,
        permission=denied.permission.value,
    )


@dataclass
class Turn:
    owner: object  # the Services that opened it: another Services (another database) never joins it
    session: AsyncSession
    context: Callable[[AsyncSession, Actor], Context]
    retry: DBAPIError | None = None  # set: roll the whole turn back and run it again
    refusals: list[tuple[Actor, PermissionDenied]] = field(default_factory=list)

    async def step(self, actor: Actor, action: Callable[[Context], Awaitable[T]]) -> T:
        """``action`` inside a SAVEPOINT of the turn: kept if it returns, undone alone if it raises."""
        ctx = self.context(self.session, actor)
        try:
            async with self.session.begin_nested():
                return await action(ctx)
        except StaleDataError as error:
            raise ChangedMeanwhile() from error
        except PermissionDenied as denied:
            self.refusals.append((actor, denied))
            record_refusal(ctx, denied)
            raise
        except DBAPIError as error:
            if self.retry is None and retryable(error):
                self.retry = error
            raise


_CURRENT: ContextVar[Turn | None] = ContextVar("oms_turn", default=None)


def current(owner: object) -> Turn | None:
    """The turn ``owner`` opened in this task, if one is open."""
    turn = _CURRENT.get()
    return turn if turn is not None and turn.owner is owner else None


def enter(turn: Turn) -> object:
    return _CURRENT.set(turn)


def leave(token: object) -> None:
    _CURRENT.reset(token)  # type: ignore[arg-type]
