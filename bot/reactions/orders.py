"""The order an event names, for the reactions that deliver it.

Delivered inside a chat request's turn, the event's order is often in the session already: the
tap that recorded the event loaded it (lines and customer too, ``core.orders.repository``) and
locked it, and ``hold`` keeps it for the turn (the session itself only keeps weak references to
unchanged objects). A SELECT would hand back that same object unchanged (the session keeps the
state it holds, it does not overwrite it from the row), at the cost of three statements for each
reaction; so the held object is taken while it is fully loaded, and the order is loaded otherwise
(the dispatcher's own transaction, a typed command, or an object a rolled-back savepoint expired).
"""

from __future__ import annotations

from core.context import Context
from core.orders.models import Order
from core.orders.repository import find_order, fully_loaded

_HELD = "oms_event_orders"  # session.info: order number -> the order a change in it loaded


def hold(ctx: Context, order: Order) -> None:
    """Keep ``order`` for the reactions delivered in this session (a turn's: it ends with it)."""
    ctx.session.info.setdefault(_HELD, {})[order.order_no] = order


async def event_order(ctx: Context, order_no: str) -> Order | None:
    """The order numbered ``order_no`` with its lines and customer, or None if there is none."""
    held = ctx.session.info.get(_HELD, {}).get(order_no.strip().upper())
    if held is not None and held in ctx.session and fully_loaded(held):
        return held
    return await find_order(ctx, order_no)
