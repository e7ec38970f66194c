"""A card rendered for a reader says where the order is, open or closed."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards import render
from bot.i18n import Translator
from bot.models import Card, CardKind, CardState

AT = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)


def pick_card(state: CardState, outcome: dict | None = None) -> Card:
    return Card(
        id=7,
        kind=CardKind.PICK,
        order_id=1,
        order_no="SO-100001",
        version=4,
        state=state,
        outcome=outcome,
        payload={
            "customer": "杭州茶社",
            "warehouses": ["SH"],
            "lines": [{"sku": "TEA-001", "name": "龙井茶 250g", "qty": 2}],
            "stage": "picking",
            "last": {"action": "start_picking", "actor": "张仓", "at": AT.isoformat()},
        },
        created_at=AT,
        updated_at=AT,
    )


def stage(card: Card, locale: str = "en") -> str:
    view = render(card, Translator(locale), "Asia/Shanghai")
    [value] = [value for label, value in view.fields if label == Translator(locale)("Stage")]
    return value


def test_an_open_pick_card_shows_the_stage_it_follows():
    assert stage(pick_card(CardState.OPEN)) == "picking"


def test_a_pick_card_closed_by_packing_says_packed_not_picking():
    packed = {"action": "packed", "actor": "张仓", "at": AT.isoformat(), "status": "packed", "reason": None}
    card = pick_card(CardState.CLOSED, packed)

    assert stage(card) == "packed"
    assert stage(card, "zh-CN") == "已打包"
    assert render(card, Translator("en"), "Asia/Shanghai").buttons == []


def test_a_pick_card_closed_by_a_cancellation_says_cancelled():
    cancelled = {"action": "cancel", "actor": "李雷", "at": AT.isoformat(), "status": "cancelled", "reason": "x"}

    assert stage(pick_card(CardState.CLOSED, cancelled)) == "cancelled"


def test_an_approval_card_for_a_contract_names_its_project_instead_of_lines():
    card = Card(
        id=8,
        kind=CardKind.APPROVAL,
        order_id=2,
        order_no="SO-100002",
        version=2,
        state=CardState.OPEN,
        payload={"customer": "杭州茶社", "total": "280000.00", "currency": "CNY", "lines": [], "project": "机房改造"},
        created_at=AT,
        updated_at=AT,
    )
    fields = dict(render(card, Translator("zh-CN"), "Asia/Shanghai").fields)
    assert fields["工程合同"] == "机房改造" and "商品明细" not in fields
