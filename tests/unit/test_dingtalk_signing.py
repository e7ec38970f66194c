"""The robot HTTP callback's timestamp + sign check."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from integrations.dingtalk.signing import RobotSignatureError, robot_sign, verify_robot

SECRET = "gQm4sd8eXbRkaz2PZ7Ruy-cZ0A9nnZ3hGbB1vqpWqXbYSfEeJgH4RKQNPhLtD6j1"
NOW = 1_764_050_000_000


def test_sign_is_base64_hmac_sha256_of_timestamp_newline_secret():
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{NOW}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert robot_sign(SECRET, str(NOW)) == expected.decode()
    assert len(base64.b64decode(robot_sign(SECRET, str(NOW)))) == 32


def test_a_fresh_signed_request_passes():
    verify_robot(SECRET, str(NOW - 5_000), robot_sign(SECRET, str(NOW - 5_000)), NOW)
    hour = 60 * 60 * 1000
    verify_robot(SECRET, str(NOW - hour), robot_sign(SECRET, str(NOW - hour)), NOW)  # the edge still counts


@pytest.mark.parametrize(
    "timestamp, sign",
    [
        (str(NOW), robot_sign("another-secret", str(NOW))),  # forged: wrong key
        (str(NOW), robot_sign(SECRET, str(NOW + 1))),  # signature for another timestamp
        (str(NOW - 60 * 60 * 1000 - 1), robot_sign(SECRET, str(NOW - 60 * 60 * 1000 - 1))),  # stale > 1 h
        (str(NOW + 2 * 60 * 60 * 1000), robot_sign(SECRET, str(NOW + 2 * 60 * 60 * 1000))),  # from the future
        ("", robot_sign(SECRET, "")),
        ("12ab", robot_sign(SECRET, "12ab")),
        (str(NOW), None),
    ],
)
def test_forged_stale_or_malformed_requests_are_refused(timestamp, sign):
    with pytest.raises(RobotSignatureError):
        verify_robot(SECRET, timestamp, sign, NOW)
