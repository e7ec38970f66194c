"""Append-only rows (audit records, domain events, stock movements) go in one INSERT per table per flush.

The unit of work inserts new rows of a table in one statement only where it can match each row to
the primary key it got back; SQLite's RETURNING promises no order, so there it inserts them one
statement each, and a placement wrote four audit rows and four events in eight round trips. Rows of
a class registered here are taken out of the session just before a flush and written with one Core
``executemany`` per table (on PostgreSQL, a small flush's rows of every table in one statement),
in the order they were added, inside the same transaction: a query after the flush (the history,
the event dispatcher's claim in a chat turn) sees them like any other row, and a rolled-back
savepoint drops them like any other pending object.

What it takes: nobody reads such an object back after adding it (its ``id`` stays None), and what
it points at already has an id, so is in the database before the flush starts; a row given an
object through a relationship instead of a key is left to the unit of work, which sets the key
from it. A class whose rows are read back only sometimes adds those that are not with
``add_in_bulk`` (a notification's timeline rows, unlike the speaker's own, whose ids the reply names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Insert, Table, event, insert, inspect
from sqlalchemy.orm import Session

from core.db.lengths import CheckedSession

_OMIT = object()  # a column filled by the server: leave it out of the row
# Up to this many bind parameters, a PostgreSQL flush's rows of several tables go in one statement
# (the protocol's ceiling is 32,767; a master-data load's thousands of rows stay one INSERT a
# table, each run as one pipelined executemany, and keep the statement cache free of their shapes).
ONE_STATEMENT_PARAMETERS = 2000


@dataclass(frozen=True)
class _Column:
    attr: str
    name: str
    keeps_none: bool  # the type stores None as something (JSON null), as the unit of work would
    fill: Callable[[], Any] | object | None  # what a missing value becomes: a default, None, or _OMIT


@dataclass(frozen=True)
class _Shape:
    table: Table
    columns: tuple[_Column, ...]
    relationships: tuple[str, ...]  # set to an object, the unit of work derives the foreign key


_SHAPES: dict[type, _Shape | None] = {}  # None until the first flush (mappers configured by then)
_ALWAYS: set[type] = set()  # classes every new row of which is written in bulk
_MARK = "_oms_in_bulk"  # set on an object added with add_in_bulk


def insert_in_bulk(cls: type) -> None:
    """Write new rows of ``cls`` in one multi-row INSERT per flush instead of one per row."""
    _SHAPES[cls] = None
    _ALWAYS.add(cls)


def add_in_bulk(session: Session | Any, obj: object) -> None:
    """Add ``obj`` to ``session`` (sync or async) to be written in bulk with the flush's others of
    its class, under this module's terms: it is not read back, and it points only at stored rows."""
    _SHAPES.setdefault(type(obj), None)
    setattr(obj, _MARK, True)
    session.add(obj)


def _shape(cls: type) -> _Shape:
    shape = _SHAPES[cls]
    if shape is None:
        shape = _SHAPES[cls] = _shape_of(cls)
    return shape


def _shape_of(cls: type) -> _Shape:
    mapper = inspect(cls)
    columns = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.primary_key:
            continue
        columns.append(_Column(attr.key, column.key, column.type.should_evaluate_none, _fill(column)))
    return _Shape(mapper.local_table, tuple(columns), tuple(rel.key for rel in mapper.relationships))


def _fill(column: Any) -> Callable[[], Any] | object | None:
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg
    if default is not None and default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy wraps a plain callable to take the context
    if default is not None or column.server_default is not None:
        return _OMIT
    return None


def _row(obj: object, shape: _Shape) -> dict[str, Any]:
    values = obj.__dict__
    row: dict[str, Any] = {}
    for column in shape.columns:
        value = values.get(column.attr)
        if value is None and not (column.keeps_none and column.attr in values):
            if column.fill is _OMIT:
                continue
            value = column.fill() if callable(column.fill) else None
        row[column.name] = value
    return row


def _sets_a_relationship(obj: object, shape: _Shape) -> bool:
    """Whether ``obj`` was given an object through a relationship (a timeline row its attachment)
    rather than a key: the unit of work sets the foreign key from it, so the row is left to it."""
    return any(obj.__dict__.get(key) is not None for key in shape.relationships)


@event.listens_for(CheckedSession, "before_flush")
def _write_in_bulk(session: Session, _context: Any, _instances: Any) -> None:
    pending = [obj for obj in session.new if type(obj) in _ALWAYS or getattr(obj, _MARK, False)]
    if not pending:
        return
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for obj in pending:
        shape = _shape(type(obj))
        if _sets_a_relationship(obj, shape):
            continue  # the unit of work writes it, its foreign key taken from the object
        session.expunge(obj)
        by_table.setdefault(shape.table, []).append(_row(obj, shape))
    groups = [
        (table, list(same_columns))
        for table, rows in by_table.items()
        for _, same_columns in groupby(rows, key=lambda row: tuple(row))
    ]
    connection = session.connection()
    if connection.dialect.name == "postgresql" and _one_statement_will_do(groups):
        connection.execute(_one_statement(groups))
        return
    for table, rows in groups:
        connection.execute(_insert(table), rows)


def _insert(table: Table) -> Insert:
    """The table's plain INSERT, built once (with its cache key): every flush of history runs it."""
    found = _INSERTS.get(table)
    if found is None:
        found = _INSERTS[table] = insert(table)
    return found


_INSERTS: dict[Table, Insert] = {}


def _one_statement_will_do(groups: list[tuple[Table, list[dict[str, Any]]]]) -> bool:
    """Several tables, each in one group (PostgreSQL runs a statement's CTEs in no set order, so two
    groups of one table could be numbered out of the order they were added), within the parameters."""
    tables = {table for table, _ in groups}
    parameters = sum(len(rows) * len(rows[0]) for _, rows in groups)
    return 1 < len(groups) == len(tables) and parameters <= ONE_STATEMENT_PARAMETERS


def _one_statement(groups: list[tuple[Table, list[dict[str, Any]]]]) -> Insert:
    """Every group's rows in one PostgreSQL statement: each group but the last a data-modifying CTE
    of the last's INSERT. PostgreSQL runs every such CTE to completion whether or not the main
    statement reads it, and numbers a VALUES list's rows in its order, so the rows arrive as the
    per-table INSERTs would write them, in one round trip instead of one per table."""
    *before, (table, rows) = groups
    statement = insert(table).values(rows)
    for i, (other, other_rows) in enumerate(before):
        statement = statement.add_cte(insert(other).values(other_rows).cte(f"bulk_{i}"))
    return statement
