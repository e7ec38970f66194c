"""A mistyped command is matched to the command the person most likely meant, among theirs."""

from __future__ import annotations

import pytest

import bot.conversation  # noqa: F401  (registers the commands)
from bot.spelling import closest_command
from core.auth import Actor, Role


def person(*roles: Role) -> Actor:
    return Actor(name="someone", roles=frozenset(roles), source="test")


SALES, CUSTOMER, WAREHOUSE = person(Role.SALES), person(Role.CUSTOMER), person(Role.WAREHOUSE)


@pytest.mark.parametrize(
    ("typed", "actor", "meant"),
    [
        ("ordr", SALES, "order"),  # a letter left out
        ("oredr", SALES, "order"),  # two letters swapped
        ("neworde", SALES, "neworder"),
        ("nweordr", SALES, "neworder"),  # two slips in a long name
        ("下担", SALES, "下单"),  # the alias being typed, not the English name
        ("pikc", WAREHOUSE, "pick"),
    ],
)
def test_a_slip_or_two_finds_the_command(typed, actor, meant):
    assert closest_command(typed, actor) == meant


@pytest.mark.parametrize(
    ("typed", "actor"),
    [
        ("frobnicate", SALES),  # nothing like any command
        ("x", SALES),  # too short to guess from
        ("aprovals", CUSTOMER),  # a customer cannot use /approvals: not offered
        ("pikc", SALES),  # nor /pick to sales
    ],
)
def test_no_wild_guess_and_nothing_the_person_may_not_use(typed, actor):
    assert closest_command(typed, actor) is None
