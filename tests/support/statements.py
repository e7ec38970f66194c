"""The SQL statements a block sends to the writing engine, for tests that bound what a path costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from core.services import Services


@contextmanager
def statements(services: Services, *, with_parameters: bool = False) -> Iterator[list[Any]]:
    """The statements sent inside the block, in order (``(statement, parameters)`` pairs with
    ``with_parameters``)."""
    seen: list[Any] = []

    def count(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # noqa: ANN001
        seen.append((statement, parameters) if with_parameters else statement)

    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)
