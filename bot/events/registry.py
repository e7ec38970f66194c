"""Who handles which event, wired in one place: every event class in ``core.events.catalogue``
has at least one handler here (``tests/unit/test_event_registry.py`` fails otherwise).

Order matters within an event: cards follow the order before people are told.
"""

from __future__ import annotations

from bot import parcels
from bot.events.bus import EventBus, Handler
from bot.reactions import cards, channels, contracts, people, rules, subscriptions
from core.events.catalogue import (
    ApprovalProgressed,
    ApprovalRequested,
    ApprovalStepCompleted,
    ChannelDeliveryDeadLettered,
    ChannelOrderNeedsAttention,
    Event,
    MilestoneApprovalRequested,
    MilestoneInvoiced,
    MilestoneOverdue,
    MilestoneRejected,
    OrderReadyToPick,
    OrderReceived,
    OrderShipped,
    OrderStatusChanged,
    PaymentOverdue,
    ReturnRequested,
    ShipmentUpdated,
    StockLow,
)

HANDLERS: dict[type[Event], list[Handler]] = {
    OrderReceived: [rules.notify],
    OrderStatusChanged: [cards.follow_status, people.on_status_changed, rules.notify],
    ApprovalRequested: [cards.open_approval],
    ApprovalProgressed: [cards.show_approvals_so_far],
    ApprovalStepCompleted: [cards.close_step],
    OrderReadyToPick: [cards.open_pick],
    OrderShipped: [people.on_shipped, subscriptions.subscribe],
    ShipmentUpdated: [parcels.follow_parcel, people.on_shipment_updated, rules.notify],
    StockLow: [people.on_stock_low, rules.notify],
    PaymentOverdue: [people.on_payment_overdue, rules.notify],
    ReturnRequested: [people.on_return_requested],
    ChannelOrderNeedsAttention: [channels.on_order_needs_attention],
    ChannelDeliveryDeadLettered: [channels.on_dead_letter],
    MilestoneApprovalRequested: [contracts.on_approval_requested],
    MilestoneInvoiced: [contracts.on_invoiced],
    MilestoneRejected: [contracts.on_rejected],
    MilestoneOverdue: [contracts.on_overdue],
}
BUS = EventBus(HANDLERS)
