"""Images and files sent into chat (a chart, a PDF): checked, stored once, referred to by id.

A reply or a notification with an ``Attachment`` puts its bytes in one ``chat_attachment`` row in
the same transaction, however many timelines and outbox rows refer to it (the outbox payload
carries only its name, type and size, never megabytes of base64). The dispatcher reads the bytes
back when it sends (``load``), and each platform client sends them its own way. Too large is
refused before anything is stored; the rows are forgotten after ``attachment_keep_days``, except
while a send of one is still waiting.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatAttachment, ChatMessage
from bot.outbox.models import OutboxMessage, OutboxStatus
from bot.views import Attachment
from core.config import Settings
from core.context import Context
from core.errors import N_, DomainError

KINDS = ("image", "file")
_STORED = "chat_attachments"  # session.info key: sha256 → row, so one transaction stores the bytes once


class AttachmentTooLarge(DomainError):
    code = "chat.attachment_too_large"
    template = N_("{filename} is {size_mb} MB; at most {limit_mb} MB can be sent into chat.")
    filename: str
    size_mb: str
    limit_mb: str


def check(settings: Settings, attachment: Attachment) -> None:
    """Refuse an attachment over the configured size for its kind (``AttachmentTooLarge``)."""
    if attachment.kind not in KINDS:
        raise ValueError(f"attachment kind must be one of {KINDS}, not {attachment.kind!r}")
    limit = settings.max_image_bytes if attachment.kind == "image" else settings.max_file_bytes
    if len(attachment.data) > limit:
        raise AttachmentTooLarge(
            filename=attachment.filename, size_mb=_mb(len(attachment.data)), limit_mb=_mb(limit, up=False)
        )


def _mb(size: int, *, up: bool = True) -> str:
    tenths = -(-size * 10 // 2**20) if up else size * 10 // 2**20  # 10.01 MB must not read as "10.0"
    return f"{tenths / 10:g}"


def store(ctx: Context, attachment: Attachment) -> ChatAttachment:
    """The attachment's row (checked, added to the session; its id comes at flush), the same row
    for the same bytes within one transaction."""
    check(ctx.settings, attachment)
    digest = hashlib.sha256(attachment.data).hexdigest()
    stored: dict[tuple[str, str, str, str], ChatAttachment] = ctx.session.info.setdefault(_STORED, {})
    key = (digest, attachment.filename, attachment.media_type, attachment.kind)
    if key not in stored:
        row = ChatAttachment(
            filename=attachment.filename[:200],
            media_type=attachment.media_type[:100],
            kind=attachment.kind,
            size=len(attachment.data),
            sha256=digest,
            data=attachment.data,
            created_at=ctx.now(),
        )
        ctx.session.add(row)
        stored[key] = row
    return stored[key]


def reference(attachment: Attachment) -> dict[str, Any]:
    """What an outbox payload says about its attachment (the bytes stay in their row)."""
    return {
        "filename": attachment.filename,
        "media_type": attachment.media_type,
        "kind": attachment.kind,
        "size": len(attachment.data),
    }


async def load(session: AsyncSession, attachment_id: int) -> Attachment | None:
    row = await session.get(ChatAttachment, attachment_id)
    if row is None:
        return None
    return Attachment(filename=row.filename, media_type=row.media_type, data=row.data, kind=row.kind)


async def prune(ctx: Context, keep: timedelta | None = None) -> int:
    """Forget attachments older than ``keep`` (default ``attachment_keep_days``) that no waiting
    send still needs; the timeline keeps the caption, the console says the file is gone."""
    cutoff = ctx.now() - (keep if keep is not None else timedelta(days=ctx.settings.attachment_keep_days))
    waiting = exists().where(
        OutboxMessage.attachment_id == ChatAttachment.id,
        OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
    )
    ids = list(await ctx.session.scalars(select(ChatAttachment.id).where(ChatAttachment.created_at < cutoff, ~waiting)))
    if not ids:
        return 0
    # The foreign keys say SET NULL, but SQLite enforces them only with its pragma: do it ourselves.
    await ctx.session.execute(update(ChatMessage).where(ChatMessage.attachment_id.in_(ids)).values(attachment_id=None))
    await ctx.session.execute(
        update(OutboxMessage).where(OutboxMessage.attachment_id.in_(ids)).values(attachment_id=None)
    )
    await ctx.session.execute(delete(ChatAttachment).where(ChatAttachment.id.in_(ids)))
    return len(ids)
