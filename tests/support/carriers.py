"""Carrier pushes as the providers send them, signed for real: Kuaidi100's form with its ``param``
JSON (Chinese text and all), AfterShip's webhook with its ``msg``, a Standard Webhooks scan."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from standardwebhooks.webhooks import Webhook

KUAIDI100_SALT = "k100-salt-测试"
AFTERSHIP_SECRET = "aftership-webhook-secret"
CARRIER_SECRET = "whsec_" + base64.b64encode(b"carrier-webhook-secret-24b").decode()
SETTINGS = {
    "kuaidi100_salt": KUAIDI100_SALT,
    "aftership_webhook_secret": AFTERSHIP_SECRET,
    "carrier_webhook_secret": CARRIER_SECRET,
}
Request = tuple[dict[str, str], bytes]

# A parcel's life as SF reports it through Kuaidi100: (ftime, context, areaName, data[].status)
SF_LIFE = [
    ("2026-12-01 09:12:00", "【杭州市】顺丰速运 已收取快件", "浙江省杭州市", "揽收"),
    ("2026-12-01 21:40:00", "【杭州市】快件已发车，下一站【上海转运中心】", "浙江省杭州市", "在途"),
    ("2026-12-02 03:05:00", "【上海市】快件到达【上海转运中心】", "上海市", "在途"),
    ("2026-12-02 08:30:00", "【上海市】快件交给张师傅，正在派送途中（联系电话：13800000000）", "上海市", "派件"),
    ("2026-12-02 11:02:00", "【上海市】已签收，签收人：本人，感谢使用顺丰", "上海市", "签收"),
]
STATE_OF = {"揽收": "1", "在途": "0", "派件": "5", "签收": "3", "疑难": "2", "拒签": "14"}


def kuaidi100_param(
    number: str, scans: list[tuple[str, str, str, str]], *, com: str = "shunfeng", labels: bool = True
) -> dict[str, Any]:
    """``param`` for a parcel that has seen ``scans`` (oldest first); ``data[]`` is newest first."""
    newest = scans[-1][3]
    data = [
        {"context": context, "time": ftime, "ftime": ftime, "areaName": area, **({"status": status} if labels else {})}
        for ftime, context, area, status in reversed(scans)
    ]
    delivered = newest == "签收"
    return {
        "status": "shutdown" if delivered else "polling",
        "billstatus": "got",
        "message": "",
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": {
            "message": "ok",
            "state": STATE_OF[newest],
            "status": "200",
            "condition": "F00",
            "ischeck": "1" if delivered else "0",
            "com": com,
            "nu": number,
            "data": data,
        },
    }


def kuaidi100_request(param: dict[str, Any], *, salt: str = KUAIDI100_SALT) -> Request:
    text = json.dumps(param, ensure_ascii=False)
    sign = hashlib.md5((text + salt).encode()).hexdigest().upper()
    body = urlencode({"param": text, "sign": sign}).encode()
    return {"Content-Type": "application/x-www-form-urlencoded"}, body


def aftership_body(
    number: str,
    tag: str,
    checkpoints: list[tuple[str, str, str, str]],
    *,
    slug: str = "yto",
    subtag: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An AfterShip ``tracking_update``; checkpoints are (checkpoint_time, message, city, tag)."""
    return {
        "event": "tracking_update",
        "event_id": event_id or str(uuid.uuid4()),
        "is_tracking_first_tag": True,
        "ts": int(datetime.now(UTC).timestamp()),
        "msg": {
            "id": "tracking-" + number,
            "tracking_number": number,
            "slug": slug,
            "tag": tag,
            "subtag": subtag or f"{tag}_001",
            "subtag_message": tag,
            "checkpoints": [
                {"checkpoint_time": when, "message": message, "city": city, "tag": t, "subtag": f"{t}_001"}
                for when, message, city, t in checkpoints
            ],
        },
    }


def aftership_request(body: dict[str, Any], *, secret: str = AFTERSHIP_SECRET) -> Request:
    raw = json.dumps(body, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "aftership-hmac-sha256": signature}, raw


def standard_request(
    body: dict[str, Any], *, secret: str = CARRIER_SECRET, msg_id: str | None = None, at: datetime | None = None
) -> Request:
    raw = json.dumps(body, ensure_ascii=False)
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    now = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, raw)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return headers, raw.encode()
