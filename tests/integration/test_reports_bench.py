"""bench/reports_1m.py still runs against the current schema (a new NOT NULL column breaks its raw INSERTs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_benchmark_runs_on_a_small_file(tmp_path):
    run = subprocess.run(
        [sys.executable, "bench/reports_1m.py", "--orders", "500", "--repeat", "1", "--db", str(tmp_path / "r.db")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "baseline: SELECT count(*) FROM sales_order" in run.stdout and "500" in run.stdout
    assert "/report 30d line (figures + chart)" in run.stdout and "bytes of PNG" in run.stdout
