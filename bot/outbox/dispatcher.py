"""Sending the outbox: in order per chat, within each platform's rate limits, retried until taken.

Only the oldest undelivered message of each chat is ever claimed, so a chat's messages arrive in
the order they were written even while one of them is being retried. A claim is a lease: a
sender that dies mid-send (even ``kill -9``) leaves the row to be claimed again once the lease
lapses, and the platform client passes the row's de-duplication key along, so the platform (or
our own fake of it) can recognise the repeat. A platform's "slow down" is obeyed and never
counts as a failure; real failures back off and, after ``max_attempts`` (or a client's own
``retry_schedule``), end as ``dead`` with an alert to the admins.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from bot import attachments
from bot.delivery import tell, users_with_role
from bot.outbox.clients import DeliveryError, Dropped, PlatformClient, Rejected, Throttled
from bot.outbox.models import OutboxMessage, OutboxStatus
from core.auth import Actor
from core.services import Services

log = logging.getLogger(__name__)
M = OutboxMessage


class Dispatcher:
    def __init__(
        self,
        services: Services,
        clients: list[PlatformClient],
        *,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        batch: int = 100,
    ) -> None:
        self.services = services
        self.clients = {c.platform: c for c in clients}
        self.lease, self.max_attempts, self.batch = lease, max_attempts, batch
        self.overall = {c.platform: AsyncLimiter(c.per_second, 1) for c in clients}
        self.per_chat: dict[tuple[str, str], AsyncLimiter] = {}
        self.paused_until: dict[str, float] = {}  # platform -> loop time its app-wide throttling ends

    def _chat_limiter(self, platform: str, recipient: str) -> AsyncLimiter:
        key = (platform, recipient)
        if key not in self.per_chat:
            client = self.clients[platform]
            chat_rate = getattr(client, "chat_per_minute", None)  # some platforms allow groups less
            per_minute = chat_rate(recipient) if chat_rate else client.per_chat_per_minute
            # One at a time, evenly spaced: a bucket holding a minute's worth would let twice the
            # limit through in some 60 s window, and DingTalk answers that with a 10-minute block.
            self.per_chat[key] = AsyncLimiter(1, 60 / max(per_minute, 0.01))
        return self.per_chat[key]

    async def run_once(self) -> int:
        """Claim the head of every chat that has something due and send those; returns how many went."""
        claimed = await self._claim()
        results = await asyncio.gather(*(self._deliver(row) for row in claimed))
        return sum(results)

    async def run_until_idle(self, *, poll: float = 0.1, timeout: float = 60.0) -> None:
        """For tests and shutdown: keep sending until nothing is pending or in flight."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            await self.run_once()
            async with self.services.reading() as session:
                left = await session.scalar(
                    select(M.id)
                    .where(M.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)), M.platform.in_(self.clients))
                    .limit(1)
                )
            if left is None:
                return
            await asyncio.sleep(poll)
        raise TimeoutError("outbox did not drain")

    def _sending(self) -> list[str]:
        """The platforms not paused by an app-wide throttling answer."""
        now = asyncio.get_running_loop().time()
        return [p for p in self.clients if self.paused_until.get(p, 0.0) <= now]

    async def _claim(self) -> list[dict[str, Any]]:
        async with self.services.unit_of_work(Actor.system("outbox")) as ctx:
            now = ctx.now()
            earlier = aliased(M)
            blocked = exists().where(
                earlier.platform == M.platform,
                earlier.recipient == M.recipient,
                earlier.id < M.id,
                earlier.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            due = or_(
                and_(M.status == OutboxStatus.PENDING, M.next_attempt_at <= now),
                and_(M.status == OutboxStatus.SENDING, M.locked_until < now),
            )
            ids = select(M.id).where(due, M.platform.in_(self._sending()), ~blocked).order_by(M.id).limit(self.batch)
            if ctx.session.bind.dialect.name == "postgresql":
                ids = ids.with_for_update(skip_locked=True)
            lease_until = now + self.lease
            rows = await ctx.session.execute(
                update(M)
                .where(M.id.in_(ids.scalar_subquery()))
                .values(status=OutboxStatus.SENDING, locked_until=lease_until, attempts=M.attempts + 1)
                .returning(
                    M.id,
                    M.platform,
                    M.recipient,
                    M.kind,
                    M.dedupe_key,
                    M.payload,
                    M.card_id,
                    M.attempts,
                    M.attachment_id,
                )
                .execution_options(synchronize_session=False)
            )
            return [dict(r._mapping, lease_until=lease_until) for r in rows]

    async def _deliver(self, row: dict[str, Any]) -> int:
        client = self.clients[row["platform"]]
        try:
            # The chat's turn first, then the platform's: a token of the overall rate is not held
            # while waiting for the chat.
            async with self._chat_limiter(row["platform"], row["recipient"]), self.overall[row["platform"]]:
                paused = self.paused_until.get(row["platform"], 0.0) - asyncio.get_running_loop().time()
                if paused > 0:  # the platform said stop while this row waited: do not call it now
                    raise Throttled(paused)
                if row["kind"] == "edit":
                    original = await self._original_message_id(row)
                    if original is None:  # that copy never arrived (it went dead): nothing to edit
                        await self._finish(row, status=OutboxStatus.DEAD, last_error="the copy was never delivered")
                        return 0
                    await client.edit(row["recipient"], original, row["payload"], row["dedupe_key"])
                    message_id = original
                elif row["payload"].get("attachment") is not None:
                    message_id = await self._send_attachment(client, row)
                else:
                    message_id = await client.send(row["recipient"], row["payload"], row["dedupe_key"])
        except Throttled as slow:
            if not slow.chat_only:
                resume = asyncio.get_running_loop().time() + slow.retry_after
                self.paused_until[row["platform"]] = max(self.paused_until.get(row["platform"], 0.0), resume)
            await self._again(row, timedelta(seconds=max(slow.retry_after, 0.1)), "throttled", failure=False)
            return 0
        except Dropped as error:
            await self._dead(row, f"dropped: {error}", alert=False)
            return 0
        except Rejected as error:
            await self._dead(row, f"rejected: {error}")
            return 0
        except Exception as error:  # a failure of ours (a client bug) too: counted, so the row cannot jam its chat
            if not isinstance(error, TimeoutError | DeliveryError | OSError):
                log.exception("outbox message %s to %s failed unexpectedly", row["id"], row["platform"])
            delay = self._retry_delay(client, row["attempts"])
            if delay is None:
                await self._dead(row, str(error) or type(error).__name__)
            else:
                await self._again(row, delay, str(error) or "failed")
            return 0
        await self._finish(row, status=OutboxStatus.SENT, platform_message_id=message_id)
        return 1

    def _retry_delay(self, client: PlatformClient, attempts: int) -> timedelta | None:
        """How long before the next attempt after ``attempts`` failed ones; None: give up.

        A client's own ``retry_schedule`` (seconds after the 1st, 2nd, ... failure) decides when it
        has one (webhooks retry for days); the others back off exponentially up to 5 minutes.
        """
        schedule: tuple[float, ...] | None = getattr(client, "retry_schedule", None)
        if schedule is not None:
            return timedelta(seconds=schedule[attempts - 1]) if attempts <= len(schedule) else None
        if attempts >= self.max_attempts:
            return None
        return timedelta(seconds=min(300, 2**attempts))

    async def _send_attachment(self, client: PlatformClient, row: dict[str, Any]) -> str:
        """An image or a file: its bytes read back from their row, then the platform's own way."""
        send = getattr(client, "send_attachment", None)
        if send is None:
            raise Rejected(f"{row['platform']} cannot send images or files")
        attachment = None
        if row["attachment_id"] is not None:
            async with self.services.reading() as session:
                attachment = await attachments.load(session, row["attachment_id"])
        if attachment is None:
            raise Rejected("the attachment is no longer stored")
        return await send(row["recipient"], attachment, row["payload"], row["dedupe_key"])

    async def _original_message_id(self, row: dict[str, Any]) -> str | None:
        """The platform's id of the copy this edit is for (its send, ``of``), once that was sent."""
        async with self.services.reading() as session:
            sent = (
                await session.execute(select(M.status, M.platform_message_id).where(M.id == row["payload"].get("of")))
            ).one_or_none()
        return sent.platform_message_id if sent is not None and sent.status == OutboxStatus.SENT else None

    async def _finish(self, row: dict[str, Any], **values: Any) -> bool:
        async with self.services.unit_of_work(Actor.system("outbox")) as ctx:
            done = await ctx.session.execute(
                update(M)
                .where(M.id == row["id"], M.locked_until == row["lease_until"])
                .values(
                    locked_until=None,
                    sent_at=ctx.now() if values.get("status") == OutboxStatus.SENT else None,
                    **values,
                )
                .execution_options(synchronize_session=False)
            )
            return done.rowcount == 1

    async def _again(self, row: dict[str, Any], delay: timedelta, reason: str, *, failure: bool = True) -> None:
        async with self.services.unit_of_work(Actor.system("outbox")) as ctx:
            await ctx.session.execute(
                update(M)
                .where(M.id == row["id"], M.locked_until == row["lease_until"])
                .values(
                    status=OutboxStatus.PENDING,
                    next_attempt_at=ctx.now() + delay,
                    locked_until=None,
                    last_error=reason[:500],
                    attempts=M.attempts if failure else M.attempts - 1,
                )
                .execution_options(synchronize_session=False)
            )

    async def _dead(self, row: dict[str, Any], reason: str, *, alert: bool = True) -> None:
        client = self.clients[row["platform"]]
        async with self.services.unit_of_work(Actor.system("outbox")) as ctx:
            await ctx.session.execute(
                update(M)
                .where(M.id == row["id"], M.locked_until == row["lease_until"])
                .values(status=OutboxStatus.DEAD, locked_until=None, last_error=reason[:500])
                .execution_options(synchronize_session=False)
            )
            own_alert = getattr(client, "dead_alert", None)
            if not alert:
                pass
            elif own_alert is not None:
                # Not a chat platform's failure (a webhook): the admins hear it on all their chats.
                message, params = own_alert(row, reason[:200])
                tell(ctx, await users_with_role(ctx, "admin"), message, **params)
            else:
                # To the console only: an alert that could itself fail must not start a chain of alerts.
                tell(
                    ctx,
                    await users_with_role(ctx, "admin"),
                    "Undeliverable: a message to {platform} {recipient} failed {attempts} times ({reason}).",
                    platforms={"console"},
                    platform=row["platform"],
                    recipient=row["recipient"],
                    attempts=row["attempts"],
                    reason=reason[:200],
                )
        log.error("outbox message %s to %s %s is dead: %s", row["id"], row["platform"], row["recipient"], reason)
