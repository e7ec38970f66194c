"""The card queues behind /approvals and /pick: the cards they list, in a fixed number of statements."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Card, CardKind
from bot.queues import approval_cards
from core.services import Services
from tests.support.master_data import seed
from tests.support.service_calls import as_user, place
from tests.support.statements import statements


async def waiting_for_approval(services: Services, how_many: int) -> list[str]:
    return [await place(services, items={"TEA-001": 50}) for _ in range(how_many)]  # 6,400 > 5,000 threshold


async def approval_card_count(services: Services) -> int:
    return await as_user(
        services,
        None,
        lambda ctx: ctx.session.scalar(select(func.count(Card.id)).where(Card.kind == CardKind.APPROVAL)),
    )


async def test_each_waiting_order_gets_one_card_and_asking_again_makes_no_more(services):
    # Given three orders waiting for approval and no cards yet
    await seed(services)
    await waiting_for_approval(services, 3)
    # when the approver asks twice
    first = await as_user(services, "王芳", approval_cards)
    second = await as_user(services, "王芳", approval_cards)
    # then each order has one card, listed oldest first, and the second answer is the same cards
    assert len(first) == 3 and first == sorted(first)
    assert second == first
    assert await approval_card_count(services) == 3


async def test_the_approval_queue_costs_the_same_statements_for_two_orders_as_for_six(services):
    await same_statements_for_two_and_six(services)


async def test_the_approval_queue_costs_the_same_statements_on_postgresql(pg_services):
    await same_statements_for_two_and_six(pg_services)


async def test_an_empty_approval_queue_is_empty(services):
    await seed(services)
    assert await as_user(services, "王芳", approval_cards) == []


async def same_statements_for_two_and_six(services: Services) -> None:
    # Given two orders waiting without cards, and later six of which two have cards
    await seed(services)
    await waiting_for_approval(services, 2)
    with statements(services) as few:
        assert len(await as_user(services, "王芳", approval_cards)) == 2
    await waiting_for_approval(services, 4)
    with statements(services) as many:
        assert len(await as_user(services, "王芳", approval_cards)) == 6  # two with cards, four without
    # then the second answer took no more statements than the first (one INSERT for all four new cards)
    assert len(many) == len(few), many
    assert sum(s.lstrip().upper().startswith("INSERT") for s in many) == 1
