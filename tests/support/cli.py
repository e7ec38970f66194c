"""The ``oms`` command as a user runs it: a real process on a database file, its exit and output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MASTER = ROOT / "tests" / "data" / "master.yaml"
OMS = shutil.which("oms", path=str(Path(sys.executable).parent)) or "oms"


def oms(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMS_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    result = subprocess.run([OMS, *args], capture_output=True, text=True, env=env, timeout=60, cwd=db.parent)
    if check and result.returncode != 0:
        raise AssertionError(f"oms {' '.join(args)} failed: {result.stderr}")
    return result


def refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def copy_database(template: Path, to: Path) -> Path:
    """A copy of a database file that ``oms`` made and closed (with any WAL beside it), for one test.

    Each test still gets a database of its own, in the state the real commands left it in; the
    commands that made it (``oms db upgrade``, ``oms load``: a second or more of subprocess each,
    more on a busy machine) run once per worker instead of once per test."""
    for suffix in ("", "-wal", "-shm"):
        if (source := Path(f"{template}{suffix}")).exists():
            shutil.copyfile(source, f"{to}{suffix}")
    return to
