"""A fake Slack: the Web API methods the adapter calls, Socket Mode, and signed inbound requests.

``FakeSlack`` answers ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``conversations.open``, ``apps.connections.open`` and the file upload (``files.getUploadURLExternal``,
the POST of the bytes to the URL it hands out, ``files.completeUploadExternal``, which shares the
file into a channel as a message with the ``initial_comment`` as its text; channel ids only, as
Slack checks) at ``/api/<method>`` the way Slack does (form or JSON bodies as
slack-sdk sends them, the token in ``Authorization``, ``{"ok": …}`` answers, 429 with
``Retry-After`` when scripted), keeps every channel's messages with updates applied by ts, and
serves the Socket Mode WebSocket (``hello``, envelopes, acks). The builders make the payloads
Slack posts to ``/slack/events``, signed with slack-sdk's own ``SignatureVerifier``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from tests.fakes.server import UPLOAD_MAX, serve_locally

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0OMS-3333-fakeapptoken"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM, BOT_USER, BOT_ID, APP_ID = "T0OMS", "U0BOT", "B0BOT", "A0OMS"


class FakeSlack:
    def __init__(self) -> None:
        self.channels: dict[str, list[dict[str, Any]]] = defaultdict(list)  # channel -> messages, updates applied
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (method, arguments), in order
        self.ephemeral: list[dict[str, Any]] = []
        self.script: dict[str, list[int]] = defaultdict(list)  # method -> statuses to answer first
        self.slow: dict[str, float] = {}  # method -> seconds to take answering (a slow Slack)
        self.missing: set[str] = set()  # channels that answer channel_not_found
        self.acks: list[dict[str, Any]] = []  # Socket Mode frames the app sent back
        self.sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.ts = itertools.count(100)
        self.app = web.Application(client_max_size=UPLOAD_MAX)
        self.app.router.add_post("/api/{method}", self.api)
        self.app.router.add_get("/link/", self.link)
        self.app.router.add_post("/upload/v1/{file_id}", self.upload)
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> {"filename", "length", "data", ...}
        self.file_ids = itertools.count(1)
        self.max_upload: int | None = None  # a workspace's file size restriction
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> FakeSlack:
        self.runner, url = await serve_locally(self.app)
        self.base_url = f"{url}/api/"
        self.ws_url = url.replace("http://", "ws://") + "/link/"
        return self

    async def stop(self) -> None:
        for socket in self.sockets:
            await socket.close()
        if self.runner:
            await self.runner.cleanup()

    # -- what tests read

    def dm(self, user: str) -> str:
        """The bot's direct chat with ``user``, as Slack names it when a message is posted to a user id."""
        return "D" + user.removeprefix("U").removeprefix("W")

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return list(self.channels.get(channel, []))

    def texts(self, channel: str) -> list[str]:
        return [m["text"] for m in self.messages(channel)]

    def methods(self, name: str) -> list[dict[str, Any]]:
        return [args for method, args in self.calls if method == name]

    # -- the Web API

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls.append((method, args))
        if method in self.slow:
            await asyncio.sleep(self.slow[method])
        if self.script[method]:
            status = self.script[method].pop(0)
            if status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            return web.Response(status=status, text="<html>upstream error</html>", content_type="text/html")
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://oms-test.slack.com/",
            "team": "OMS Test",
            "user": "oms",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel(self, name: str) -> str | None:
        if name in self.missing or not name:
            return None
        return self.dm(name) if name[0] in "UW" else name

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{int(time.time())}.{next(self.ts):06d}"
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM,
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": _blocks(args.get("blocks")),
        }
        self.channels[channel].append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        found = [m for m in self.channels.get(args.get("channel", ""), []) if m["ts"] == args.get("ts")]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        [message] = found
        message.update(text=args.get("text", ""), edited={"user": BOT_USER, "ts": f"{time.time():.6f}"})
        if "blocks" in args:
            message["blocks"] = _blocks(args["blocks"])
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": message["text"], "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._channel(args.get("channel", "")) is None:
            return {"ok": False, "error": "channel_not_found"}
        self.ephemeral.append(args)
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self.ts):06d}"}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users or "," in users or users[0] not in "UW":
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self.dm(users)}}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        length = int(args.get("length") or 0)
        if not args.get("filename") or length <= 0:
            return {"ok": False, "error": "missing_argument"}
        if self.max_upload is not None and length > self.max_upload:
            return {"ok": False, "error": "file_upload_size_restricted"}
        file_id = f"F0OMS{next(self.file_ids):06d}"
        self.uploads[file_id] = {"filename": args["filename"], "length": length, "data": None}
        base = self.base_url.removesuffix("/api/")
        return {"ok": True, "upload_url": f"{base}/upload/v1/{file_id}", "file_id": file_id}

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: the bytes raw, or as a multipart form's one file; 200 means received."""
        file = self.uploads.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="no such upload")
        if request.content_type.startswith("multipart/"):
            parts = [v for v in (await request.post()).values() if isinstance(v, web.FileField)]
            data = parts[0].file.read() if parts else b""
        else:
            data = await request.read()
        if len(data) != file["length"]:
            return web.Response(status=400, text="length mismatch")
        file["data"] = data
        return web.Response(status=200, text=f"OK - {len(data)}")

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        channel = str(args.get("channel_id") or "")
        if not files or not channel or channel[0] not in "CGDZ":  # user ids are not accepted here
            return {"ok": False, "error": "invalid_arguments"}
        if channel in self.missing:
            return {"ok": False, "error": "channel_not_found"}
        shared = []
        for entry in files:
            upload = self.uploads.get(entry.get("id", ""))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(title=entry.get("title") or upload["filename"], channel=channel)
            shared.append({"id": entry["id"], "name": upload["filename"], "title": upload["title"]})
        ts = f"{int(time.time())}.{next(self.ts):06d}"
        self.channels[channel].append(
            {
                "type": "message",
                "subtype": "file_share",
                "user": BOT_USER,
                "bot_id": BOT_ID,
                "ts": ts,
                "text": args.get("initial_comment") or "",
                "files": shared,
                "blocks": [],
            }
        )
        return {"ok": True, "files": shared}

    def file_data(self, file_id: str) -> bytes | None:
        return (self.uploads.get(file_id) or {}).get("data")

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"{self.ws_url}?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    # -- Socket Mode

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the SDK's pings itself (autoping)
        await socket.prepare(request)
        self.sockets.append(socket)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake"},
            "connection_info": {"app_id": APP_ID},
        }
        await socket.send_json(hello)
        self.connected.set()
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
        return socket

    async def push(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False) -> str:
        """Send one envelope to the connected app; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self.sockets[-1].send_json(envelope)
        return envelope_id


async def _arguments(request: web.Request) -> dict[str, Any]:
    """slack-sdk posts JSON for chat.* and a form, a query string or nothing for the rest; blocks in a
    form are JSON text."""
    if request.content_type == "application/json":
        return {**request.query, **(await request.json())}
    return {**request.query, **dict(await request.post())}


def _blocks(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        return json.loads(blocks)
    return list(blocks or [])


# -- what Slack posts to /slack/events


def signed(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers for ``body``, signed as Slack signs it (slack-sdk's own ``generate_signature``)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def slash_command(user: str, text: str, channel: str = "C0SALES", command: str = "/oms") -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "oms-test",
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else "sales",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{TEAM}/1/{uuid.uuid4().hex}",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{TEAM}.{uuid.uuid4().hex}",
    }


def form(fields: dict[str, str]) -> tuple[str, dict[str, str]]:
    return urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"}


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": {"event_ts": event.get("ts", f"{time.time():.6f}"), **event},
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def direct_message(user: str, text: str, channel: str | None = None) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return event_callback(
        {
            "type": "message",
            "channel": channel or "D" + user[1:],
            "user": user,
            "text": text,
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "team": TEAM,
            "channel_type": "im",
        }
    )


def app_mention(user: str, text: str, channel: str) -> dict[str, Any]:
    """``@oms <text>`` in a channel the app is in, as the Events API delivers it."""
    ts = f"{time.time():.6f}"
    return event_callback(
        {
            "type": "app_mention",
            "channel": channel,
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "ts": ts,
            "team": TEAM,
        }
    )


def block_actions(user: str, message: dict[str, Any], channel: str, action_id: str) -> dict[str, Any]:
    """A button tap on ``message`` (as the fake stored it) in ``channel``."""
    [block] = [b for b in message["blocks"] if b["type"] == "actions"]
    [button] = [e for e in block["elements"] if e["action_id"] == action_id]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{TEAM}.{uuid.uuid4().hex}",
        "team": {"id": TEAM, "domain": "oms-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM}/1/{uuid.uuid4().hex}",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": block["block_id"],
                "text": button["text"],
                "value": button["value"],
                **({"style": button["style"]} if "style" in button else {}),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
