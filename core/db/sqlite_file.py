"""The SQLite file under a running process: is it there, and is it still the file we opened?

The connections already open keep writing into a deleted file's inode: every write is
acknowledged, and lost when the process ends; a new connection quietly creates an empty file in
its place. Comparing the file's (device, inode) with the pair first seen catches a deletion and a
replacement (a backup moved into place). A file rewritten in place keeps its inode and is not
noticed; nor is anything on PostgreSQL or in-memory SQLite, where there is no file to lose.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from core.db.engine import normalise_url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, made absolute; None for other databases and in-memory SQLite."""
    parsed = make_url(normalise_url(url))
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    if parsed.query.get("uri") or database.startswith("file:"):
        return None  # a URI filename (mode=memory, shared cache...): not a plain file to watch
    return Path(os.path.abspath(database))


@dataclass
class DatabaseFile:
    path: Path
    _seen: tuple[int, int] | None = field(default=None, repr=False)

    def problem(self) -> str | None:
        """None while the file is there and is the one first seen; else "missing" or "replaced".

        The first time the file is found, its identity is remembered (one ``stat``, no I/O beyond).
        """
        try:
            status = os.stat(self.path)
        except OSError:
            return "missing"
        identity = (status.st_dev, status.st_ino)
        if self._seen is None:
            self._seen = identity
        return None if identity == self._seen else "replaced"
