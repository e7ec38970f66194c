"""What the chat layer takes from a typed message, whichever platform it came from.

Control characters (C0 but tab and newline, DEL, C1) and lone surrogates are dropped: they would
end up in commands, the timeline and the replies that echo them, where they garble a terminal or
a page, and a lone surrogate cannot even be written to the database. Line breaks become ``\\n``.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
ELLIPSIS = "…"


def printable(text: str) -> str:
    return _UNPRINTABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def kept(text: str, limit: int) -> str:
    """The timeline's copy of a message: printable, and cut at ``limit`` characters when longer
    (such a message was refused; the copy shows what it began with)."""
    text = printable(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
