"""Plain words we understand without a command, in both languages, and the many we must not guess at."""

from __future__ import annotations

import pytest

from bot.intents import OrderNumber, WhereIsMyOrder, intent

WHERE = [
    "where is my order",
    "Where is my order?",
    "where's my parcel",
    "Where’s my parcel?!",
    "wheres my package",
    "  WHERE   IS   MY   ORDER  ",
    "where are my orders",
    "hi, where is my delivery?",
    "track my order",
    "tracking my parcel please",
    "order status",
    "我的快递到哪了",
    "我的快递到哪了？",
    "我的订单到哪了",
    "我的 订单 到哪了 ！",
    "快递到哪里了",
    "我的包裹在哪儿",
    "物流",
    "物流。",
    "查快递",
    "查一下物流",
    "查询订单状态",
    "帮我查下快递",
    "我的货发货了吗",
    "ｗｈｅｒｅ ｉｓ ｍｙ ｏｒｄｅｒ",  # full-width, as some Chinese keyboards type it
]

NOT = [
    "",
    "   ",
    "hello",
    "thanks!",
    "I want to order more tea",
    "order TEA-001*2",
    "where is the office",
    "where is it",
    "track record",
    "订单取消",
    "我要下订单",
    "取消订单",
    "物流公司电话多少",
    "快递员很好",
    "SO-100003 cancel",
    "cancel SO-100003",
    "SO-1 SO-2",
    "so what",
    "also-100003",
    "SO-",
    "SO-100003x",
    "RMA-100001",
    "/order SO-100003",
]


@pytest.mark.parametrize("text", WHERE)
def test_where_is_my_order_in_plain_words(text: str) -> None:
    assert intent(text) == WhereIsMyOrder(None)


@pytest.mark.parametrize("text", NOT)
def test_other_words_are_not_guessed_at(text: str) -> None:
    assert intent(text) is None


@pytest.mark.parametrize(
    "text", ["SO-100003", "so-100003", "So-100003", " SO-100003 ", "SO-100003?", "SO-100003。", "SO100003"]
)
def test_an_order_number_alone_in_any_case(text: str) -> None:
    assert intent(text) == OrderNumber("SO-100003")


@pytest.mark.parametrize(
    "text", ["where is my order SO-100003?", "Where's my order so-100003", "我的订单SO-100003到哪了", "SO-100003 物流"]
)
def test_asking_where_a_named_order_is(text: str) -> None:
    assert intent(text) == WhereIsMyOrder("SO-100003")
