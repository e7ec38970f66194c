"""The carriers we know, under every name people and aggregators use for them.

One row per carrier: our code (what is stored on a shipment and typed in chat), Kuaidi100's
``com`` code, AfterShip's ``slug`` and the names in both languages. ``/ship`` accepts any of them
(``SF``, ``shunfeng``, ``sf-express``, ``顺丰``) and stores our code, so a push from either
aggregator finds the shipment whatever the warehouse typed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from core.errors import N_, InvalidInput


@dataclass(frozen=True)
class Carrier:
    code: str  # ours: stored on the shipment
    kuaidi100: str
    aftership: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()  # other names people type (顺丰速运, 中通快递, …)

    def name(self, language: str | None) -> str:
        return self.zh if (language or "").lower().startswith("zh") else self.en


CARRIERS: tuple[Carrier, ...] = (
    Carrier("SF", "shunfeng", "sf-express", "顺丰", "SF Express", ("顺丰速运", "顺丰快递")),
    Carrier("YTO", "yuantong", "yto", "圆通", "YTO Express", ("圆通速递", "圆通快递")),
    Carrier("ZTO", "zhongtong", "zto", "中通", "ZTO Express", ("中通快递",)),
    Carrier("STO", "shentong", "sto", "申通", "STO Express", ("申通快递",)),
    Carrier("YD", "yunda", "yunda", "韵达", "Yunda Express", ("韵达快递", "韵达速递")),
    Carrier("JD", "jd", "jd", "京东", "JD Logistics", ("京东物流", "京东快递")),
    Carrier("EMS", "ems", "china-ems", "EMS", "China EMS", ("邮政EMS", "中国邮政EMS")),
    Carrier("YZPY", "youzhengguonei", "china-post", "邮政", "China Post", ("中国邮政", "邮政快递包裹")),
    Carrier("JT", "jtexpress", "jtexpress-cn", "极兔", "J&T Express", ("极兔速递", "极兔快递")),
    Carrier("DBL", "debangwuliu", "dbl", "德邦", "Deppon", ("德邦物流", "德邦快递")),
    Carrier("DHL", "dhl", "dhl", "DHL", "DHL Express"),
    Carrier("UPS", "ups", "ups", "UPS", "UPS"),
    Carrier("FEDEX", "fedex", "fedex", "联邦快递", "FedEx", ("FEDEX",)),
)

BY_CODE = {c.code: c for c in CARRIERS}
BY_KUAIDI100 = {c.kuaidi100: c for c in CARRIERS}
BY_AFTERSHIP = {c.aftership: c for c in CARRIERS}
_ANY_NAME = {key.casefold(): c for c in CARRIERS for key in (c.code, c.kuaidi100, c.aftership, c.zh, c.en, *c.aliases)}


class UnknownCarrier(InvalidInput):
    code = "unknown_carrier"
    template = N_("No carrier is called {carrier}; did you mean {suggestions}?")
    carrier: str
    suggestions: str


def find(name: str) -> Carrier | None:
    """The carrier any of its names (ours, an aggregator's, Chinese or English) stands for."""
    return _ANY_NAME.get(name.strip().casefold())


def resolve(name: str) -> Carrier:
    """Like ``find``, but refuses an unknown name with the nearest known ones."""
    carrier = find(name)
    if carrier is None:
        raise UnknownCarrier(carrier=name.strip(), suggestions=", ".join(suggest(name)))
    return carrier


def suggest(name: str, limit: int = 3) -> list[str]:
    """Our codes of the carriers whose names look most like ``name`` (the common ones if none do)."""
    wanted = name.strip().casefold()
    close = difflib.get_close_matches(wanted, list(_ANY_NAME), n=limit * 3, cutoff=0.5)
    contains = [key for key in _ANY_NAME if wanted and (wanted in key or key in wanted)]
    codes = list(dict.fromkeys(_ANY_NAME[key].code for key in [*contains, *close]))
    return codes[:limit] or [c.code for c in CARRIERS[:limit]]
