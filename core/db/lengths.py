"""Text that does not fit its column is refused by name before it reaches the database.

PostgreSQL refuses a string longer than its ``VARCHAR(n)`` with a driver error at flush, which
a person could only see as the generic apology; SQLite stores it silently, so the same input
behaved differently per database. Every session checks the rows it is about to write, so each
free-text field (a SKU, a note, a coupon, a reason, a reference) is held to its column in one
place, on both databases.
"""

from __future__ import annotations

from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from core.errors import Field, TextTooLong


class CheckedSession(Session):
    """A session that refuses, before flushing, any string longer than its column allows."""


@event.listens_for(CheckedSession, "before_flush")
def _check_lengths(session: Session, _context: Any, _instances: Any) -> None:
    for row in chain(session.new, session.dirty):
        values = row.__dict__  # what is loaded or set; nothing else can be written by this flush
        for key, length in _limits(type(row)):
            value = values.get(key)
            if isinstance(value, str) and len(value) > length:
                raise TextTooLong(field=Field(key), limit=length)


@cache
def _limits(cls: type) -> tuple[tuple[str, int], ...]:
    """(attribute, length) of the class's length-limited text columns (read once per class)."""
    limits = []
    for attr in inspect(cls).column_attrs:
        column_type = attr.columns[0].type
        if isinstance(column_type, String) and column_type.length:
            limits.append((attr.key, column_type.length))
    return tuple(limits)
