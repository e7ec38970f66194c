"""Kuaidi100 (快递100) subscription pushes.

``POST`` form-encoded, fields ``param`` (a JSON string) and ``sign`` = ``UPPER(MD5(param + salt))``
with the salt given at subscription (``OMS_KUAIDI100_SALT``). ``param.lastResult`` carries the
carrier (``com``, or ``comNew`` when ``autoCheck=1``), the number (``nu``), the parcel's current
``state`` and its whole history in ``data[]`` (newest first), re-sent on every push: each entry is
keyed by its time and text, so a re-push merges instead of repeating. The answer Kuaidi100 waits
for is exactly ``ACK``; anything else is retried 3 times, 35 minutes apart.

Statuses: the push's ``state`` is the newest entry's; an older entry takes its own ``status``
label when the push has them (``resultv2``), otherwise it is in transit, except the oldest, which
is the pickup (the carrier's first scan). ``status=abort`` (Kuaidi100 gave up) is a stalled parcel.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

from core.orders.status import ShipmentStatus as S
from core.shipping import carriers
from core.shipping.tracking import Push, Scan
from integrations.carriers.wire import Forged, Malformed, load, local_time, scan_key

ACK = '{"result":true,"returnCode":"200","message":"成功"}'.encode()
EXCEPTION = S.EXCEPTION
# lastResult.state → (status, exception reason)
STATES: dict[str, tuple[S, str | None]] = {
    "0": (S.IN_TRANSIT, None),  # 在途
    "1": (S.PICKED_UP, None),  # 揽收
    "2": (EXCEPTION, "problem"),  # 疑难
    "3": (S.DELIVERED, None),  # 签收
    "4": (EXCEPTION, "returned"),  # 退签: returned to the sender
    "5": (S.OUT_FOR_DELIVERY, None),  # 派件
    "6": (EXCEPTION, "returned"),  # 退回: on its way back
    "7": (S.IN_TRANSIT, None),  # 转投
    "8": (S.IN_TRANSIT, None),  # 清关
    "10": (S.IN_TRANSIT, None),  # 待清关
    "11": (S.IN_TRANSIT, None),  # 清关中
    "12": (S.IN_TRANSIT, None),  # 已清关
    "13": (EXCEPTION, "customs"),  # 清关异常
    "14": (EXCEPTION, "refused"),  # 拒签
}
# data[].status (with resultv2): the same states by their Chinese labels.
LABELS: dict[str, tuple[S, str | None]] = {
    "在途": STATES["0"],
    "揽收": STATES["1"],
    "疑难": STATES["2"],
    "签收": STATES["3"],
    "退签": STATES["4"],
    "派件": STATES["5"],
    "退回": STATES["6"],
    "转投": STATES["7"],
    "清关": STATES["8"],
    "待清关": STATES["10"],
    "清关中": STATES["11"],
    "已清关": STATES["12"],
    "清关异常": STATES["13"],
    "拒签": STATES["14"],
}


def sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest().upper()


def verify(body: bytes, salt: str | None) -> Push:
    """Check the form's ``sign`` over ``param``; raise ``Forged`` or ``Malformed``."""
    try:
        form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as error:
        raise Forged("not a form") from error
    param, given = (form.get("param") or [""])[0], (form.get("sign") or [""])[0]
    if not param or not given or salt is None:
        raise Forged("missing param or sign (or no salt configured)")
    if not hmac.compare_digest(sign(param, salt), given.strip().upper()):
        raise Forged("sign does not match")
    return push_from(param)


def push_from(param: str) -> Push:
    data = load(param)
    if not isinstance(data, dict) or not isinstance(data.get("lastResult"), dict):
        raise Malformed("param has no lastResult")
    last: dict[str, Any] = data["lastResult"]
    corrected = str(data.get("autoCheck")) == "1" and data.get("comNew")  # Kuaidi100 fixed the carrier code
    com = str((data["comNew"] if corrected else last.get("com")) or "")
    number = str(last.get("nu") or "").strip()
    if not com or not number:
        raise Malformed("lastResult names no com or nu")
    carrier = carriers.BY_KUAIDI100.get(com.lower())
    entries = [e for e in last.get("data") or [] if isinstance(e, dict)]
    state = STATES.get(str(last.get("state")), (S.IN_TRANSIT, None))
    if str(last.get("ischeck")) == "1" and state[0] != EXCEPTION:
        state = (S.DELIVERED, None)
    scans = []
    for i, entry in enumerate(entries):  # newest first
        label = LABELS.get(str(entry.get("status") or "").strip())
        if i == 0:
            status, reason = state
        elif label:
            status, reason = label
        elif i == len(entries) - 1:
            status, reason = S.PICKED_UP, None
        else:
            status, reason = S.IN_TRANSIT, None
        when = entry.get("ftime") or entry.get("time")
        context = str(entry.get("context") or "")
        scans.append(
            Scan(
                occurred_at=local_time(when),
                status=status,
                reason=reason,
                description=context,
                location=str(entry.get("areaName") or entry.get("location") or ""),
                key=scan_key(when, context),
            )
        )
    if data.get("status") == "abort" and scans:  # Kuaidi100 gave up: no news for days
        newest = scans[0]
        why = str(data.get("message") or "abort")
        scans.insert(0, Scan(newest.occurred_at, EXCEPTION, why, "", "stalled", scan_key("abort", newest.key, why)))
    return Push(
        provider="kuaidi100",
        key="sha256:" + hashlib.sha256(param.encode()).hexdigest(),
        carrier=carrier.code if carrier else com.upper(),
        tracking_no=number,
        scans=tuple(reversed(scans)),
        body=param.encode(),
    )
