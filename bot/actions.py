"""Compact action ids for buttons: ``verb:card:version``, well inside Telegram's 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass

from core.db.base import MAX_INTEGER

VERBS = {
    "ap": "approve",
    "rj": "reject",
    "pk": "picked",
    "pd": "packed",
    "ms": "map_skus",
    "cc": "contacted",
    "rs": "reship",
    "rt": "open_return",
    "ca": "approve_credit",
    "cr": "reject_credit",
    "mr": "mo_release",
    "mt": "mo_start",
    "md": "mo_done",
}
CODES = {name: code for code, name in VERBS.items()}
# A pick card's button for its order's next step (``core.orders.lifecycle.PICK_STEPS``).
BUTTON = {"start_picking": "picked", "pack": "packed"}


@dataclass(frozen=True)
class ActionId:
    verb: str  # approve | reject | picked | packed | map_skus | … | approve_credit | reject_credit
    card_id: int
    version: int

    def encode(self) -> str:
        return f"{CODES[self.verb]}:{self.card_id}:{self.version}"

    @classmethod
    def decode(cls, text: str) -> ActionId:
        try:
            code, card, version = text.split(":")
            if not (card.isdecimal() and version.isdecimal() and max(int(card), int(version)) <= MAX_INTEGER):
                raise ValueError(text)
            return cls(VERBS[code], int(card), int(version))
        except (ValueError, KeyError):
            raise ValueError(f"not an action id: {text!r}") from None
