"""What every service call needs: the open session, who acts, the settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import Actor
from core.clock import Clock, utcnow
from core.config import Settings

if TYPE_CHECKING:
    from core.orders.review import ReviewPolicy


@dataclass
class Context:
    session: AsyncSession
    actor: Actor
    settings: Settings  # from the composition root; never read from the environment here
    clock: Clock = utcnow
    # Decides whether an order needs review; the workflow engine supplies one, else a threshold.
    review_policy: ReviewPolicy | None = None

    def now(self) -> datetime:
        return self.clock()
