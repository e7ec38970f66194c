"""The work-order lifecycle, declared once (like the order's, ``core.orders.lifecycle``).

    planned ─release─▶ released ─start─▶ in_progress ─finish─▶ done
    planned | released ─adjust─▶ (same state)      (the order's need changed; materials re-planned)
    planned | released | in_progress ─cancel─▶ cancelled

``start`` has a guard: every material is on the shelves (reserved), so nothing is started that
cannot be finished. Callbacks do no I/O: ``core.production.service`` records audit rows and events
after a successful ``fire``; a refused trigger raises ``WorkOrderTransitionRefused`` naming the state.
"""

from __future__ import annotations

from typing import Any

from transitions import EventData, Machine, MachineError

from core.errors import Action
from core.production.errors import MaterialsMissing, WorkOrderTransitionRefused
from core.production.models import WorkOrderStatus as W

OPEN = (W.PLANNED, W.RELEASED, W.IN_PROGRESS)
ADJUSTABLE = (W.PLANNED, W.RELEASED)


def _materials_on_hand(event: EventData) -> bool:
    return not event.model.short


WORK_ORDER_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "release", "source": W.PLANNED, "dest": W.RELEASED},
    {"trigger": "start", "source": W.RELEASED, "dest": W.IN_PROGRESS, "conditions": [_materials_on_hand]},
    {"trigger": "finish", "source": W.IN_PROGRESS, "dest": W.DONE},
    {"trigger": "adjust", "source": list(ADJUSTABLE), "dest": "="},
    {"trigger": "cancel", "source": list(OPEN), "dest": W.CANCELLED},
]

WORK_ORDER_MACHINE = Machine(
    model=None,
    states=W,
    transitions=WORK_ORDER_TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
    model_attribute="status",
    ignore_invalid_triggers=False,
)


def can(work_order: Any, trigger: str) -> bool:
    """Whether ``trigger`` is allowed for the work order now (source state and guards)."""
    status = W(work_order.status)
    event = WORK_ORDER_MACHINE.events.get(trigger)
    if event is None:
        raise ValueError(f"unknown work order trigger {trigger!r}")
    data = EventData(WORK_ORDER_MACHINE.get_state(status.name), event, WORK_ORDER_MACHINE, work_order, (), {})
    return any(all(c.check(data) for c in t.conditions) for t in event.transitions.get(status.name, []))


def fire(work_order: Any, trigger: str) -> tuple[W, W]:
    """Move a work order by ``trigger`` or raise a domain error saying why not."""
    event = WORK_ORDER_MACHINE.events.get(trigger)
    if event is None:
        raise ValueError(f"unknown work order trigger {trigger!r}")
    before = W(work_order.status)
    work_order.status = before  # rows load plain strings; the machine looks Enum states up by name
    refusal = WorkOrderTransitionRefused(action=Action(trigger), mo_no=work_order.mo_no, state=before)
    try:
        moved = event.trigger(work_order)
    except MachineError:
        raise refusal from None
    if not moved:  # the only guard: materials missing
        raise MaterialsMissing(mo_no=work_order.mo_no, missing=len(work_order.short))
    work_order.status = W(work_order.status)
    return before, work_order.status
