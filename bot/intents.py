"""What a message in plain words (no leading "/") asks for, if it is one of the few things we
understand without a command: "where is my order" in English or Chinese, or an order number alone.

A pure function of the text, so the phrases can be tested one by one; ``bot.conversation`` decides
what each intent answers and to whom. Anything not recognised is ``None`` and keeps the
"Commands start with /" answer: we would rather not guess than answer the wrong question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class WhereIsMyOrder:
    """The customer asks where their order is: ``order_no`` if they named one, else their latest."""

    order_no: str | None = None


@dataclass(frozen=True)
class OrderNumber:
    """Nothing but an order number: a customer asks about it, staff want to look it up."""

    order_no: str


Intent = WhereIsMyOrder | OrderNumber

# Not \b: in "订单SO-1" the Chinese letter before "so" is a word character too.
_ORDER_NO = re.compile(r"(?<![a-z0-9])so-?(\d{1,12})(?![0-9])")
# Fold first (full-width letters, ’ → '), then everything that is not a letter, digit, "-" or
# "'" becomes a space: "Where's my parcel?!" and "where’s  my parcel" read the same.
_NOISE = re.compile(r"[^\w\s'-]|_")
_EN = re.compile(
    r"\bwhere\s*(?:is|'s|s|are|'re)?\s+(?:is\s+)?(?:my|our|the)\s+"
    r"(?:orders?|parcels?|packages?|deliver(?:y|ies)|shipments?)\b"
    r"|\btrack(?:ing)?\s+(?:(?:my|our|the)\s+)?(?:orders?|parcels?|packages?|shipments?)\b"
    r"|^(?:my\s+)?(?:order|parcel|package|delivery|shipment)\s+status$"
)
_THINGS = "(?:快递|包裹|订单|物流|货|东西|单子)"
_ZH = re.compile(
    rf"^(?:我的|我|我们的)?{_THINGS}(?:现在)?(?:到哪|在哪|到哪里|在哪里|到哪儿|在哪儿|哪里|哪儿|到了吗|到了没|怎么样)"
    rf"|^(?:请)?(?:帮我)?(?:查|查询|查一下|查下|看看|看一下)?(?:我的|一下)?(?:快递|物流|包裹|订单)(?:信息|状态|进度|情况)?$"
    rf"|^(?:我的)?{_THINGS}(?:发货了吗|发了吗|发货没)$"
)


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").casefold()
    return " ".join(_NOISE.sub(" ", folded).split())


def _order_no(digits: str) -> str:
    return f"SO-{digits}"


def intent(text: str) -> Intent | None:
    """The intent behind ``text`` (typed without a leading "/"), or ``None`` if we do not know it."""
    words = _normal(text)
    if not words:
        return None
    numbers = _ORDER_NO.findall(words)
    if len(numbers) == 1 and _ORDER_NO.sub("", words).strip() == "":
        return OrderNumber(_order_no(numbers[0]))
    bare = words.replace(" ", "")  # Chinese is written without spaces; an extra one changes nothing
    zh_bare = _ORDER_NO.sub("", bare)
    if _EN.search(_ORDER_NO.sub("", words).strip()) or _ZH.search(zh_bare):
        return WhereIsMyOrder(_order_no(numbers[0]) if len(numbers) == 1 else None)
    return None
