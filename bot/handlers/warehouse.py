"""Warehouse commands: the pick queue, picked/packed, shipping, delivery, goods in, stock."""

from __future__ import annotations

from bot.handlers.orders import order_no_arg, show
from bot.i18n import N_
from bot.queues import pick_cards
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.inventory.stock import stock_view
from core.orders import fulfilment
from core.orders.backorders import receive
from core.orders.fulfilment import ShipRequest


@command(
    "pick",
    "拣货",
    usage=N_("/pick [SO-100001]"),
    summary=N_("Orders to pick, or mark one picked"),
    permission=Permission.FULFIL,
)
async def pick(chat: Chat, args: list[str]) -> list[Reply]:
    if args:
        no = order_no_arg(chat, args)
        await chat.services.run(chat.actor, lambda ctx: fulfilment.start_picking(ctx, no))
        return chat.say("{order_no} is being picked.", order_no=no)
    ids = await chat.services.query(chat.actor, pick_cards)
    if not ids:
        return chat.say("Nothing to pick right now.")
    return [Reply(text=chat._("To pick: {count}", count=len(ids)))] + [Reply(card_id=i) for i in ids]


@command(
    "packed", "打包", usage=N_("/packed SO-100001"), summary=N_("Mark an order packed"), permission=Permission.FULFIL
)
async def packed(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    await chat.services.run(chat.actor, lambda ctx: fulfilment.pack(ctx, no))
    return chat.say("{order_no} is packed.", order_no=no)


@command(
    "ship",
    "发货",
    usage=N_("/ship SO-100001 SF 1234567890"),
    summary=N_("Ship with carrier and tracking number"),
    permission=Permission.FULFIL,
)
async def ship(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    if len(args) < 3:
        raise chat.usage()
    request = ShipRequest(carrier=args[1], tracking_no=args[2], warehouse=args[3] if len(args) > 3 else None)
    shipment = await chat.services.run(chat.actor, lambda ctx: fulfilment.ship(ctx, no, request))
    return chat.say(
        "{order_no} shipped with {carrier} {tracking_no}.",
        order_no=no,
        carrier=shipment.carrier,  # our code, whichever of its names was typed
        tracking_no=shipment.tracking_no,
    ) + await show(chat, no)


@command(
    "delivered",
    "签收",
    usage=N_("/delivered SO-100001"),
    summary=N_("Mark an order delivered"),
    permission=Permission.FULFIL,
)
async def delivered(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    await chat.services.run(chat.actor, lambda ctx: fulfilment.confirm_delivery(ctx, no))
    return chat.say("{order_no} is delivered.", order_no=no)


@command(
    "receive",
    "入库",
    usage=N_("/receive TEA-001 SH 50"),
    summary=N_("Book goods into a warehouse"),
    permission=Permission.STOCK_MOVE,
)
async def receive_cmd(chat: Chat, args: list[str]) -> list[Reply]:
    if len(args) < 3 or not args[2].isdecimal():
        raise chat.usage()
    sku, warehouse, qty = args[0], args[1], int(args[2])
    served = await chat.services.run(chat.actor, lambda ctx: receive(ctx, sku, warehouse, qty, "chat receipt"))
    replies = chat.say("Received {qty} {sku} in {warehouse}.", qty=qty, sku=sku.upper(), warehouse=warehouse.upper())
    if served:
        replies += chat.say("Allocated waiting orders: {orders}", orders=", ".join(served))
    return replies


@command(
    "stock",
    "库存",
    usage=N_("/stock TEA-001"),
    summary=N_("Stock of a SKU per warehouse"),
    permission=Permission.STOCK_VIEW,
    reads_only=True,
)
async def stock(chat: Chat, args: list[str]) -> list[Reply]:
    if not args:
        raise chat.usage()
    view = await chat.services.query(chat.actor, lambda ctx: stock_view(ctx, args[0]))
    _ = chat._
    head = f"*{view['sku']}* {view['name']}" + (" " + _("(kit, from its components)") if view["kit"] else "")
    rows = [
        _("{warehouse}: {available} available ({on_hand} on hand, {reserved} reserved)", **row)
        for row in view["warehouses"]
    ]
    return [Reply(text="\n".join([head, *rows]))]
