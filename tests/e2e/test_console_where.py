"""'Where is my order' typed in plain words on the console page, over its HTTP API on a running server."""

from __future__ import annotations

import re


async def test_a_customer_asks_where_their_order_is_in_plain_words(chat):
    no = re.search(r"SO-\d+", (await chat.say("lilei", "/neworder C002 TEA-001*2 pay=credit"))[0]).group(0)
    assert await chat.say("c002", "where is my order?") == [
        f"Your order *{no}*: ready to pick\nIt has not shipped yet."
    ]
    assert await chat.say("admin", f"/pick {no}") == [f"{no} is being picked."]
    assert await chat.say("admin", f"/packed {no}") == [f"{no} is packed."]
    assert (await chat.say("admin", f"/ship {no} SF SF100200300"))[0] == f"{no} shipped with SF SF100200300."

    [answer] = await chat.say("c002", "我的快递到哪了")

    assert answer.splitlines() == [
        f"Your order *{no}*: shipped",
        "Shipment SF Express SF100200300: label created",
        "  No scans from the carrier yet.",
        f"Send /track {no} for every scan.",
    ]
    assert await chat.say("c002", no.lower()) == [answer]
    assert await chat.say("c001", no) == [f"Order {no} does not exist."]  # not 杭州茶社's order
    assert "Customer: 广州茶馆" in (await chat.say("lilei", no))[0]  # staff: the /order view
    assert await chat.say("c002", "thanks") == ["Commands start with /. Send /help to see what you can do."]
    timeline = await chat.texts("c002")
    assert answer in timeline  # kept on the customer's timeline like any reply
