"""``POST /telegram/webhook``: check Telegram's secret-token header, answer at once, work after.

Telegram signs nothing; the only proof a request comes from it is the ``secret_token`` we gave
``setWebhook``, echoed in a header. It is compared in constant time, and a request without it
changes nothing. The update is parsed before answering (a malformed one gets 400, so it is
visibly refused rather than silently lost) and queued for PTB, which handles it after the 200, so
a slow database never makes Telegram time out and re-deliver. While the bot is not ready to take
updates (still starting, or shutting down) the answer is 503 and Telegram delivers it again later.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from telegram import Bot, Update

from integrations.web.body import loads

log = logging.getLogger(__name__)
PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def handler(secret: str, bot: Bot, accept: Callable[[Update], bool], *, max_depth: int) -> Callable[[web.Request], Any]:
    """The route's handler; ``accept`` takes a verified, parsed update without blocking, or says
    it cannot yet (False); ``max_depth`` bounds the update's JSON nesting."""
    expected = secret.encode()

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: missing or wrong secret token from %s", request.remote)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = loads(await request.read(), max_depth=max_depth)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an Update object")
            update = Update.de_json(data, bot)
        except (ValueError, TypeError, KeyError) as error:  # BadBody is a ValueError
            log.warning("telegram webhook: malformed update: %s", error)
            return web.json_response({"error": "malformed update"}, status=400)
        if not accept(update):
            return web.json_response({"error": "not ready; deliver again later"}, status=503)
        return web.json_response({"ok": True})

    return webhook
