"""Finding the SKU someone meant."""

from __future__ import annotations

from collections.abc import Collection

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


def nearest_sku(sku: str, known: Collection[str]) -> str | None:
    """The known SKU a typo most likely meant (edit distance ≤ 2, case-insensitive), or None."""
    if not known:
        return None
    by_upper = {k.upper(): k for k in known}
    match = process.extractOne(sku.strip().upper(), list(by_upper), scorer=Levenshtein.distance, score_cutoff=2)
    return by_upper[match[0]] if match else None
