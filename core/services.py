"""The composition root of the core: one object the CLI, the chat layer, the REST API and the
webhooks all use to run a service function as one unit of work.

It turns lost optimistic-locking races into ``ConcurrencyConflict`` and writes an audit row for
every refused permission, in a transaction of its own (the refused one is rolled back). A chat
request runs as one ``turn`` (``core.turn``): the service calls it makes join one transaction,
with the reply that reports them. On SQLite
it refuses to work on a database file that was deleted or replaced under it (``DatabaseUnavailable``)
rather than acknowledge writes into a file nobody will see again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core import shared_reads
from core import turn as turns
from core.auth import Actor, PermissionDenied
from core.clock import Clock, utcnow
from core.config import Settings
from core.context import Context
from core.db import (
    registry,  # noqa: F401  (every model mapped before the first query)
    writer_queue,
)
from core.db.engine import create_engine, session_factory
from core.db.sqlite_file import DatabaseFile, sqlite_path
from core.errors import ChangedMeanwhile, DatabaseUnavailable
from core.orders.review import ReviewPolicy
from core.turn import record_refusal, retryable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Reads: on SQLite a second engine whose transactions begin deferred (WAL lets them run beside
    # the one writer); on PostgreSQL the same engine.
    read_engine: AsyncEngine | None = None
    readers: async_sessionmaker[AsyncSession] | None = None
    clock: Clock = utcnow
    review_policy: ReviewPolicy | None = None
    database_file: DatabaseFile | None = None  # SQLite on disk: the file, watched for deletion
    _closed: bool = field(default=False, repr=False)
    _lost: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = utcnow) -> Services:
        options = {"busy_timeout_ms": settings.sqlite_busy_timeout_ms, "synchronous": settings.sqlite_synchronous}
        engine = create_engine(settings.database_url, **options)
        read_engine = None
        if engine.dialect.name == "sqlite":
            read_engine = create_engine(settings.database_url, read_only=True, **options)
        path = sqlite_path(settings.database_url)
        database_file = DatabaseFile(path) if path else None
        if database_file is not None:
            database_file.problem()  # remember the file we start on (if it exists yet)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            read_engine=read_engine,
            readers=session_factory(read_engine) if read_engine else None,
            clock=clock,
            database_file=database_file,
        )

    def database_problem(self) -> str | None:
        """Why the database file cannot be used ("missing", "replaced"), or None (also off SQLite)."""
        return self.database_file.problem() if self.database_file is not None else None

    def _require_database(self) -> None:
        if self.database_file is None or (problem := self.database_file.problem()) is None:
            return
        if self._lost != problem:  # once per change, not once per request
            self._lost = problem
            log.error("the database file %s is %s; refusing to read or write", self.database_file.path, problem)
        raise DatabaseUnavailable(reason=problem)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: closing it ends its transaction without committing, and what it
        loaded stays readable (detached) afterwards. Inside ``reads_together`` it is the block's
        shared session, closed when the block ends or a write starts."""
        self._require_database()
        async with shared_reads.reading(self, self.readers or self.sessions) as session:
            yield session

    def reads_together(self) -> AbstractAsyncContextManager[None]:
        """The reads in this block share one reading session until its first write
        (``core.shared_reads``): a request's lookups before its turn."""
        return shared_reads.together(self)

    def _context(self, session: AsyncSession, actor: Actor) -> Context:
        return Context(
            session=session, actor=actor, settings=self.settings, clock=self.clock, review_policy=self.review_policy
        )

    async def query(self, actor: Actor, action: Callable[[Context], Awaitable[T]]) -> T:
        """Run a read-only service call (order lookups, stock views) without taking the write lock;
        inside a turn, in the turn's transaction (it sees what the turn wrote so far)."""
        if (turn := turns.current(self)) is not None:
            return await turn.step(actor, action)
        async with self.reading() as session:
            try:
                return await action(self._context(session, actor))
            except PermissionDenied as denied:
                await self._audit_refusal(actor, denied)
                raise

    @asynccontextmanager
    async def unit_of_work(self, actor: Actor) -> AsyncIterator[Context]:
        """A transaction acting as ``actor``: committed if the block succeeds, rolled back if not.

        The database file is checked before the work and again before the commit, so a write is
        never acknowledged into a file deleted or replaced meanwhile.
        """
        if turns.current(self) is not None:
            # A second transaction would break the turn's promise (all or nothing), and on SQLite
            # it would wait for the one writer connection the turn itself holds.
            raise RuntimeError("a unit of work cannot open inside a turn; use run() to join it")
        self._require_database()
        await shared_reads.end_before_writing(self)
        try:
            async with self.sessions() as session:
                async with session.begin():
                    yield self._context(session, actor)
                    self._require_database()
        except StaleDataError as error:
            raise ChangedMeanwhile() from error
        except PermissionDenied as denied:
            await self._audit_refusal(actor, denied)
            raise

    async def run(self, actor: Actor, action: Callable[[Context], Awaitable[T]], *, attempts: int = 3) -> T:
        """Run ``action`` as one unit of work, again from the start if the database chose it as a
        deadlock or serialization victim (PostgreSQL aborts one of two transactions that wait on
        each other; the other has committed, so a fresh attempt sees its result).

        Inside a turn it is a step of the turn (a SAVEPOINT); a deadlock there retries the turn."""
        if (turn := turns.current(self)) is not None:
            return await turn.step(actor, action)
        for attempt in range(1, attempts + 1):
            try:
                async with self.unit_of_work(actor) as ctx:
                    return await action(ctx)
            except DBAPIError as error:
                if attempt == attempts or not retryable(error):
                    raise
                log.info("retrying after %s (attempt %d)", type(error.orig).__name__, attempt)
                await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def turn(self, actor: Actor, *, brief: bool = False) -> AsyncIterator[Context]:
        """One transaction for a whole request (``core.turn``): ``run`` and ``query`` called in
        this task while it is open join it; it commits once, when the block ends without error.

        ``brief``: the turn only records an exchange (a read-only command answered before it), so
        on SQLite it is given the writing connection before the other turns waiting for it."""
        if turns.current(self) is not None:
            raise RuntimeError("a turn is already open in this task")
        self._require_database()
        await shared_reads.end_before_writing(self)
        refusals: list[tuple[Actor, PermissionDenied]] = []
        committed = False
        try:
            async with self.sessions() as session:
                async with session.begin():
                    turn = turns.Turn(self, session, self._context)
                    token = turns.enter(turn)
                    try:
                        with writer_queue.brief() if brief else nullcontext():  # the connection is taken here
                            yield self._context(session, actor)
                        if turn.retry is not None:  # a step lost a deadlock; its handler replied anyway
                            raise turn.retry
                        self._require_database()
                    finally:
                        turns.leave(token)
                        refusals = turn.refusals
                committed = True
        except StaleDataError as error:
            raise ChangedMeanwhile() from error
        finally:
            if not committed:  # the refusals' audit rows went down with the turn: write them again
                for refused_actor, denied in refusals:
                    await self._audit_refusal(refused_actor, denied)

    async def run_turn(
        self, actor: Actor, body: Callable[[Context], Awaitable[T]], *, attempts: int = 3, brief: bool = False
    ) -> T:
        """Run ``body`` as one turn (``brief``: see ``turn``), again from the start if the database
        chose the turn (or one of its steps) as a deadlock or serialization victim."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.turn(actor, brief=brief) as ctx:
                    return await body(ctx)
            except DBAPIError as error:
                if attempt == attempts or not retryable(error):
                    raise
                log.info("retrying the turn after %s (attempt %d)", type(error.orig).__name__, attempt)
                await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _audit_refusal(self, actor: Actor, denied: PermissionDenied) -> None:
        try:
            async with self.sessions() as session, session.begin():
                record_refusal(Context(session=session, actor=actor, settings=self.settings, clock=self.clock), denied)
        except Exception:  # the refusal itself must still reach the caller
            log.exception("could not audit a refused request by %s", actor.name)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.engine.dispose()
            if self.read_engine is not None:
                await self.read_engine.dispose()
