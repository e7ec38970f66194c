"""Reading what a request carries without letting it hurt the server: JSON bodies and numbers.

Python's ``json`` module turns a body of 100,000 nested brackets into a ``RecursionError``, and
a ``\\ud800`` escape into a string that only fails later, when the database encodes it; an id of
thirty digits fails in the database driver. Each is refused here as a client error, with a
message that says what was wrong, before any handler or the database sees it.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from aiohttp import web

from core.db.base import MAX_INTEGER

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_DECIMAL = re.compile(r"[0-9]{1,10}")


class BadBody(ValueError):
    """A body we will not read; ``status`` is 400, or 413 for one that is too large; ``reason``
    names which check refused it (``utf8``, ``depth``, ``json``, ``surrogate``, ``size``), so a
    caller answering in its own words need not read the English message."""

    def __init__(self, message: str, status: int = 400, *, reason: str = "json") -> None:
        super().__init__(message)
        self.message, self.status, self.reason = message, status, reason


def depth(text: str) -> int:
    """How deep the JSON text nests, counted without parsing it (strings set aside first)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(_STEP[c] for c in brackets), default=0)


def loads(raw: bytes, *, max_depth: int) -> Any:
    """JSON from strict UTF-8, nested at most ``max_depth`` deep, every string valid Unicode."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("the body must be UTF-8", reason="utf8") from None
    if depth(text) > max_depth:
        raise BadBody(f"the JSON nests deeper than {max_depth} levels", reason="depth")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadBody("the body must be JSON") from None
    if _has_lone_surrogate(value):
        raise BadBody("the JSON has a \\u escape that is half of a character (a lone surrogate)", reason="surrogate")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


async def read(request: web.Request, *, max_bytes: int) -> bytes:
    """The body, refused (413) as soon as it is known to be larger than ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise BadBody(f"the body is larger than {max_bytes:,} bytes", 413, reason="size")
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise BadBody(f"the body is larger than {max_bytes:,} bytes", 413, reason="size")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: web.Request, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """A JSON object body, or an HTTP error (``{"error": "..."}``) saying why not."""
    try:
        value = loads(await read(request, max_bytes=max_bytes), max_depth=max_depth)
    except BadBody as bad:
        raise error(bad.message, bad.status) from None
    if not isinstance(value, dict):
        raise error("the body must be a JSON object")
    return value


def cursor(value: str | None, name: str = "after") -> int:
    """A position in a list of rows (``?after=``): a row id from 0 up, absent meaning 0."""
    if value is None or value == "":
        return 0
    if not _DECIMAL.fullmatch(value) or int(value) > MAX_INTEGER:
        raise error(f"'{name}' must be a whole number from 0 to {MAX_INTEGER}")
    return int(value)


def is_row_id(value: Any) -> bool:
    """A JSON value that can name a row: a whole number from 1 to the largest id (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INTEGER


def error(message: str, status: int = 400) -> web.HTTPException:
    """A client error the console page can show: ``{"error": "..."}`` with 400, or 413."""
    body = json.dumps({"error": message}, ensure_ascii=False)
    if status == 413:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body, content_type="application/json")
    return web.HTTPBadRequest(text=body, content_type="application/json")
