"""A fake DingTalk on localhost: the Stream gateway (open → WebSocket with frames and ACKs) and
the OpenAPI the adapter calls (access token, interactive cards, robot messages).

The old ``oapi`` host's ``media/upload`` takes images and files (multipart field ``media``, either
access token) and hands out media ids, which robot ``sampleImageMsg`` / ``sampleFile`` messages
must name. It checks what the real one checks (app credentials, single-use tickets, the access-token header,
string-only card variables) and keeps what every recipient would see: each card instance's
current ``cardParamMap`` by ``outTrackId``, and the robot messages per recipient.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import UPLOAD_MAX, serve_locally

MEDIA_MAX = 20 * 1024 * 1024


class FakeDingTalk:
    def __init__(self, client_id: str = "dingappkey", client_secret: str = "app-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.url = ""
        self.opens: list[dict[str, Any]] = []  # bodies of connections/open calls
        self.open_times: list[float] = []  # when they came (monotonic), to see the backoff
        self.tickets: set[str] = set()  # issued and not yet used
        self.refused_tickets = 0
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []
        self._ack_seen = asyncio.Condition()
        self.tokens: set[str] = set()
        self.token_calls = 0
        self.cards: dict[str, dict[str, Any]] = {}  # outTrackId -> {"params", "space", "create", "updates"}
        self.robot: dict[str, list[dict[str, Any]]] = defaultdict(list)  # recipient -> msgParam (+msgKey)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []  # answers to give the next OpenAPI calls
        self._ids = itertools.count(1)
        self._connected = asyncio.Event()
        self.app = web.Application(client_max_size=UPLOAD_MAX)
        r = self.app.router
        r.add_post("/v1.0/gateway/connections/open", self.open)
        r.add_get("/connect", self.connect)
        r.add_post("/v1.0/oauth2/accessToken", self.access_token)
        r.add_post("/v1.0/card/instances/createAndDeliver", self.create_and_deliver)
        r.add_put("/v1.0/card/instances", self.update_card)
        r.add_post("/v1.0/robot/oToMessages/batchSend", self.batch_send)
        r.add_post("/v1.0/robot/groupMessages/send", self.group_send)
        r.add_get("/gettoken", self.old_token)
        r.add_post("/topapi/message/corpconversation/asyncsend_v2", self.work_notice)
        r.add_post("/media/upload", self.media_upload)
        self.media: dict[str, dict[str, Any]] = {}  # media id -> {"type", "filename", "content_type", "data"}
        self.media_script: list[dict[str, Any]] = []  # errcode answers to give media/upload first
        self.old_tokens: set[str] = set()
        self.notices: dict[str, list[dict[str, Any]]] = defaultdict(list)  # staffId -> work notification msg
        self.notice_script: list[dict[str, Any]] = []  # errcode answers to give first
        self.runner: web.AppRunner | None = None

    async def start(self) -> FakeDingTalk:
        self.runner, self.url = await serve_locally(self.app)
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self.runner:
            await self.runner.cleanup()

    # -- Stream gateway -------------------------------------------------------------------------

    async def open(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.opens.append(body)
        self.open_times.append(time.monotonic())
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "InvalidAuthentication", "message": "bad client"}, status=401)
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return web.json_response({"endpoint": self.url.replace("http", "ws", 1) + "/connect", "ticket": ticket})

    async def connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:  # unknown or used before: tickets are single-use
            self.refused_tickets += 1
            return web.json_response({"code": "InvalidTicket"}, status=401)
        self.tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self._connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                async with self._ack_seen:
                    self.acks.append(json.loads(message.data))
                    self._ack_seen.notify_all()
        return ws

    @property
    def socket(self) -> web.WebSocketResponse | None:
        live = [ws for ws in self.sockets if not ws.closed]
        return live[-1] if live else None

    async def connected(self, count: int = 1, timeout: float = 5.0) -> web.WebSocketResponse:
        """Wait until ``count`` sockets have been opened in all and one is live."""
        deadline = time.monotonic() + timeout
        while len(self.sockets) < count or self.socket is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.sockets)} connection(s), wanted {count}")
            await asyncio.sleep(0.01)
        return self.socket  # type: ignore[return-value]

    async def push(self, frame: dict[str, Any], *, wait_ack: bool = True, timeout: float = 5.0) -> dict | None:
        """Send a frame on the live socket; return its ACK (the newest one with its messageId)."""
        ws = await self.connected()
        message_id = frame["headers"]["messageId"]
        before = sum(1 for a in self.acks if a.get("headers", {}).get("messageId") == message_id)
        await ws.send_str(json.dumps(frame, ensure_ascii=False))
        if not wait_ack:
            return None
        async with self._ack_seen:
            await asyncio.wait_for(
                self._ack_seen.wait_for(
                    lambda: sum(1 for a in self.acks if a.get("headers", {}).get("messageId") == message_id) > before
                ),
                timeout,
            )
        return [a for a in self.acks if a["headers"]["messageId"] == message_id][-1]

    async def drop(self) -> None:
        """Lose the connection without a word (a network failure)."""
        ws = self.socket
        if ws is not None:
            await ws.close()

    # -- frames as DingTalk builds them ---------------------------------------------------------

    def _frame(self, kind: str, topic: str, data: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": "app-1",
                "connectionId": "conn-1",
                "contentType": "application/json",
                "messageId": message_id or f"msg-{uuid.uuid4().hex[:12]}",
                "time": str(int(time.time() * 1000)),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    def robot_frame(
        self, staff_id: str, text: str, *, group: str | None = None, msg_id: str | None = None, message_id=None
    ) -> dict[str, Any]:
        data = {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": msg_id or f"msg{uuid.uuid4().hex[:16]}",
            "createAt": int(time.time() * 1000),
            "conversationType": "2" if group else "1",
            "conversationId": group or f"cid-single-{staff_id}",
            "senderId": f"$:LWCP_v1:${staff_id}",
            "senderNick": staff_id,
            "senderStaffId": staff_id,
            "chatbotUserId": "$:LWCP_v1:$robot",
            "robotCode": self.client_id,
            "isInAtList": True,
            "sessionWebhook": f"{self.url}/robot/sendBySession?session=x",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 5_400_000,
        }
        return self._frame("CALLBACK", "/v1.0/im/bot/messages/get", data, message_id)

    def card_frame(self, out_track_id: str, staff_id: str, params: dict[str, str], *, message_id=None) -> dict:
        data = {
            "outTrackId": out_track_id,
            "userId": staff_id,
            "userIdType": 1,
            "corpId": "dingcorp",
            "type": "actionCallback",
            "spaceType": "IM_ROBOT",
            "spaceId": staff_id,
            "extension": "{}",
            "content": json.dumps({"cardPrivateData": {"actionIds": ["btn1"], "params": params}}),
        }
        return self._frame("CALLBACK", "/v1.0/card/instances/callback", data, message_id)

    def ping_frame(self, opaque: str = "opaque-1") -> dict[str, Any]:
        return self._frame("SYSTEM", "ping", {"opaque": opaque})

    def disconnect_frame(self) -> dict[str, Any]:
        return self._frame("SYSTEM", "disconnect", {"reason": "gateway is restarting"})

    # -- OpenAPI --------------------------------------------------------------------------------

    async def access_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.token_calls += 1
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "bad app"}, status=400)
        token = f"tok-{next(self._ids)}"
        self.tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _api(self, request: web.Request) -> tuple[web.Response | None, dict[str, Any]]:
        body = await request.json()
        self.calls.append((request.method, request.path, body))
        if request.headers.get("x-acs-dingtalk-access-token") not in self.tokens:
            return web.json_response({"code": "InvalidAuthentication", "message": "token"}, status=401), body
        if self.script:
            status, answer = self.script.pop(0)
            return web.json_response(answer, status=status), body
        return None, body

    @staticmethod
    def _strings(params: Any) -> bool:
        return isinstance(params, dict) and all(isinstance(v, str) for v in params.values())

    async def create_and_deliver(self, request: web.Request) -> web.Response:
        refusal, body = await self._api(request)
        if refusal is not None:
            return refusal
        params = (body.get("cardData") or {}).get("cardParamMap")
        track, space = body.get("outTrackId"), str(body.get("openSpaceId", ""))
        if not track or not body.get("cardTemplateId") or not self._strings(params) or "//" not in space:
            return web.json_response({"code": "InvalidParameter", "message": "bad card"}, status=400)
        model = "imGroupOpenDeliverModel" if "//IM_GROUP." in space else "imRobotOpenDeliverModel"
        if model not in body:
            return web.json_response({"code": "InvalidParameter", "message": f"{model} missing"}, status=400)
        if track not in self.cards:  # createAndDeliver with a known outTrackId does not create a second card
            self.cards[track] = {"params": dict(params), "space": space, "create": body, "updates": []}
        kind, space_id = space.split("//", 1)[1].split(".", 1)
        return web.json_response(
            {
                "success": True,
                "result": {
                    "outTrackId": track,
                    "deliverResults": [{"spaceType": kind, "spaceId": space_id, "success": True, "carrierId": track}],
                },
            }
        )

    async def update_card(self, request: web.Request) -> web.Response:
        refusal, body = await self._api(request)
        if refusal is not None:
            return refusal
        card = self.cards.get(body.get("outTrackId", ""))
        params = (body.get("cardData") or {}).get("cardParamMap")
        if card is None:
            return web.json_response({"code": "param.cardNotExist", "message": "no such card"}, status=400)
        if not self._strings(params):
            return web.json_response({"code": "InvalidParameter", "message": "bad params"}, status=400)
        by_key = (body.get("cardUpdateOptions") or {}).get("updateCardDataByKey")
        card["params"] = {**card["params"], **params} if by_key else dict(params)
        card["updates"].append(body)
        return web.json_response({"success": True, "result": True})

    async def batch_send(self, request: web.Request) -> web.Response:
        refusal, body = await self._api(request)
        if refusal is not None:
            return refusal
        if body.get("robotCode") != self.client_id or not isinstance(body.get("msgParam"), str):
            return web.json_response({"code": "InvalidParameter", "message": "robotCode/msgParam"}, status=400)
        if (refused := self._media_refused(body["msgKey"], body["msgParam"])) is not None:
            return refused
        for user in body.get("userIds", []):
            self.robot[user].append({"msgKey": body["msgKey"], **json.loads(body["msgParam"])})
        return web.json_response({"processQueryKey": f"pqk-{next(self._ids)}"})

    async def group_send(self, request: web.Request) -> web.Response:
        refusal, body = await self._api(request)
        if refusal is not None:
            return refusal
        if body.get("robotCode") != self.client_id or not body.get("openConversationId"):
            return web.json_response({"code": "InvalidParameter", "message": "robotCode/cid"}, status=400)
        if (refused := self._media_refused(body["msgKey"], body["msgParam"])) is not None:
            return refused
        self.robot[body["openConversationId"]].append({"msgKey": body["msgKey"], **json.loads(body["msgParam"])})
        return web.json_response({"processQueryKey": f"pqk-{next(self._ids)}"})

    # -- old-style oapi: work notifications ------------------------------------------------------

    async def old_token(self, request: web.Request) -> web.Response:
        if request.query.get("appkey") != self.client_id or request.query.get("appsecret") != self.client_secret:
            return web.json_response({"errcode": 40089, "errmsg": "invalid appkey or appsecret"})
        token = f"old-{next(self._ids)}"
        self.old_tokens.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def work_notice(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.old_tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        body = json.loads(await request.read())
        self.calls.append((request.method, request.path, body))
        if self.notice_script:
            return web.json_response(self.notice_script.pop(0))
        if not isinstance(body.get("agent_id"), int) or not body.get("userid_list") or "msgtype" not in body["msg"]:
            return web.json_response({"errcode": 400002, "errmsg": "invalid parameter"})
        for user in str(body["userid_list"]).split(","):
            self.notices[user].append(body["msg"])
        return web.json_response({"errcode": 0, "errmsg": "ok", "task_id": next(self._ids), "request_id": "r"})

    # -- old-style oapi: media ------------------------------------------------------------------

    async def media_upload(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token")
        if token not in self.tokens and token not in self.old_tokens:
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        kind = request.query.get("type")
        form = await request.post()
        media = form.get("media")
        self.calls.append((request.method, request.path, {"type": kind, "fields": list(form)}))
        if self.media_script:
            return web.json_response(self.media_script.pop(0))
        if kind not in ("image", "voice", "video", "file") or not isinstance(media, web.FileField):
            return web.json_response({"errcode": 40035, "errmsg": "不合法的参数"})
        data = media.file.read()
        if len(data) > MEDIA_MAX:  # the errcode is the fake's choice; the 20 MB cap is DingTalk's
            return web.json_response({"errcode": 40006, "errmsg": "不合法的文件长度"})
        if kind == "image" and not data.startswith((b"\x89PNG", b"\xff\xd8", b"GIF8", b"BM")):
            return web.json_response({"errcode": 40005, "errmsg": "不合法的文件类型"})
        media_id = f"@lA{next(self._ids):04d}{uuid.uuid4().hex[:12]}"
        self.media[media_id] = {
            "type": kind,
            "filename": media.filename,
            "content_type": media.content_type,
            "data": data,
        }
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": int(time.time() * 1000)}
        )

    def _media_refused(self, msg_key: str, msg_param: str) -> web.Response | None:
        """A robot image or file message must name media uploaded here (or an https picture)."""
        param = json.loads(msg_param)
        if msg_key == "sampleImageMsg":
            url = str(param.get("photoURL", ""))
            if url.startswith("https://") or self.media.get(url, {}).get("type") == "image":
                return None
            return web.json_response({"code": "InvalidParameter", "message": "photoURL"}, status=400)
        if msg_key == "sampleFile":
            known = self.media.get(str(param.get("mediaId", "")))
            if known and param.get("fileName") and param.get("fileType"):
                return None
            return web.json_response({"code": "InvalidParameter", "message": "mediaId/fileName/fileType"}, status=400)
        return None

    def attachments(self, recipient: str) -> list[dict[str, Any]]:
        """The images and files ``recipient`` was sent: the robot message with the uploaded media."""
        out = []
        for message in self.robot.get(recipient, []):
            media_id = message.get("photoURL") or message.get("mediaId")
            if message["msgKey"] in ("sampleImageMsg", "sampleFile") and media_id in self.media:
                out.append({**message, "media": self.media[media_id]})
        return out

    # -- what people see ------------------------------------------------------------------------

    def texts(self, recipient: str) -> list[str]:
        return [m.get("content") or m.get("text", "") for m in self.robot.get(recipient, [])]

    def cards_for(self, staff_id: str) -> dict[str, dict[str, str]]:
        """outTrackId -> the card variables ``staff_id`` sees now (1:1 cards)."""
        return {t: c["params"] for t, c in self.cards.items() if c["space"] == f"dtv1.card//IM_ROBOT.{staff_id}"}
