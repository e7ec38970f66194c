"""Text that does not fit its column is refused by name before it reaches the database.

PostgreSQL refuses a string longer than its ``VARCHAR(n)`` with a driver error at flush, which
a person could only see as the generic apology; SQLite stores it silently, so the same input
behaved differently per database. Every session checks the rows it is about to write, so each
free-text field (a SKU, a note, a coupon, a reason, a reference) is held to its column in one
place, on both databases.
"""

from __future__ import annotations

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
        for attr in inspect(row).mapper.column_attrs:
            column = attr.columns[0]
            length = column.type.length if isinstance(column.type, String) else None
            value = getattr(row, attr.key, None) if length else None
            if isinstance(value, str) and len(value) > length:
                raise TextTooLong(field=Field(attr.key), limit=length)
