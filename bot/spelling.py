"""Did you mean: the command a mistyped one was most likely meant to be (``/ordr`` → ``/order``).

Only commands the person may use are offered, under the name or alias they were typing in, and
only when one or two keystrokes away (one for short names: ``/下担`` → ``/下单``), so a wild guess
is never offered as a suggestion.
"""

from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.router import visible_commands
from core.auth import Actor


def closest_command(typed: str, actor: Actor) -> str | None:
    if len(typed) < 2:
        return None
    names = [key.lower() for command in visible_commands(actor) for key in (command.name, *command.aliases)]
    most = 1 if len(typed) <= 4 else 2
    found = process.extractOne(typed, names, scorer=DamerauLevenshtein.distance, score_cutoff=most)
    return found[0] if found else None
