"""Every refusal the product can give is in the catalogue, and reads as a sentence in English and Chinese.

Walks every ``DomainError`` subclass in ``core`` and ``bot``, builds it with sample parameters of
its declared types (every state, permission, role and action in turn), and renders it as the CLI
does (``message``) and as the chat does (``error_text``) in en and zh-CN. Pure and fast: no database.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
import types
import typing
from dataclasses import fields
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest

import bot
import core
from bot.i18n import Translator, translate
from bot.labels import FIELDS
from bot.router import COMMANDS, Usage
from bot.texts import error_text
from core.errors import Action, DomainError, Field
from core.orders.lifecycle import ORDER_TRANSITIONS, RETURN_TRANSITIONS
from core.orders.status import OrderStatus, PaymentStatus, ReturnStatus, ShipmentStatus


def _import_everything() -> None:
    for package in (core, bot):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


_import_everything()
CATALOGUE = sorted({DomainError, *_subclasses(DomainError)}, key=lambda c: (c.__module__, c.__name__))
EN, ZH = Translator("en"), Translator("zh-CN")

# State names a reader must never see raw: in English the underscored ones ("awaiting_payment"),
# in Chinese any of them (the Chinese labels have no Latin letters at all).
STATES = {s.value for enum in (OrderStatus, ReturnStatus, ShipmentStatus, PaymentStatus) for s in enum}
UNDERSCORED = {s for s in STATES if "_" in s}
PYTHON = ("<class", "Traceback", "Decimal(", "None", "{", "}", "Error(", "[<")


def _samples(hint: Any) -> list[Any]:
    """Values of a declared parameter type; every member for the types a reader sees as words."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return [value for arg in typing.get_args(hint) for value in _samples(arg)]
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return [_samples(item)[:2]]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)
    if hint is Action:
        return [Action(t["trigger"]) for t in ORDER_TRANSITIONS + RETURN_TRANSITIONS]
    if hint is Field:
        return [Field(name) for name in FIELDS] + [Field("external_ref"), Field("some_column")]
    if hint is Usage:
        return sorted({Usage(c.usage) for c in COMMANDS.values()})
    if hint is str:
        return ["K-1"]
    if hint is int:
        return [3]
    if hint is Decimal:
        return [Decimal("12.50")]
    raise AssertionError(f"no samples for parameter type {hint!r}: teach this test about it")


def instances(cls: type[DomainError]) -> list[DomainError]:
    """One instance per sample of each parameter in turn, the others at their first sample."""
    hints = typing.get_type_hints(cls)
    samples = {f.name: _samples(hints[f.name]) for f in fields(cls)} if hasattr(cls, "__dataclass_fields__") else {}
    base = {name: values[0] for name, values in samples.items()}
    built = [cls(**base)]
    for name, values in samples.items():
        built += [cls(**{**base, name: value}) for value in values[1:]]
    return built


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(text: str, *, chinese: bool) -> list[str]:
    found = [f"looks like Python ({marker})" for marker in PYTHON if marker in text]
    raw = STATES if chinese else UNDERSCORED
    prose = re.sub(r"/[a-z]+", "", text)  # a command's own name (/delivered) is what people type
    found += [f"raw state name {word}" for word in re.findall(r"[A-Za-z_]+", prose) if word in raw]
    return found


@pytest.mark.parametrize("cls", CATALOGUE, ids=lambda c: c.__name__)
def test_each_error_has_its_own_code_and_template_naming_its_parameters(cls):
    assert "code" in vars(cls) and "template" in vars(cls), f"{cls.__name__} must declare its own code and template"
    declared = {f.name for f in fields(cls)} if hasattr(cls, "__dataclass_fields__") else set()
    assert placeholders(cls.template) <= declared, f"{cls.__name__}: the template names undeclared parameters"


def test_codes_are_unique():
    codes = [cls.code for cls in CATALOGUE]
    assert sorted(code for code in set(codes) if codes.count(code) > 1) == []


@pytest.mark.parametrize("cls", CATALOGUE, ids=lambda c: c.__name__)
def test_the_template_is_translated(cls):
    words = re.sub(r"\{[^}]*\}", "", cls.template)
    if re.search(r"[A-Za-z]", words):  # a template of placeholders alone has nothing to translate
        assert translate("zh-CN", cls.template) != cls.template, f"untranslated: {cls.template!r}"


@pytest.mark.parametrize("cls", CATALOGUE, ids=lambda c: c.__name__)
def test_every_rendering_reads_as_a_sentence(cls):
    for error in instances(cls):
        english, chat_en, chat_zh = error.message, error_text(EN, error), error_text(ZH, error)
        assert problems(english, chinese=False) == [], english
        assert problems(chat_en, chinese=False) == [], chat_en
        assert problems(chat_zh, chinese=True) == [], chat_zh
        assert error.to_dict()["message"] == english and error.to_dict()["code"] == cls.code


def test_a_state_is_translated_inside_the_sentence():
    from core.orders.errors import NotReturnable

    error = NotReturnable(order_no="SO-100001", state=OrderStatus.AWAITING_PAYMENT)

    assert error.message == "SO-100001 is awaiting payment; only goods that have shipped can be returned."
    assert error_text(ZH, error) == "SO-100001 当前为待付款，只有已发货的商品才能退货。"
    assert error.to_dict()["params"] == {"order_no": "SO-100001", "state": "awaiting_payment"}


def test_the_checks_would_catch_a_raw_state_and_python_text():
    assert problems("SO-1 is awaiting_payment", chinese=False)
    assert problems("SO-1 当前为 shipped", chinese=True)
    assert problems("[<class 'decimal.ConversionSyntax'>]", chinese=False)
    assert problems("Cannot {action} SO-1", chinese=True)
    assert problems("SO-1 is shipped", chinese=False) == []  # an English word is fine in English


def test_a_prebuilt_message_is_refused():
    from core.errors import OrderNotFound

    with pytest.raises(TypeError):
        OrderNotFound("Order SO-1 is gone")  # type: ignore[misc]
