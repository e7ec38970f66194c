"""Human-friendly, gap-tolerant document numbers (``SO-100001``, ``RMA-100001``).

PostgreSQL hands them out from a sequence (no lock, so placements run in parallel); SQLite,
which has a single writer anyway, advances a counter row with one conditional UPDATE.
"""

from __future__ import annotations

from sqlalchemy import ScalarSelect, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.context import Context
from core.orders.models import NUMBER_SEQUENCES, Counter

FIRST = 100_000
_ADVANCE = (  # built once: every order, return and document number on SQLite runs it
    update(Counter)
    .where(Counter.name == bindparam("counter"))
    .values(value=Counter.value + 1)
    .returning(Counter.value)
    .execution_options(synchronize_session=False)
)


def has_sequences(ctx: Context) -> bool:
    """Whether numbers come from database sequences (PostgreSQL), so one can be drawn with
    another query (``drawn_along``); SQLite advances a counter row instead."""
    return ctx.session.bind.dialect.name == "postgresql"


def drawn_along(name: str) -> ScalarSelect[int]:
    """PostgreSQL's next number as a column for a query the caller makes anyway (one round trip
    fewer), where ``has_sequences``. An uncorrelated subquery: PostgreSQL draws it once per query,
    however many rows the query returns. Format it with ``numbered``."""
    return select(NUMBER_SEQUENCES[name].next_value()).scalar_subquery()


def numbered(prefix: str, value: int) -> str:
    return f"{prefix}-{value}"


async def next_number(ctx: Context, name: str, prefix: str) -> str:
    session = ctx.session
    if has_sequences(ctx):
        return numbered(prefix, await session.scalar(select(NUMBER_SEQUENCES[name].next_value())))
    for _ in range(3):
        value = (await session.execute(_ADVANCE, {"counter": name})).scalar_one_or_none()
        if value is not None:
            return numbered(prefix, value)
        try:
            async with session.begin_nested():
                await session.execute(insert(Counter).values(name=name, value=FIRST))
        except IntegrityError:
            pass  # another transaction created it first; advance theirs
    raise RuntimeError(f"could not advance counter {name}")  # pragma: no cover
