"""``INSERT … ON CONFLICT`` in the session's own dialect (SQLite and PostgreSQL both have it, each
through its own SQLAlchemy construct), for the tables whose writers race on a unique key."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from core.context import Context


def insert(ctx: Context, model: Any) -> Any:
    """An INSERT for ``model`` that can say ``.on_conflict_do_nothing(...)``."""
    if ctx.session.bind.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
