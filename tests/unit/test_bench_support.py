"""The benchmarks' shared arithmetic (bench/support.py): percentiles, rows, profile summaries. No timings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import support  # noqa: E402


def test_percentiles_are_nearest_rank_on_the_sorted_samples():
    samples = [float(v) for v in range(100, 0, -1)]  # 1 … 100, unsorted
    assert support.pct(samples, 50) == 51.0  # rank round(0.5 * 99) = 50 (0-based)
    assert support.pct(samples, 99) == 99.0
    assert support.pct(samples, 100) == 100.0
    assert support.pct(samples, 0) == 1.0
    assert support.pct([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        support.pct([], 50)


def test_a_row_shows_milliseconds_of_latencies_in_seconds():
    line = support.row("path", [0.001, 0.002, 0.010])
    assert line.split() == ["path", "3", "2.0", "10.0", "10.0"]


def test_per_client_samples_are_merged_per_key():
    merged = support.merge([{"a": [1.0], "b": [2.0]}, {"a": [3.0]}])
    assert merged == {"a": [1.0, 3.0], "b": [2.0]}


def test_the_identities_document_has_users_only_when_asked_for():
    assert "b1" in support.identities_document(2) and "b2" not in support.identities_document(2)
    assert support.identities_document(0).startswith("stock:")


def test_cpu_seconds_of_this_process_grow_with_work():
    before = support.process_cpu_seconds(os.getpid())
    total = 0
    while support.process_cpu_seconds(os.getpid()) - before < 0.02:
        total += sum(range(10_000))
    assert total > 0


def test_a_profile_is_summarised_by_our_innermost_function_without_the_waiting(tmp_path):
    profile = tmp_path / "order.txt"
    profile.write_text(
        "main (oms);message (bot/gateway.py);load_order (core/orders/repository.py);"
        "execute (sqlalchemy/orm/session.py) 3\n"
        "main (oms);message (bot/gateway.py);render (bot/cards.py) 1\n"
        "run (threading.py) 1\n"
        "main (oms);run_forever (asyncio/base_events.py);EpollSelector.select (selectors.py) 4\n",
        encoding="utf-8",
    )
    summary = support.profile_summary(profile)
    assert "5 busy samples (4 more waiting" in summary
    assert "sqlalchemy 60%, bot 20%, threading 20%" in summary
    assert "60.0%  load_order (core/orders/repository.py)" in summary
    assert "20.0%  render (bot/cards.py)" in summary
    assert "60.0%  execute (sqlalchemy/orm/session.py)" in summary
