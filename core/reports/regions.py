"""Province names as people write them on an address, folded to one name per province.

Addresses say 广东, 广东省, 上海市, 广西壮族自治区 or "Guangdong Province"; a report groups them as
广东, 上海, 广西, Guangdong. Only the administrative suffix goes, never a name of two characters or
fewer (吉林 stays, 林 alone would be wrong).
"""

from __future__ import annotations

import re

SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
ENGLISH_SUFFIX = re.compile(r"\s+(province|municipality|autonomous region|sar|shi|sheng)$", re.IGNORECASE)


def province_name(raw: str | None) -> str:
    """The province as a report groups it; an empty string when the address names none."""
    name = (raw or "").strip()
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    if name.isascii():
        return ENGLISH_SUFFIX.sub("", name).strip().title()
    return name
