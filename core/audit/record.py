"""Writing history: one audit row per change (domain events are written by ``core.events.store``)."""

from __future__ import annotations

from typing import Any

from core.audit.models import AuditRecord
from core.context import Context
from core.db.bulk_rows import insert_in_bulk

REASON_LENGTH = AuditRecord.__table__.c.reason.type.length
insert_in_bulk(AuditRecord)  # one INSERT for all of a flush's audit rows; nobody reads a row back


def audit(
    ctx: Context,
    *,
    entity: str,
    key: str,
    action: str,
    order_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    **data: Any,
) -> AuditRecord:
    record = AuditRecord(
        entity=entity,
        entity_key=key,
        order_id=order_id,
        action=action,
        from_state=str(from_state) if from_state is not None else None,
        to_state=str(to_state) if to_state is not None else None,
        actor_user_id=ctx.actor.user_id,
        actor=ctx.actor.name,
        source=ctx.actor.source,
        reason=_clipped(reason, REASON_LENGTH),
        data=data,
        created_at=ctx.now(),
    )
    ctx.session.add(record)
    return record


def _clipped(text: str | None, limit: int) -> str | None:
    """A reason as long as the column takes: a long one (every hold of a 200-line order) is a
    summary here, the order keeps each reason in full."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"
