"""WeCom's callback requests, checked and opened: the URL check (GET) and encrypted events (POST).

Pure functions from query and body to a plain value or a ``Refused`` with the HTTP status to
answer, so the route stays a few lines and every refusal is testable without a server. WeCom
signs the timestamp but sets no window for it, so a captured request would stay valid for ever:
replays are caught by de-duplication (``Event.event_id``, derived from the signed body, so an
exact replay is the same event), and a request older than the keys are kept is refused
(``stale``, given by the caller) before its key could be gone. WeCom's own retries of a request
come within seconds and are answered like the first, with nothing done twice.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations.callback_crypto import BadCiphertext, MessageCrypto, SignatureMismatch, WrongReceiver

MAX_BODY = 64 * 1024  # WeCom's callbacks are a few hundred bytes
Stale = Callable[[datetime], str | None]  # why a request signed at this time is not trusted, or None
_UNSAFE_XML = re.compile(r"<!(DOCTYPE|ENTITY)", re.I)


@dataclass(frozen=True)
class Refused(Exception):
    status: int
    reason: str


@dataclass(frozen=True)
class Event:
    """One decrypted callback, reduced to what the chat layer needs."""

    kind: str  # "text" | "tap" | "other"
    user: str  # FromUserName
    event_id: str
    text: str = ""  # kind "text": the command as typed, with a leading "/" added when missing
    action: str = ""  # kind "tap": the button's key
    task_id: str = ""
    response_code: str = ""


def url_check(crypto: MessageCrypto, query: Mapping[str, str], stale: Stale) -> str:
    """The decrypted ``echostr`` to answer verbatim."""
    echostr = query.get("echostr", "")
    return _open(crypto, query, echostr, stale)


def open_post(crypto: MessageCrypto, query: Mapping[str, str], body: bytes, stale: Stale) -> Event:
    envelope = parse_xml(body)
    encrypted = envelope.findtext("Encrypt") or ""
    return parse_event(parse_xml(_open(crypto, query, encrypted, stale).encode()))


def _open(crypto: MessageCrypto, query: Mapping[str, str], encrypted: str, stale: Stale) -> str:
    if not encrypted or not all(query.get(k) for k in ("msg_signature", "timestamp", "nonce")):
        raise Refused(400, "missing msg_signature, timestamp, nonce or ciphertext")
    try:
        crypto.verify(query["msg_signature"], query["timestamp"], query["nonce"], encrypted)
    except SignatureMismatch as error:
        raise Refused(403, str(error)) from error
    reason = stale(signed_at(query["timestamp"]))
    if reason:  # signed, but outside the time in which a replay is still recognised by its key
        raise Refused(403, reason)
    try:
        return crypto.decrypt(encrypted)
    except WrongReceiver as error:
        raise Refused(403, str(error)) from error
    except BadCiphertext as error:
        raise Refused(400, str(error)) from error


def signed_at(timestamp: str) -> datetime:
    """The signed ``timestamp`` (Unix seconds) as a time."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 11:
        raise Refused(400, "timestamp is not Unix seconds")
    return datetime.fromtimestamp(int(timestamp), UTC)


def parse_xml(data: bytes) -> ET.Element:
    if len(data) > MAX_BODY:
        raise Refused(413, "body too large")
    try:  # strictly UTF-8, as WeCom sends: another encoding could hide a DOCTYPE from the check below
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused(400, "not UTF-8") from error
    if "\x00" in text or _UNSAFE_XML.search(text):
        raise Refused(400, "DOCTYPE and entities are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise Refused(400, f"malformed XML: {error}") from error
    if root.tag != "xml":
        raise Refused(400, "not a WeCom callback")
    return root


def parse_event(root: ET.Element) -> Event:
    def get(tag: str) -> str:
        return (root.findtext(tag) or "").strip()

    user, msg_type = get("FromUserName"), get("MsgType")
    if not user or not msg_type:
        raise Refused(400, "no FromUserName or MsgType")
    if msg_type == "text":
        content = get("Content")
        msg_id = get("MsgId") or f"{user}:{get('CreateTime')}"
        text = content if content.startswith("/") else "/" + content
        return Event("text", user, _bounded(f"msg:{msg_id}"), text=text)
    if msg_type == "event" and get("Event") == "template_card_event":
        task, key = get("TaskId"), get("EventKey")
        return Event(
            "tap",
            user,
            _bounded(f"tap:{task}:{user}:{key}"),
            action=key,
            task_id=task,
            response_code=get("ResponseCode"),
        )
    return Event("other", user, _bounded(f"evt:{user}:{get('CreateTime')}:{get('Event')}"))


def _bounded(event_id: str) -> str:
    """De-duplication keys are stored up to 200 characters; longer ones are hashed, not cut."""
    if len(event_id) <= 200:
        return event_id
    return event_id.split(":", 1)[0] + ":sha1:" + hashlib.sha1(event_id.encode()).hexdigest()
