"""Who hears about the sales channels: service about an order a person must look at (with a card
to fix a held one in one tap), admins about a delivery that failed every attempt."""

from __future__ import annotations

from bot.cards import open_card
from bot.delivery import tell, users_with_role
from bot.i18n import N_
from bot.models import CardKind
from bot.reactions.orders import event_order
from core.context import Context
from core.events.catalogue import ChannelDeliveryDeadLettered, ChannelOrderNeedsAttention
from core.orders.status import HoldReason, OrderStatus

_PROBLEM_TEXT = {
    "held": N_(
        "{channel} order {channel_order_no} came in as {order_no} and is on hold: {detail}. "
        "Map an unknown SKU with /mapsku {order_no} CHANNEL-SKU OUR-SKU (remembered for the next order), "
        "or fix the order and send /edit."
    ),
    "changed_after_allocation": N_(
        "{channel} order {channel_order_no} ({order_no}) was changed on the channel after its stock was "
        "reserved: {detail}. Nothing was changed here; adjust it by hand if it still can be."
    ),
    "cancelled_after_shipping": N_(
        "{channel} order {channel_order_no} ({order_no}) was cancelled on the channel after it shipped "
        "({detail}). Nothing was changed here: arrange the return with the customer (/return)."
    ),
}


async def on_order_needs_attention(ctx: Context, event: ChannelOrderNeedsAttention) -> None:
    """Service hears why; a held order whose unknown SKUs have near matches comes with a card whose
    one tap maps them (and remembers the mapping for the channel)."""
    service = await users_with_role(ctx, "service")
    text = _PROBLEM_TEXT.get(event.problem, _PROBLEM_TEXT["held"])
    params = {
        "channel": event.channel,
        "channel_order_no": event.channel_order_no,
        "order_no": event.order_no,
        "detail": event.detail,
    }
    tell(ctx, service, text, **params)
    order = await event_order(ctx, event.order_no) if event.problem == "held" else None
    if order is None or order.status != OrderStatus.ON_HOLD:
        return
    mappings = [
        {"channel_sku": reason["params"]["sku"], "sku": reason["params"]["suggestion"]}
        for reason in order.hold_reasons
        if reason.get("code") == HoldReason.DATA and (reason.get("params") or {}).get("suggestion")
    ]
    if not mappings:
        return
    card = open_card(
        ctx,
        CardKind.FIX,
        order,
        channel=event.channel,
        channel_order_no=event.channel_order_no,
        reason=event.detail,
        mappings=mappings,
    )
    await ctx.session.flush()
    tell(ctx, service, "", card=card)


async def on_dead_letter(ctx: Context, event: ChannelDeliveryDeadLettered) -> None:
    tell(
        ctx,
        await users_with_role(ctx, "admin"),
        "A delivery from channel {channel} ({topic}) could not be turned into an order after {attempts} "
        "attempts: {error}. It is kept; once the cause is fixed, run `oms channels retry {delivery_id}`.",
        channel=event.channel,
        topic=event.topic,
        attempts=event.attempts,
        error=event.error,
        delivery_id=event.delivery_id,
    )
