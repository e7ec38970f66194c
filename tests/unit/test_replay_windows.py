"""The windows in which a signed request is trusted stay inside the one its key is kept for: a
replay that is still accepted is always recognised by its key, never acted on again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.inbound import DEFAULT_WINDOW, SIGNED_MAX_AGE, SIGNED_MAX_AHEAD, stale
from integrations.dingtalk.signing import WINDOW_MS

NOW = datetime(2025, 11, 25, 6, 0, tzinfo=UTC)


def test_wecom_requests_are_trusted_for_less_time_than_their_keys_are_kept():
    # A request stamped SIGNED_MAX_AHEAD after we stored its key is trusted until
    # SIGNED_MAX_AHEAD + SIGNED_MAX_AGE after that; pruning forgets the key only after DEFAULT_WINDOW.
    assert SIGNED_MAX_AHEAD + SIGNED_MAX_AGE < DEFAULT_WINDOW
    assert SIGNED_MAX_AGE > timedelta(days=1)  # room for retries said to go on for a day (WeCom customer service)


def test_dingtalk_signatures_are_kept_longer_than_they_are_accepted():
    # DingTalk accepts a robot timestamp an hour either side of our clock: a pair stored when it
    # was an hour early is acceptable for two hours after that.
    assert 2 * timedelta(milliseconds=WINDOW_MS) < DEFAULT_WINDOW


def test_stale_names_what_is_wrong_and_lets_the_window_through():
    assert stale(NOW, NOW) is None
    assert stale(NOW - SIGNED_MAX_AGE, NOW) is None
    assert stale(NOW + SIGNED_MAX_AHEAD, NOW) is None
    assert stale(NOW - SIGNED_MAX_AGE - timedelta(seconds=1), NOW) == "timestamp older than 71 h (a replay?)"
    assert stale(NOW + SIGNED_MAX_AHEAD + timedelta(seconds=1), NOW) == "timestamp more than 5 min ahead of our clock"
