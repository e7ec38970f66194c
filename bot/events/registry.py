"""Who handles which event, wired in one place: every event class in ``core.events.catalogue``
has at least one handler here (``tests/unit/test_event_registry.py`` fails otherwise).

Order matters within an event: cards follow the order before people are told.
"""

from __future__ import annotations

from bot import parcels, production
from bot.events.bus import EventBus, Handler
from bot.reactions import cards, channels, contracts, people, rebates, rules, subscriptions, webhooks
from core.events.catalogue import (
    ApprovalProgressed,
    ApprovalRequested,
    ApprovalStepCompleted,
    ChannelDeliveryDeadLettered,
    ChannelOrderNeedsAttention,
    CreditNoteDecided,
    CreditNoteRequested,
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
    RebateAccrued,
    ReturnRequested,
    ShipmentUpdated,
    StockLow,
    WorkOrderAdjusted,
    WorkOrderCancelled,
    WorkOrderDone,
    WorkOrderMaterialsReady,
    WorkOrderPlanned,
    WorkOrderReleased,
    WorkOrderStarted,
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
    RebateAccrued: [rebates.on_rebate_accrued],
    CreditNoteRequested: [rebates.open_credit_note],
    CreditNoteDecided: [rebates.close_credit_note],
    WorkOrderPlanned: [production.on_planned],
    WorkOrderAdjusted: [production.on_adjusted],
    WorkOrderMaterialsReady: [production.on_materials_ready],
    WorkOrderReleased: [production.on_released],
    WorkOrderStarted: [production.on_started],
    WorkOrderDone: [production.on_done],
    WorkOrderCancelled: [production.on_cancelled],
    MilestoneApprovalRequested: [contracts.on_approval_requested],
    MilestoneInvoiced: [contracts.on_invoiced],
    MilestoneRejected: [contracts.on_rejected],
    MilestoneOverdue: [contracts.on_overdue],
}
# Last for every event: whatever the chat layer did, the webhook endpoints that subscribed hear it.
for _handlers in HANDLERS.values():
    _handlers.append(webhooks.fan_out)
BUS = EventBus(HANDLERS)
