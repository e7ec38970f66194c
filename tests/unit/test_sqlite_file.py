"""Which URLs name a SQLite file to watch, and how a deleted or replaced file is told apart."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.db.sqlite_file import DatabaseFile, sqlite_path


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///:memory:",
        "sqlite://",
        "sqlite+aiosqlite:///file:shared?mode=memory&cache=shared&uri=true",
        "postgresql://postgres@127.0.0.1:5432/test",
    ],
)
def test_nothing_to_watch_without_a_file(url):
    assert sqlite_path(url) is None


def test_a_relative_path_is_made_absolute_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:///oms.db") == tmp_path / "oms.db"
    assert sqlite_path(f"sqlite+aiosqlite:///{tmp_path}/x.db") == tmp_path / "x.db"


def test_missing_replaced_or_the_same(tmp_path: Path):
    path = tmp_path / "oms.db"
    watched = DatabaseFile(path)
    assert watched.problem() == "missing"  # not there yet: nothing remembered
    path.write_bytes(b"first")
    assert watched.problem() is None  # the first file seen is the one
    path.write_bytes(b"rewritten in place")  # same inode: not a replacement
    assert watched.problem() is None
    shutil.copy(path, tmp_path / "backup.db")
    os.replace(tmp_path / "backup.db", path)
    assert watched.problem() == "replaced"
    path.unlink()
    assert watched.problem() == "missing"
