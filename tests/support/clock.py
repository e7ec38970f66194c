"""A clock a test moves by hand, given to ``Services`` so timers and reports see the time it says."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """``Clock(start)``: ``clock()`` is the time now; ``clock.advance(hours=4)`` moves it on."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
