"""The outbox's WeCom client: app messages out through ``message/send``, cards updated in place.

WeCom answers every call with HTTP 200 and an ``errcode``; this client turns those into the
dispatcher's vocabulary: an expired or invalid access token is fetched again (once, under a lock,
so concurrent sends share one ``gettoken``) and the call retried; frequency limits become
``Throttled`` (WeCom gives no retry-after, so we pick one); anything else is a ``Rejected``.

Editing a card needs a ``response_code``, which WeCom hands out once per sent card (in the
``message/send`` answer) and once per tap (in the ``template_card_event``), each valid 72 h and
good for one update. They travel in the message id the outbox keeps for each copy,
"msgid|task_id|code,code…" (newest last): ``send`` starts it with the send's code and the adapter
adds each tap's code through ``with_code``, so a copy stays editable across restarts. ``edit``
tries the newest unspent code first; when none is left (all spent, or older than 72 h) the reader
gets the outcome as a new message rather than nothing.

Images and files: ``POST /cgi-bin/media/upload?access_token=…&type=image|file`` (multipart field
``media``; the file name as sent is the name people see), then the caption as a text message and
``msgtype`` ``image`` or ``file`` with the ``media_id``, through ``message/send`` to a person or
``appchat/send`` to an app chat. WeCom takes images as JPG or PNG up to 10 MB and files up to 20 MB
(any other image goes as a file); a media id is valid three days, so a retry of the same send
reuses it, and a caption already said is not said again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, FormData

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.wecom.render import card_text, message_body, task_id, update_body

log = logging.getLogger(__name__)
PLATFORM = "wecom"
GROUP = "chat:"  # recipients "chat:<chatid>" are app chats (OMS_DIGEST_CHAT=wecom:chat:<chatid>)
TOKEN_ERRORS = {40014, 41001, 42001}  # invalid, missing, expired access_token
THROTTLE_ERRORS = {45009, 45033, -1}  # api freq out of limit, concurrency, system busy
TOKEN_MARGIN = 300.0  # refresh this many seconds before WeCom says the token expires
REMEMBERED_CODES = 10_000
KEPT_CODES = 4  # per copy: a tap's code, and a few older ones in case it was spent already
IMAGE_MAX = 10 * 1024 * 1024  # media/upload type=image: JPG or PNG, at most 10 MB
FILE_MAX = 20 * 1024 * 1024  # type=file
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
REMEMBERED = 1000  # sends whose upload or caption is remembered for their retry
UPLOAD_TIMEOUT = ClientTimeout(total=120)  # 20 MB over a slow uplink


def with_code(message_id: str, response_code: str) -> str:
    """The copy's message id with a tap's fresh response code added (the oldest dropped)."""
    if message_id.count("|") != 2:
        return message_id
    msgid, task, kept = message_id.split("|")
    codes = [c for c in kept.split(",") if c and c != response_code][-(KEPT_CODES - 1) :] + [response_code]
    return f"{msgid}|{task}|{','.join(codes)}"


class WeComClient:
    platform = PLATFORM
    per_second = 20.0
    per_chat_per_minute = 30.0  # per member; WeCom silently drops what goes over
    throttle_seconds = 5.0

    def __init__(self, api_url: str, corp_id: str, secret: str, agent_id: int) -> None:
        self.api_url = api_url.rstrip("/")
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self._session: ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._spent: OrderedDict[str, None] = OrderedDict()  # used codes, so a second edit never resends one
        self._media: OrderedDict[str, tuple[str, str]] = OrderedDict()  # dedupe key -> (type, media id)
        self._captions_sent: OrderedDict[str, None] = OrderedDict()  # dedupe keys whose caption went

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        if recipient.startswith(GROUP):
            return await self._to_group(recipient.removeprefix(GROUP), payload)
        task = task_id(int(payload["card"]["card_id"]), dedupe_key) if "card" in payload else None
        body = {
            "touser": recipient,
            "agentid": self.agent_id,
            **message_body(payload, task),
            "enable_duplicate_check": 0,
        }
        answer = await self._call("/cgi-bin/message/send", body)
        if answer.get("invaliduser"):
            raise Rejected(f"wecom: unknown user {answer['invaliduser']}")
        msgid = str(answer.get("msgid", ""))
        return f"{msgid}|{task}|{answer.get('response_code', '')}" if task else msgid

    async def send_attachment(
        self, recipient: str, attachment: Attachment, payload: dict[str, Any], dedupe_key: str
    ) -> str:
        if len(attachment.data) > FILE_MAX:
            raise Rejected(f"{attachment.filename} is larger than the 20 MB WeCom takes")
        kind, media_id = self._media.get(dedupe_key) or await self._upload(attachment)
        _remember(self._media, dedupe_key, (kind, media_id))
        if payload.get("text") and dedupe_key not in self._captions_sent:
            await self._send_body(recipient, message_body({"text": payload["text"]}))
            _remember(self._captions_sent, dedupe_key, None)
        return await self._send_body(recipient, {"msgtype": kind, kind: {"media_id": media_id}})

    async def _send_body(self, recipient: str, body: dict[str, Any]) -> str:
        """One message (its ``msgtype`` part) to a person, or to an app chat."""
        if recipient.startswith(GROUP):
            chat_id = recipient.removeprefix(GROUP)
            await self._call("/cgi-bin/appchat/send", {"chatid": chat_id, **body, "safe": 0})
            return f"{GROUP}{chat_id}"
        answer = await self._call(
            "/cgi-bin/message/send",
            {"touser": recipient, "agentid": self.agent_id, **body, "enable_duplicate_check": 0},
        )
        if answer.get("invaliduser"):
            raise Rejected(f"wecom: unknown user {answer['invaliduser']}")
        return str(answer.get("msgid", ""))

    async def _upload(self, attachment: Attachment) -> tuple[str, str]:
        """(message type, media id) of the bytes uploaded as a temporary media (3 days)."""
        image = (
            attachment.kind == "image" and attachment.media_type in IMAGE_TYPES and len(attachment.data) <= IMAGE_MAX
        )
        kind = "image" if image else "file"

        async def post(token: str) -> dict[str, Any]:
            form = FormData(quote_fields=False)  # the name as UTF-8, as browsers send it: it is what people see
            form.add_field("media", attachment.data, filename=attachment.filename, content_type=attachment.media_type)
            params = {"access_token": token, "type": kind}
            return await self._request(
                "POST", "/cgi-bin/media/upload", params=params, data=form, timeout=UPLOAD_TIMEOUT
            )

        token = await self._access_token()
        answer = await post(token)
        if answer.get("errcode") in TOKEN_ERRORS:
            token = await self._access_token(stale=token)
            answer = await post(token)
        answer = self._checked("/cgi-bin/media/upload", answer)
        if not answer.get("media_id"):
            raise DeliveryError("wecom media/upload: no media_id in the answer")
        return kind, str(answer["media_id"])

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        if recipient.startswith(GROUP):  # a group's message cannot be updated: say the outcome anew
            await self._to_group(recipient.removeprefix(GROUP), _anew(payload))
            return
        if "card" not in payload or message_id.count("|") != 2:
            raise Rejected("wecom: only cards can be updated")
        _, task, kept = message_id.split("|")
        codes = [c for c in reversed(kept.split(",")) if c and c not in self._spent]
        last: Rejected | None = None
        for code in codes:
            body = {"userids": [recipient], "agentid": self.agent_id, "response_code": code}
            try:
                await self._call("/cgi-bin/message/update_template_card", body | update_body(payload["card"], task))
            except Rejected as error:  # most likely a spent or expired code: the next one may still work
                self._spend(code)
                last = error
                continue
            self._spend(code)
            return
        # Every code is spent or expired (72 h): the reader still learns the outcome, as a new message.
        log.info("wecom: no usable response_code for %s (%s); sending the outcome anew", task, last or "none left")
        await self.send(recipient, _anew(payload), dedupe_key)

    async def _to_group(self, chat_id: str, payload: dict[str, Any]) -> str:
        """An app chat (应用群聊) takes text and markdown only; a card goes as its text."""
        if "card" in payload:
            payload = {"text": card_text(payload["card"]), "locale": payload.get("locale")}
        await self._call("/cgi-bin/appchat/send", {"chatid": chat_id, **message_body(payload), "safe": 0})
        return f"{GROUP}{chat_id}"

    def _spend(self, code: str) -> None:
        self._spent[code] = None
        while len(self._spent) > REMEMBERED_CODES:
            self._spent.popitem(last=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self._access_token()
        answer = await self._post(path, token, body)
        if answer.get("errcode") in TOKEN_ERRORS:
            log.info("wecom access token refused (%s); fetching a new one", answer.get("errcode"))
            token = await self._access_token(stale=token)
            answer = await self._post(path, token, body)
        return self._checked(path, answer)

    async def _post(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", path, params={"access_token": token}, json=body)

    async def _access_token(self, stale: str | None = None) -> str:
        async with self._token_lock:
            if self._token and self._token != stale and time.monotonic() < self._token_expires:
                return self._token
            answer = await self._request(
                "GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
            )
            if answer.get("errcode") in THROTTLE_ERRORS:
                raise Throttled(self.throttle_seconds)
            if answer.get("errcode") or not answer.get("access_token"):
                # A wrong corp id or secret: retried with backoff, so fixing the settings is enough.
                log.error("wecom gettoken refused: %s %s", answer.get("errcode"), answer.get("errmsg"))
                raise DeliveryError(f"wecom gettoken: {answer.get('errcode')} {answer.get('errmsg')}")
            self._token = str(answer["access_token"])
            self._token_expires = time.monotonic() + max(float(answer.get("expires_in", 7200)) - TOKEN_MARGIN, 60.0)
            return self._token

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=15))
        try:
            async with self._session.request(method, self.api_url + path, **kwargs) as response:
                if response.status == 429:  # a proxy's throttling: wait, it is not a failure
                    raise Throttled(self.throttle_seconds)
                if response.status >= 500:
                    raise DeliveryError(f"wecom {path}: HTTP {response.status}")
                if response.status >= 400:
                    raise Rejected(f"wecom {path}: HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as error:
            raise DeliveryError(f"wecom {path}: {error!r}") from error
        if not isinstance(answer, dict):
            raise DeliveryError(f"wecom {path}: unexpected answer")
        return answer

    def _checked(self, path: str, answer: dict[str, Any]) -> dict[str, Any]:
        code = answer.get("errcode", 0)
        if code in THROTTLE_ERRORS:
            raise Throttled(self.throttle_seconds)
        if code in TOKEN_ERRORS:
            raise DeliveryError(f"wecom {path}: access token refused twice ({code})")
        if code:
            raise Rejected(f"wecom {path}: {code} {answer.get('errmsg', '')}")
        return answer


def _remember(memo: OrderedDict[str, Any], key: str, value: Any) -> None:
    memo[key] = value
    while len(memo) > REMEMBERED:
        memo.popitem(last=False)


def _anew(payload: dict[str, Any]) -> dict[str, Any]:
    """A card that can no longer be updated, as what to send instead: the card itself while it still
    has buttons to tap (a fresh copy with fresh codes), else its title and outcome as text."""
    card = payload["card"]
    if card.get("buttons"):
        return payload
    return {
        "text": "\n".join(t for t in (card.get("title"), card.get("outcome")) if t),
        "locale": payload.get("locale"),
    }
