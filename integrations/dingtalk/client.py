"""Sends to DingTalk: robot messages for text, interactive cards for cards, and card updates.

A thin aiohttp client for the few OpenAPI endpoints the outbox needs, instead of the generated
``alibabacloud-dingtalk`` SDK. The access token is shared by all calls, fetched once however many
sends wait for it, and refreshed a few minutes before it expires (or at once after a 401).

With ``agent_id`` set, texts to one person go as work notifications (see worknotice.py).
Recipients: a staffId for a 1:1 chat with the robot, or a group's openConversationId (``cid…``).
A card's message id is its ``outTrackId``; a card sent as markdown (no template configured) gets
``md:<processQueryKey>`` and its edits go out as a new message, since robot messages cannot be
changed.

Images and files: the bytes go up first (``POST {oapi}/media/upload?access_token=…&type=image|file``,
multipart field ``media``; the app's access token serves the old ``oapi`` host too), then the
caption as a robot text and the media as a robot message, ``sampleImageMsg`` (``photoURL`` = the
media id) or ``sampleFile`` (``mediaId``, ``fileName``, ``fileType``), to the person or the group
like any robot message (never as a work notification). DingTalk takes media up to 20 MB; a media
id is valid three days, so a retry of the same send reuses it, and a caption already said is not
said again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import ClientError, ClientResponse, ClientSession, ClientTimeout, FormData

from bot.outbox.clients import Attachment, DeliveryError, Rejected, Throttled
from integrations.dingtalk import worknotice
from integrations.dingtalk.render import card_params, media_message, robot_message
from integrations.dingtalk.worknotice import WorkNotifier

log = logging.getLogger(__name__)
TOKEN_MARGIN_SECONDS = 300
THROTTLE_SECONDS = 60.0  # DingTalk gives no retry-after; a robot over its quota is held ~10 min
_THROTTLE_CODES = ("qpslimit", "throttl", "90018", "90030", "flowcontrol")
MEDIA_MAX = 20 * 1024 * 1024  # media/upload: images and files up to 20 MB
REMEMBERED = 1000  # sends whose upload or caption is remembered for their retry
UPLOAD_TIMEOUT = ClientTimeout(total=120)  # 20 MB over a slow uplink


def is_group(recipient: str) -> bool:
    return recipient.startswith("cid")


def _throttling(status: int, body: dict[str, Any]) -> bool:
    code = f"{body.get('code', '')} {body.get('errcode', '')} {body.get('message', '')}".lower()
    return status == 429 or any(c in code for c in _THROTTLE_CODES)


class DingTalkClient:
    """The DingTalk ``PlatformClient`` (see bot/outbox/clients.py)."""

    platform = "dingtalk"
    per_second = 20.0  # OpenAPI: ~20 QPS per app on the standard edition
    per_chat_per_minute = 20.0  # a robot may post 20 messages a minute into one chat

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        robot_code: str | None = None,
        card_template_id: str | None = None,
        api_url: str = "https://api.dingtalk.com",
        oapi_url: str = "https://oapi.dingtalk.com",
        agent_id: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.robot_code = robot_code or client_id
        self.card_template_id = card_template_id
        self.api_url = api_url.rstrip("/")
        self.oapi_url = oapi_url.rstrip("/")
        self._media: dict[str, str] = {}  # dedupe key -> media id uploaded for it
        self._captions_sent: dict[str, None] = {}  # dedupe keys whose caption went already
        self._timeout = ClientTimeout(total=timeout)
        self._session: ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.notifier = (
            WorkNotifier(app_key=client_id, app_secret=client_secret, agent_id=agent_id, oapi_url=oapi_url)
            if agent_id
            else None
        )

    # -- PlatformClient -------------------------------------------------------------------------

    async def send(self, recipient: str, payload: dict[str, Any], dedupe_key: str) -> str:
        card = payload.get("card")
        if card is not None and self.card_template_id:
            return await self._deliver_card(recipient, card, dedupe_key)
        key = await self._robot_send(recipient, payload)
        return f"md:{key}" if card is not None else key

    async def send_attachment(
        self, recipient: str, attachment: Attachment, payload: dict[str, Any], dedupe_key: str
    ) -> str:
        if len(attachment.data) > MEDIA_MAX:
            raise Rejected(f"{attachment.filename} is larger than the 20 MB DingTalk takes")
        media_id = self._media.get(dedupe_key) or await self._upload(attachment)
        _remember(self._media, dedupe_key, media_id)
        if payload.get("text") and dedupe_key not in self._captions_sent:
            msg_key, msg_param = robot_message({"text": payload["text"]})
            await self._robot_post(recipient, msg_key, msg_param)
            _remember(self._captions_sent, dedupe_key, None)
        msg_key, msg_param = media_message(attachment, media_id)
        return await self._robot_post(recipient, msg_key, msg_param)

    async def _upload(self, attachment: Attachment) -> str:
        form = FormData(quote_fields=False)  # the name as UTF-8, as browsers send it: shown as the file name
        form.add_field("media", attachment.data, filename=attachment.filename, content_type=attachment.media_type)
        kind = "image" if attachment.kind == "image" else "file"
        params = {"access_token": await self.access_token(), "type": kind}
        try:
            upload = self._http().post(
                f"{self.oapi_url}/media/upload", params=params, data=form, timeout=UPLOAD_TIMEOUT
            )
            async with upload as response:
                if response.status >= 500:
                    raise DeliveryError(f"media/upload: HTTP {response.status}")
                answer = await _json(response)
        except (ClientError, TimeoutError) as error:
            raise DeliveryError(f"media/upload: {error!r}") from error
        if answer.get("errcode") in (40014, 42001):  # the token went stale: a new one on the retry
            self._token = None
            raise DeliveryError(f"media/upload: errcode {answer['errcode']}")
        worknotice.check(answer)  # throttled, transient or refused (too large, a type it will not take)
        if not answer.get("media_id"):
            raise DeliveryError("media/upload: no media_id in the answer")
        return str(answer["media_id"])

    async def edit(self, recipient: str, message_id: str, payload: dict[str, Any], dedupe_key: str) -> None:
        card = payload.get("card")
        if card is None:
            raise Rejected("only cards are edited")
        if message_id.startswith("md:") or not self.card_template_id:
            await self._robot_send(recipient, payload)  # a markdown card cannot change: say it again
            return
        body = {
            "outTrackId": message_id,
            "cardData": {"cardParamMap": card_params(card)},
            "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        }
        await self._call("PUT", "/v1.0/card/instances", body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- sends ----------------------------------------------------------------------------------

    async def _deliver_card(self, recipient: str, card: dict[str, Any], dedupe_key: str) -> str:
        out_track_id = f"oms-{card.get('card_id')}-{dedupe_key[:16]}"
        body: dict[str, Any] = {
            "cardTemplateId": self.card_template_id,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": card_params(card)},
            "callbackType": "STREAM",  # taps come over the Stream connection, in HTTP mode too
            "userIdType": 1,  # userId = staffId
        }
        if is_group(recipient):
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{recipient}"
            body["imGroupOpenSpaceModel"] = {"supportForward": False}
            body["imGroupOpenDeliverModel"] = {"robotCode": self.robot_code}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{recipient}"
            body["imRobotOpenSpaceModel"] = {"supportForward": False}
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": self.robot_code}
        answer = await self._call("POST", "/v1.0/card/instances/createAndDeliver", body)
        failed = [r for r in (answer.get("result") or {}).get("deliverResults", []) if not r.get("success", True)]
        if failed:
            raise DeliveryError(f"card not delivered to {recipient}: {failed[0].get('errorMsg')}")
        return out_track_id

    async def _robot_send(self, recipient: str, payload: dict[str, Any]) -> str:
        msg_key, msg_param = robot_message(payload)
        # Work notifications only for what we start; a reply to a command goes back as the robot
        # (DingTalk drops a work notification repeating the same text to a person the same day).
        if self.notifier is not None and not is_group(recipient) and not payload.get("reply"):
            return await self.notifier.send(self._http(), recipient, msg_key, msg_param)
        return await self._robot_post(recipient, msg_key, msg_param)

    async def _robot_post(self, recipient: str, msg_key: str, msg_param: dict[str, str]) -> str:
        """One robot message to a person (oToMessages/batchSend) or a group (groupMessages/send)."""
        common = {
            "robotCode": self.robot_code,
            "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False),
        }
        if is_group(recipient):
            answer = await self._call(
                "POST", "/v1.0/robot/groupMessages/send", {**common, "openConversationId": recipient}
            )
        else:
            answer = await self._call("POST", "/v1.0/robot/oToMessages/batchSend", {**common, "userIds": [recipient]})
            if recipient in (answer.get("flowControlledStaffIdList") or []):
                raise Throttled(THROTTLE_SECONDS, chat_only=True)
            if recipient in (answer.get("invalidStaffIdList") or []):
                raise Rejected(f"{recipient} is not a staff member the robot can reach")
        return str(answer.get("processQueryKey", ""))

    # -- transport ------------------------------------------------------------------------------

    def _http(self) -> ClientSession:
        if self._session is None:
            self._session = ClientSession(timeout=self._timeout)
        return self._session

    async def access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:  # single flight: the first waiter fetches, the rest reuse it
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            body = {"appKey": self.client_id, "appSecret": self.client_secret}
            try:
                async with self._http().post(f"{self.api_url}/v1.0/oauth2/accessToken", json=body) as response:
                    answer = await _json(response)
                    if response.status != 200 or "accessToken" not in answer:
                        self._raise(response.status, answer, response)
            except Rejected as refused:  # wrong id/secret: retried with backoff, so fixing the settings is enough
                log.error("dingtalk refused the app credentials: %s", refused)
                raise DeliveryError(f"access token: {refused}") from refused
            except (ClientError, TimeoutError) as error:
                raise DeliveryError(f"access token: {error!r}") from error
            expire_in = float(answer.get("expireIn", 7200))
            self._token = str(answer["accessToken"])
            self._token_expires = time.monotonic() + max(expire_in - TOKEN_MARGIN_SECONDS, expire_in / 2)
            return self._token

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"x-acs-dingtalk-access-token": await self.access_token()}
        try:
            async with self._http().request(method, self.api_url + path, json=body, headers=headers) as response:
                answer = await _json(response)
                if response.status == 401:
                    self._token = None  # revoked or expired early: fetch a new one on the retry
                if response.status != 200 or _throttling(200, answer):
                    self._raise(response.status, answer, response)
                return answer
        except (ClientError, TimeoutError) as error:
            raise DeliveryError(f"{method} {path}: {error!r}") from error

    @staticmethod
    def _raise(status: int, answer: dict[str, Any], response: ClientResponse) -> None:
        reason = f"HTTP {status} {answer.get('code') or answer.get('errcode') or ''} {answer.get('message', '')}"
        if _throttling(status, answer):
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                raise Throttled(float(retry_after))
            per_second = "qps" in reason.lower() or status == 429  # an API QPS cap clears within a second
            raise Throttled(1.0 if per_second else THROTTLE_SECONDS)
        if status >= 500 or status in (401, 408):
            raise DeliveryError(reason)
        log.warning("dingtalk refused a request: %s", reason)
        raise Rejected(reason)


def _remember(memo: dict[str, Any], key: str, value: Any) -> None:
    memo[key] = value
    while len(memo) > REMEMBERED:
        memo.pop(next(iter(memo)))


async def _json(response: ClientResponse) -> dict[str, Any]:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, ClientError):
        return {}
    return answer if isinstance(answer, dict) else {}
