"""Process-local copies of slow-changing rows (people and their chat identities, workflow rules,
webhook endpoints, price lists and promotions), kept right across processes by one number in the
database: the config stamp.

Every transaction that writes a watched table advances the stamp in that same transaction: the
ORM's flush is watched (``after_flush``) and so are Core INSERT/UPDATE/DELETE statements run
through a session (``do_orm_execute``). A copy made under stamp N is therefore stale as soon as the
stamp reads N+1, whichever process wrote it: ``oms load`` runs in a process of its own, and
``oms serve --workers N`` runs several servers on one database. Reading the stamp is one
primary-key SELECT, once per session, instead of the joins each copy stands for; a query the
session runs anyway can carry it as a column (``stamp_column``, ``remember``) for no round trip.

A session that itself wrote a watched table neither fills nor reads copies until it ends: what
it saw is not committed, and a rollback would leave a copy of rows that never existed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from core.db.lengths import CheckedSession
from core.orders.models import Counter

T = TypeVar("T")
NAME = "config"
WATCHED = frozenset(
    {"app_user", "chat_identity", "workflow_rule", "webhook_endpoint", "price_list", "price_list_item", "promotion"}
)
# Columns written as a side effect of work, not configuration: the webhook client's health after
# every attempt. Writing only these leaves the stamp alone, or webhook traffic would make every
# copy stale all the time.
NOT_CONFIG = {"webhook_endpoint": frozenset({"last_success_at", "last_failure_at", "last_error"})}
_READ_STAMP = select(Counter.value).where(Counter.name == NAME)  # built once: it runs on every request
_READ = "oms_stamp"  # session.info: the stamp this session read
_WROTE = "oms_stamp_wrote"  # session.info: this session advanced the stamp


class Copies:
    """Values computed from watched rows, each kept with the stamp it was computed under.

    At most ``limit`` of them: keys can come from outside (an identity nobody bound, typed into the
    open console), so a flood of new keys starts the copies afresh instead of growing them."""

    def __init__(self, limit: int = 4096) -> None:
        self._kept: dict[Hashable, tuple[int, Any]] = {}
        self._limit = limit

    async def get(self, session: AsyncSession, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The copy for ``key``, computed again (by ``compute``, in this session) when stale.

        The value must not hold ORM objects: it outlives the session that computed it."""
        current = await stamp(session)
        if current is None:
            return await compute()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == current:
            return kept[1]
        value = await compute()
        if len(self._kept) >= self._limit:
            self._kept.clear()
        self._kept[key] = (current, value)
        return value

    def clear(self) -> None:
        self._kept.clear()


async def stamp(session: AsyncSession) -> int | None:
    """This session's view of the stamp (read once); None when the session changed it itself."""
    info = session.sync_session.info
    if info.get(_WROTE):
        return None
    if _READ not in info:
        info[_READ] = await session.scalar(_READ_STAMP) or 0
    return info[_READ]


def stamp_column() -> Any:
    """The stamp as a column of another query, for ``remember``."""
    return _READ_STAMP.scalar_subquery().label("config_stamp")


def remember(session: AsyncSession, value: int | None) -> None:
    """What a ``stamp_column`` read, as this session's view of the stamp (unless it has one)."""
    session.sync_session.info.setdefault(_READ, value or 0)


def _advance(session: Session) -> None:
    """Every write advances it (not once per transaction: a SAVEPOINT rolled back takes its
    advance with it, and a later write in the same transaction must still count)."""
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(Counter).values(name=NAME, value=1)
    connection.execute(
        statement.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
    )
    session.info[_WROTE] = True


def _watched(row: object) -> bool:
    return getattr(row, "__tablename__", None) in WATCHED


def _config_changed(session: Session, row: object) -> bool:
    ignored = NOT_CONFIG.get(getattr(row, "__tablename__", ""), frozenset())
    if not ignored:
        return session.is_modified(row)
    state = inspect(row)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in ignored)


@event.listens_for(CheckedSession, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if any(_watched(row) for row in session.new) or any(_watched(row) for row in session.deleted):
        _advance(session)
    elif any(_watched(row) and _config_changed(session, row) for row in session.dirty):
        _advance(session)


@event.listens_for(CheckedSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if not (isinstance(table, Table) and table.name in WATCHED):
        return
    ignored = NOT_CONFIG.get(table.name)
    values = getattr(state.statement, "_values", None)
    if state.is_update and ignored and values and all(getattr(c, "key", c) in ignored for c in values):
        return
    _advance(state.session)


@event.listens_for(CheckedSession, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    """A new transaction reads the stamp afresh (the outermost one only: a SAVEPOINT ending
    leaves the transaction, and what it read, as they were)."""
    if transaction.parent is None:
        session.info.pop(_READ, None)
        session.info.pop(_WROTE, None)
