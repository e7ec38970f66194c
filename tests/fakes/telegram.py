"""A fake Telegram Bot API over real HTTP, speaking the wire format PTB speaks.

``POST /bot<TOKEN>/<method>`` with form-encoded parameters (PTB's default: strings as they are,
everything else JSON-encoded), multipart, or a JSON body; answers ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": ..., "description": ...}`` as Telegram does. It keeps every
chat's messages by id with edits applied, validates HTML parse mode the way Telegram refuses it
("can't parse entities"), throttles on a script of 429s with ``parameters.retry_after``, and
long-polls ``getUpdates`` with offset confirmation. ``message_update`` / ``callback_update``
build updates with real shapes for the webhook or for polling.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import defaultdict
from typing import Any

from aiohttp import web

from tests.fakes.server import UPLOAD_MAX, serve_locally
from tests.support.images import png_size

TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghijk"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "OMS",
    "username": "OmsBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
STRING_FIELDS = {
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "language_code",
    "url",
    "secret_token",
    "inline_message_id",
}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "span", "tg-spoiler"}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.chats: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)  # chat id → message id → Message
        self.html: dict[tuple[int, int], str] = {}  # (chat, message) → the HTML we were sent
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every call, in order
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery parameters
        self.commands: dict[str, list[dict[str, Any]]] = {}  # language_code ("" = default) → commands
        self.script: list[tuple[str, int]] = []  # (method, retry_after): answer that method with a 429 next
        self.blocked: set[int] = set()  # chats whose user blocked the bot (403)
        self.files: dict[str, bytes] = {}  # file_id -> the bytes uploaded with sendPhoto/sendDocument
        self.updates: list[dict[str, Any]] = []  # waiting for getUpdates
        self.update_ids = itertools.count(800_000_001)
        self.message_ids = itertools.count(1)
        self.query_ids = itertools.count(4_000_000_000_000_000_001)
        self._new_update = asyncio.Condition()
        self.closing = False
        self.app = web.Application(client_max_size=UPLOAD_MAX)
        self.app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self.runner: web.AppRunner | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        """What ``OMS_TELEGRAM_API_URL`` is set to: PTB appends the token and method."""
        return f"{self.url}/bot"

    async def start(self, port: int = 0) -> FakeBotApi:
        self.closing = False
        self.runner, self.url = await serve_locally(self.app, port)
        return self

    async def stop(self) -> None:
        async with self._new_update:  # end pending long polls, or the server waits for them to time out
            self.closing = True
            self._new_update.notify_all()
        if self.runner:
            await self.runner.cleanup()

    # --- what tests read -------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [dict(m, html=self.html[(chat_id, i)]) for i, m in sorted(self.chats[chat_id].items())]

    def methods(self, name: str) -> list[dict[str, Any]]:
        return [params for method, params in self.calls if method == name]

    # --- updates, as Telegram builds them ----------------------------------------------------

    def message_update(
        self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private", name: str = "User"
    ) -> dict[str, Any]:
        chat_id = user_id if chat_id is None else chat_id
        user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": "en"}
        chat = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": name} if chat_type == "private" else {"title": "Ops group"})
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        head = text.split(maxsplit=1)[0] if text.strip() else ""
        if re.fullmatch(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", head):  # Telegram marks ASCII commands only
            message["entities"] = [{"offset": 0, "length": len(head), "type": "bot_command"}]
        return {"update_id": next(self.update_ids), "message": message}

    def callback_update(self, user_id: int, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        message = dict(self.chats[chat_id][message_id])
        return {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.query_ids)),
                "from": {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "en"},
                "message": message,
                "chat_instance": f"-{abs(chat_id) * 7919}",
                "data": data,
            },
        }

    async def queue(self, update: dict[str, Any]) -> None:
        """Hand an update to the next getUpdates (polling mode)."""
        async with self._new_update:
            self.updates.append(update)
            self._new_update.notify_all()

    # --- the Bot API ---------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        params = await _params(request)
        self.calls.append((method, params))
        try:
            if self.script and self.script[0][0] == method:
                _, retry_after = self.script.pop(0)
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
            result = await handler(params)
        except ApiError as error:
            body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
            return web.json_response(body, status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands are invalid")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[params.get("language_code") or ""] = commands
        return True

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        text, html_text = _text(params)
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "from": BOT_USER,
            "chat": _chat_object(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        markup = _markup(params.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        self.chats[chat_id][message["message_id"]] = message
        self.html[(chat_id, message["message_id"])] = html_text
        return message

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        upload = _upload(params, "photo")
        if len(upload["data"]) > PHOTO_MAX:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")  # the fake's wording for "too big"
        size = png_size(upload["data"])
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if sum(size) > 10_000 or max(size) / min(size) > 20:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        file_id = self._keep_file(upload["data"])
        photo = [{"file_id": file_id, "file_unique_id": file_id[-8:], "width": size[0], "height": size[1]}]
        return self._new_media(chat_id, params, "photo", photo)

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        upload = _upload(params, "document")
        file_id = self._keep_file(upload["data"])
        document = {
            "file_id": file_id,
            "file_unique_id": file_id[-8:],
            "file_name": upload["filename"],
            "mime_type": upload["content_type"],
            "file_size": len(upload["data"]),
        }
        return self._new_media(chat_id, params, "document", document)

    def _keep_file(self, data: bytes) -> str:
        file_id = f"AgAC{next(self.message_ids):04d}fake{len(self.files):06d}"
        self.files[file_id] = data
        return file_id

    def _new_media(self, chat_id: int, params: dict[str, Any], kind: str, media: Any) -> dict[str, Any]:
        raw = params.get("caption") or ""
        shown = _parse_html(raw) if raw and params.get("parse_mode") == "HTML" else raw
        if len(shown) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "from": BOT_USER,
            "chat": _chat_object(chat_id),
            "date": int(time.time()),
            kind: media,
        }
        if shown:
            message["caption"] = shown
        self.chats[chat_id][message["message_id"]] = message
        self.html[(chat_id, message["message_id"])] = raw
        return message

    def file(self, file_id: str) -> bytes:
        return self.files[file_id]

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        chat_id, message = self._existing(params)
        text, html_text = _text(params)
        markup = _markup(params.get("reply_markup"))  # omitted: the inline keyboard goes
        if text == message["text"] and html_text == self.html[(chat_id, message["message_id"])]:
            if markup == message.get("reply_markup"):
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message",
                )
        return self._replace(chat_id, message, text=text, html_text=html_text, markup=markup)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        chat_id, message = self._existing(params)
        markup = _markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        return self._replace(chat_id, message, markup=markup)

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answers.append(params)
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        async with self._new_update:
            if offset:  # confirm everything before offset
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                try:
                    await asyncio.wait_for(
                        self._new_update.wait_for(lambda: bool(self.updates) or self.closing), timeout
                    )
                except TimeoutError:
                    pass
            return self.updates[:limit]

    # --- helpers ---------------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _existing(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = self._chat(params)
        message = self.chats[chat_id].get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, message

    def _replace(
        self, chat_id: int, message: dict[str, Any], *, markup: Any, text: str | None = None, html_text: str = ""
    ) -> dict[str, Any]:
        edited = {k: v for k, v in message.items() if k != "reply_markup"}
        edited["edit_date"] = int(time.time())
        if text is not None:
            edited["text"] = text
            self.html[(chat_id, message["message_id"])] = html_text
        if markup:
            edited["reply_markup"] = markup
        self.chats[chat_id][message["message_id"]] = edited
        return edited


async def _params(request: web.Request) -> dict[str, Any]:
    """PTB sends form fields with non-string values JSON-encoded (multipart/form-data when a file
    goes along: each file part is kept as {"data", "filename", "content_type"}); a JSON body is
    accepted too."""
    if request.content_type == "application/json":
        return dict(await request.json())
    files: dict[str, Any] = {}
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query)
    else:
        form = await request.post()
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = {"data": value.file.read(), "filename": value.filename, "content_type": value.content_type}
    params: dict[str, Any] = {"_files": files} if files else {}
    for key, value in raw.items():
        if key in STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


PHOTO_MAX = 10 * 1024 * 1024  # sendPhoto: "The photo must be at most 10 MB in size"
DOCUMENT_MAX = 50 * 1024 * 1024  # files sent by bots: at most 50 MB


def _upload(params: dict[str, Any], field: str) -> dict[str, Any]:
    """The file sent in ``field`` as multipart (directly, or as ``attach://name``); a file_id or URL
    string is not something this fake can fetch."""
    files = params.get("_files") or {}
    named = params.get(field)
    upload = files.get(field) or (
        files.get(named[9:]) if isinstance(named, str) and named.startswith("attach://") else None
    )
    if upload is None:
        raise ApiError(400, f"Bad Request: there is no {field} in the request")
    if len(upload["data"]) > DOCUMENT_MAX:
        raise ApiError(413, "Request Entity Too Large")
    return upload


def _chat_object(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup" if str(chat_id).startswith("-100") else "group", "title": "Ops"}
    return {"id": chat_id, "type": "private", "first_name": "User"}


def _text(params: dict[str, Any]) -> tuple[str, str]:
    """(the text as a client shows it, the HTML we were sent); refuses what Telegram refuses."""
    raw = params.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if params.get("parse_mode") != "HTML":
        shown = raw
    else:
        shown = _parse_html(raw)
    if len(shown) > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    return shown, raw


def _parse_html(text: str) -> str:
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.append(_plain(text[pos : match.start()]))
        pos = match.end()
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"')
        if closing:
            if not stack or stack.pop() != tag:
                raise ApiError(400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')
        else:
            stack.append(tag)
    out.append(_plain(text[pos:]))
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: can't find end tag corresponding to \"{stack[-1]}\"")
    return "".join(out)


def _plain(fragment: str) -> str:
    if re.search(r"[<>]", fragment) or re.search(r"&", _ENTITY.sub("", fragment)):
        raise ApiError(400, "Bad Request: can't parse entities: unescaped character in text")
    return html.unescape(fragment)


def _markup(value: Any) -> dict[str, Any] | None:
    """Telegram drops an empty inline keyboard: the message then has no ``reply_markup``."""
    if not value:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    rows = value.get("inline_keyboard") or []
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows} if any(rows) else None
