"""A fake WeCom API over real HTTP, answering the way qyapi.weixin.qq.com does.

``gettoken``, ``message/send`` and ``message/update_template_card``, always HTTP 200 with an
``errcode``: 42001 for a token that was expired with ``expire_tokens()``, 40014 for one never
issued, scripted errcodes (45009) answered first, and single-use ``response_code``s (one per sent
card, one per ``tap_code``). It keeps what every user has received and what each user's copy of
every card looks like now, after updates, so a test reads what each recipient sees.

``media/upload`` takes images (JPG/PNG, 10 MB) and files (20 MB) as multipart ``media`` and hands
out media ids, which ``image`` and ``file`` messages must name (40007 otherwise).

Also builds the encrypted, signed callback requests WeCom would post to the adapter.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections import defaultdict
from typing import Any

from aiohttp import web

from integrations.callback_crypto import MessageCrypto
from tests.fakes.server import UPLOAD_MAX, serve_locally

IMAGE_MAX = 10 * 1024 * 1024  # the upload limits of the current docs (document/path/96484)
FILE_MAX = 20 * 1024 * 1024

CORP_ID = "ww1436e0e65a779aee"
SECRET = "app-secret-for-tests"
AGENT_ID = 1000002
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
# The fake's answer to a spent or unknown response_code. WeCom's real errcode for it is not
# documented in our sources (see /work/notes/wecom.md); the client treats any errcode alike.
BAD_RESPONSE_CODE = 40099


def settings() -> dict[str, Any]:
    return {
        "wecom_corp_id": CORP_ID,
        "wecom_agent_id": AGENT_ID,
        "wecom_secret": SECRET,
        "wecom_token": TOKEN,
        "wecom_encoding_aes_key": AES_KEY,
    }


class FakeWeCom:
    def __init__(self, users: set[str] | None = None) -> None:
        self.users = users  # None: every userid exists
        self.script: list[int] = []  # errcodes to answer message/send and update calls with first
        self.tokens: dict[str, bool] = {}  # token → still valid
        self.token_calls = 0
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)  # user → message/send bodies
        self.cards: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # user → task_id → card now
        self.codes: dict[str, tuple[str, set[str]]] = {}  # unused response_code → (task_id, users)
        self.updates: list[dict[str, Any]] = []
        self.refused: list[tuple[str, int]] = []  # (path, errcode) of every refused call
        self.ids = itertools.count(1)
        self.app = web.Application(client_max_size=UPLOAD_MAX)
        self.app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        self.app.router.add_post("/cgi-bin/message/send", self.send)
        self.app.router.add_post("/cgi-bin/message/update_template_card", self.update)
        self.app.router.add_post("/cgi-bin/appchat/send", self.appchat)
        self.app.router.add_post("/cgi-bin/media/upload", self.media_upload)
        self.media: dict[str, dict[str, Any]] = {}  # media id -> {"type", "filename", "content_type", "data"}
        self.chats: dict[str, list[dict[str, Any]]] = defaultdict(list)  # app chat id → message bodies
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.crypto = MessageCrypto(TOKEN, AES_KEY, CORP_ID)

    async def start(self) -> FakeWeCom:
        self.runner, self.url = await serve_locally(self.app)
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # -- the API -------------------------------------------------------------------------------

    async def gettoken(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        if request.query.get("corpid") != CORP_ID:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != SECRET:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = True
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def expire_tokens(self) -> None:
        """As if two hours passed: every token issued so far now answers 42001."""
        self.tokens = dict.fromkeys(self.tokens, False)

    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return self._refuse(request, 40014, "invalid access_token")
        if not self.tokens[token]:
            return self._refuse(request, 42001, "access_token expired")
        if self.script:
            return self._refuse(request, self.script.pop(0), "api freq out of limit")
        return None

    def _refuse(self, request: web.Request, code: int, why: str) -> web.Response:
        self.refused.append((request.path, code))
        return web.json_response({"errcode": code, "errmsg": f"{why}, hint: [{int(time.time())}]"})

    async def send(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = await request.json()
        if body.get("agentid") != AGENT_ID:
            return self._refuse(request, 40056, "invalid agentid")
        if (refused := self._bad_media(request, body)) is not None:
            return refused
        users = body["touser"].split("|")
        unknown = [u for u in users if self.users is not None and u not in self.users]
        if len(unknown) == len(users):
            return self._refuse(request, 81013, "user & party & tag all invalid")
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(unknown)}
        answer["msgid"] = f"msg-{next(self.ids)}"
        known = [u for u in users if u not in unknown]
        card = body.get("template_card") if body["msgtype"] == "template_card" else None
        if card and any(card["task_id"] in self.cards[user] for user in known):
            return self._refuse(request, 40058, "task_id already exists")
        for user in known:
            self.received[user].append(body)
            if card:
                self.cards[user][card["task_id"]] = copy.deepcopy(card)
        if card:
            if card.get("button_list"):
                answer["response_code"] = self._new_code(card["task_id"], set(known))
        return web.json_response(answer)

    async def appchat(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = await request.json()
        if body.get("msgtype") not in ("text", "markdown", "textcard", "news", "image", "file"):
            return self._refuse(request, 40008, "invalid message type")
        if (refused := self._bad_media(request, body)) is not None:
            return refused
        self.chats[body["chatid"]].append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def media_upload(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        kind = request.query.get("type")
        media = (await request.post()).get("media")
        if kind not in ("image", "voice", "video", "file") or not isinstance(media, web.FileField):
            return self._refuse(request, 40004, "invalid media type")
        data = media.file.read()
        if len(data) <= 5 or len(data) > (IMAGE_MAX if kind == "image" else FILE_MAX):
            return self._refuse(request, 40006, "invalid file size")
        if kind == "image" and not data.startswith((b"\x89PNG", b"\xff\xd8")):
            return self._refuse(request, 40005, "invalid file type")
        media_id = f"3{secrets.token_urlsafe(30)}"
        self.media[media_id] = {
            "type": kind,
            "filename": media.filename,
            "content_type": media.content_type,
            "data": data,
        }
        return web.json_response(
            {"errcode": 0, "errmsg": "", "type": kind, "media_id": media_id, "created_at": str(int(time.time()))}
        )

    def _bad_media(self, request: web.Request, body: dict[str, Any]) -> web.Response | None:
        kind = body.get("msgtype")
        if kind not in ("image", "file"):
            return None
        known = self.media.get((body.get(kind) or {}).get("media_id", ""))
        if known is None or (kind == "image" and known["type"] != "image"):
            return self._refuse(request, 40007, "invalid media_id")
        return None

    def attachments(self, to: str) -> list[dict[str, Any]]:
        """The images and files a user (or an app chat, ``chat:<id>``) was sent, with their media."""
        bodies = self.chats[to.removeprefix("chat:")] if to.startswith("chat:") else self.received[to]
        return [
            {**body, "media": self.media[body[body["msgtype"]]["media_id"]]}
            for body in bodies
            if body["msgtype"] in ("image", "file")
        ]

    async def update(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = await request.json()
        code = body.get("response_code", "")
        if code not in self.codes:
            return self._refuse(request, BAD_RESPONSE_CODE, "invalid response_code")
        task, allowed = self.codes.pop(code)
        self.updates.append(body)
        for user in body.get("userids", []):
            if user not in allowed or task not in self.cards[user]:
                continue
            if "template_card" in body:
                self.cards[user][task] = copy.deepcopy(body["template_card"])
            elif "button" in body:
                card = self.cards[user][task]
                card["replaced_name"] = body["button"]["replace_name"]
                card["button_list"] = []  # greyed out: nothing left to tap
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    def _new_code(self, task: str, users: set[str]) -> str:
        code = secrets.token_urlsafe(32)
        self.codes[code] = (task, users)
        return code

    def tap_code(self, user: str, task: str) -> str:
        """The fresh ResponseCode WeCom puts in a ``template_card_event``."""
        return self._new_code(task, {user})

    # -- what users see ------------------------------------------------------------------------

    def texts(self, user: str) -> list[str]:
        out = []
        for body in self.received[user]:
            if body["msgtype"] in ("text", "markdown"):
                out.append(body[body["msgtype"]]["content"])
        return out

    def card_tasks(self, user: str, needle: str) -> list[str]:
        return [task for task, card in self.cards[user].items() if needle in card["main_title"]["title"]]

    # -- what WeCom posts to the adapter -------------------------------------------------------

    def callback(self, xml: str, *, crypto: MessageCrypto | None = None, timestamp: str | None = None) -> tuple:
        """(query, body) of the POST WeCom makes for the decrypted ``xml``."""
        sealed = (crypto or self.crypto).seal(xml, timestamp or str(int(time.time())), secrets.token_hex(5))
        return _query(sealed.signature, sealed.timestamp, sealed.nonce), envelope(sealed.encrypt)


def envelope(encrypt: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
    )


def _query(signature: str, timestamp: str, nonce: str) -> dict[str, str]:
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def text_xml(user: str, content: str, msg_id: int, create_time: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
    )


def tap_xml(user: str, task: str, key: str, response_code: str, create_time: int | None = None) -> str:
    """A ``template_card_event`` as WxJava's ``testTemplateCardEvent`` reproduces it."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{AGENT_ID}</AgentID>"
        f"<SelectedItems></SelectedItems></xml>"
    )
