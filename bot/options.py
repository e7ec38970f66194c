"""``key=value`` options of chat commands (``pay=credit discount=5``), read into typed values.

A bad option is refused naming the option and the form it takes, never with a parser's own words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from bot.i18n import N_
from core.errors import InvalidInput
from core.orders.status import PaymentTerms

# The spelling people type (English, and the Chinese words the usage lines allow) → the option.
NAMES = {
    "pay": "pay",
    "付款": "pay",
    "discount": "discount",
    "折扣": "discount",
    "coupon": "coupon",
    "优惠券": "coupon",
    "address": "address",
    "地址": "address",
    "note": "note",
    "备注": "note",
}
EXAMPLES = {
    "pay": "pay=credit",
    "discount": "discount=5",
    "coupon": "coupon=SPRING10",
    "address": "address=office",
    "note": "note=call-first",
}


class UnknownOption(InvalidInput):
    code = "unknown_option"
    template = N_("Unknown option {option}=; this command takes {known}.")
    option: str
    known: list[str]


class OptionNeedsValue(InvalidInput):
    code = "option_needs_value"
    template = N_("{option}= needs a value, e.g. {example}.")
    option: str
    example: str


class BadDiscount(InvalidInput):
    code = "bad_discount"
    template = N_("discount must be a number of percent, e.g. discount=5 (not {given}).")
    given: str


class BadPaymentTerms(InvalidInput):
    code = "bad_payment_terms"
    template = N_("pay must be prepaid, cod or credit, e.g. pay=credit (not {given}).")
    given: str


def split_options(args: Iterable[str], allowed: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """The words, and the options by name; an option this command does not take is refused."""
    allowed = tuple(allowed)
    words: list[str] = []
    options: dict[str, str] = {}
    for arg in args:
        if "=" not in arg:
            words.append(arg)
            continue
        key, value = arg.split("=", 1)
        name = NAMES.get(key.strip().lower())
        if name not in allowed:
            raise UnknownOption(option=key, known=[EXAMPLES[a] for a in allowed])
        if not value.strip():
            raise OptionNeedsValue(option=name, example=EXAMPLES[name])
        options[name] = value.strip()
    return words, options


def payment_terms(options: Mapping[str, str], default: PaymentTerms | None = None) -> PaymentTerms | None:
    if "pay" not in options:
        return default
    try:
        return PaymentTerms(options["pay"].lower())
    except ValueError:
        raise BadPaymentTerms(given=options["pay"]) from None


def discount(options: Mapping[str, str]) -> Decimal:
    text = options.get("discount", "0").strip().removesuffix("%")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadDiscount(given=options["discount"]) from None
    if not value.is_finite():
        raise BadDiscount(given=options["discount"])
    return value
