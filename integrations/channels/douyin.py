"""Douyin shop (抖店): the signed message push, and the order read back from the open API.

Secrets: ``OMS_CHANNEL_<CODE>_SECRET`` is the app's **app_secret**; ``OMS_CHANNEL_<CODE>_TOKEN``
is its **app_key** (a 19-digit number; the push names it in ``app-id``). A self-use app (自用型)
sets ``shop_domain`` to the Douyin **shop_id**, and the access token for the API is created from
it (``token.create``, see ``douyin_api``). A tool app (工具型) whose access token is obtained by
OAuth outside the OMS gives ``app_key:access_token`` as the token. ``api_url`` overrides the
gateway ``https://openapi-fxg.jinritemai.com`` (the sandbox, tests).

The push (``minibear2021/doudian`` ``callback``, ``819-hao/feilun``): header ``app-id`` must equal
the app_key and ``event-sign`` is lowercase hex ``MD5(app_key + raw body + app_secret)``. The body is
a JSON array of ``{tag, msg_id, data}`` where ``data`` is itself a JSON string. Tag 0 is the check
sent when the URL is configured: answered with success, nothing stored. Every other message is its
own delivery (key ``msg_id``, topic ``douyin:<tag>``, order key ``p_id``) whose stored body is that
message alone, re-serialised. The answer is ``{"code":0,"msg":"success"}``.

The push is thin, so ``orders`` reads ``order.orderDetail`` (``shop_order_id = p_id``). Amounts
are integer fen. ``order_status`` 4 is CANCELLED; ``pay_type`` 0 (货到付款) is COD; status 1
(待支付) PENDING; 105, 2, 101, 3 and 5 PAID. After-sale tags (200 and up) give no order. The
address is the masked copy (``mask_post_addr``, ``mask_post_receiver``, ``mask_post_tel``): the
clear one is encrypted (``post_addr``) and needs the permissioned decrypt API, which the OMS does
not call. A masked address still names province and city, and Douyin's own e-waybills ship from
the encrypted copy (kept in ``raw``); the masked phone is never used to match a customer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import ClientSession

from core.channels.normalised import (
    ChannelCustomer,
    ChannelKind,
    ChannelLine,
    ChannelOrder,
    ChannelPayment,
    UpstreamState,
)
from integrations.channels.base import Ack, ChannelConfig, Delivery, Forged, Malformed, Verified
from integrations.channels.douyin_api import GATEWAY, DouyinApi
from integrations.channels.wire import dump, fen, from_unix, joined, lowered, reading, same, ship_to, text

ACK = Ack(200, b'{"code":0,"msg":"success"}', "application/json")
PING_TAG = "0"
AFTER_SALE_FROM = 200
CANCELLED_STATUS = 4
UNPAID_STATUS = 1
COD_PAY_TYPE = 0
EVENT_TIMES = ("update_time", "cancel_time", "pay_time", "create_time")


def credentials(channel: ChannelConfig) -> tuple[str, str | None]:
    """(app_key, access_token or None) from the channel token ``app_key[:access_token]``."""
    app_key, _, access_token = (channel.token or "").partition(":")
    return app_key, access_token or None


def event_sign(app_key: str, body: bytes, app_secret: str) -> str:
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()


class Douyin:
    name = ChannelKind.DOUYIN.value

    def __init__(self) -> None:
        self._apis: dict[tuple[str, ...], DouyinApi] = {}  # per channel: keeps its created token

    def verify(self, channel: ChannelConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> Verified:
        h = lowered(headers)
        app_key, _ = credentials(channel)
        if not app_key or not channel.secret or not same(app_key, h.get("app-id")):
            raise Forged("app-id is not this channel's app key")
        if not same(event_sign(app_key, body, channel.secret), (h.get("event-sign") or "").lower()):
            raise Forged("Douyin event-sign does not match")
        try:
            messages = json.loads(body)
        except ValueError as error:
            raise Forged("a Douyin push is JSON") from error
        messages = [messages] if isinstance(messages, dict) else messages
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise Forged("a Douyin push is an array of messages")
        deliveries = tuple(_delivery(m) for m in messages if str(m.get("tag")) != PING_TAG)
        return Verified(deliveries=deliveries, ack=ACK)

    async def orders(self, channel: ChannelConfig, topic: str, body: bytes, api: ClientSession) -> list[ChannelOrder]:
        with reading(f"Douyin {topic}"):
            message = json.loads(body)
            if int(message["tag"]) >= AFTER_SALE_FROM:
                return []
            p_id = str(_data(message)["p_id"])
        detail = await self.api(channel).order_detail(api, p_id)
        with reading(f"Douyin order {p_id}"):
            return [order_from(detail)]

    async def changed_since(self, channel: ChannelConfig, since: datetime, api: ClientSession) -> list[ChannelOrder]:
        douyin = self.api(channel)
        found = []
        for order_id in await douyin.search_updated(api, since):
            detail = await douyin.order_detail(api, order_id)
            with reading(f"Douyin order {order_id}"):
                found.append(order_from(detail))
        return found

    def api(self, channel: ChannelConfig) -> DouyinApi:
        """The channel's API client, the same one (and token) for as long as its settings hold."""
        app_key, access_token = credentials(channel)
        gateway = channel.api_url or GATEWAY
        key = (channel.code, app_key, channel.secret or "", gateway, channel.shop_domain or "", access_token or "")
        if key not in self._apis:
            self._apis[key] = DouyinApi(app_key, channel.secret or "", gateway, channel.shop_domain, access_token)
        return self._apis[key]


def _data(message: dict[str, Any]) -> dict[str, Any]:
    data = message.get("data")
    return json.loads(data) if isinstance(data, str) else (data or {})


def _delivery(message: dict[str, Any]) -> Delivery:
    try:
        data = _data(message)
    except ValueError:
        data = {}
    moment = next((data[k] for k in EVENT_TIMES if data.get(k)), None)
    body = dump(message)
    return Delivery(
        key=text(message.get("msg_id")) or f"sha256:{hashlib.sha256(body).hexdigest()}",
        topic=f"douyin:{message.get('tag')}",
        order_key=text(data.get("p_id")),
        body=body,
        occurred_at=from_unix(moment) if isinstance(moment, int) else None,
    )


def order_from(detail: dict[str, Any]) -> ChannelOrder:
    """An ``order.orderDetail`` ``shop_order_detail`` as a ``ChannelOrder`` (fen → yuan)."""
    if "order_id" not in detail:
        raise Malformed("a Douyin order detail without order_id")
    status = int(detail.get("order_status") or 0)
    address = detail.get("mask_post_addr") or {}
    return ChannelOrder(
        order_id=str(detail["order_id"]),
        display_no=str(detail["order_id"]),
        updated_at=from_unix(detail.get("update_time") or detail["create_time"]),
        state=UpstreamState.CANCELLED if status == CANCELLED_STATUS else UpstreamState.OPEN,
        payment=_payment(status, detail.get("pay_type")),
        currency="CNY",
        lines=tuple(_line(sku) for sku in detail.get("sku_order_list") or ()),
        customer=_customer(detail),
        ship_to=ship_to(
            contact=detail.get("mask_post_receiver"),
            phone=detail.get("mask_post_tel"),
            province=_name(address, "province"),
            city=_name(address, "city"),
            line=joined(_name(address, "town"), _name(address, "street"), address.get("detail")),
            postcode=None,
        ),
        shipping=fen(detail.get("post_amount")),
        discount=fen(detail.get("promotion_amount")),
        total=fen(detail.get("pay_amount")),
        note=text(detail.get("buyer_words")),
        cancel_reason=text(detail.get("cancel_reason")) if status == CANCELLED_STATUS else None,
        raw=detail,
    )


def _name(address: dict[str, Any], part: str) -> str | None:
    return text((address.get(part) or {}).get("name"))


def _payment(status: int, pay_type: Any) -> ChannelPayment:
    if pay_type is not None and int(pay_type) == COD_PAY_TYPE:
        return ChannelPayment.COD
    return ChannelPayment.PENDING if status == UNPAID_STATUS else ChannelPayment.PAID


def _line(sku: dict[str, Any]) -> ChannelLine:
    return ChannelLine(
        channel_sku=text(sku.get("code")) or text(sku.get("out_sku_id")),
        title=sku.get("product_name") or "",
        qty=int(sku["item_num"]),
        unit_price=fen(sku.get("origin_amount")),
        variant_id=text(sku.get("sku_id")),
    )


def _customer(detail: dict[str, Any]) -> ChannelCustomer | None:
    buyer = text(detail.get("doudian_open_id"))
    name = text(detail.get("mask_post_receiver"))
    if not (buyer or name):
        return None
    return ChannelCustomer(channel_customer_id=buyer, name=name)


KIND = Douyin()
