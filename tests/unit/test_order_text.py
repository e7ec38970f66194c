"""``oms order show`` in text: what its help promises, times in the business's zone."""

from __future__ import annotations

from integrations.cli.order_text import order_text

DETAIL = {
    "order_no": "SO-100001",
    "status": "shipped",
    "payment_status": "paid",
    "payment_terms": "prepaid",
    "customer": {"code": "C001", "name": "杭州茶社", "tier": "vip"},
    "total": "236.00",
    "currency": "CNY",
    "lines": [{"sku": "TEA-001", "qty": 2, "unit_price": "118.00", "allocations": [{"warehouse": "SH", "qty": 2}]}],
    "hold_reasons": [],
    "allocation": {},
    "shipments": [{"carrier": "SF", "tracking_no": "SF100200300", "status": "shipped", "lines": {"TEA-001": 2}}],
    "returns": [{"rma_no": "RMA-100001", "status": "requested", "reason": "leaking bag"}],
    "history": [
        {"at": "2025-03-01T06:30:00+00:00", "action": "create", "from": None, "to": "received",
         "actor": "李雷", "reason": None},
        {"at": "2025-03-01T16:05:00+00:00", "action": "reject", "from": "pending_approval", "to": "rejected",
         "actor": "王芳", "reason": "price too low"},
        {"at": "2025-03-02T01:00:00+00:00", "action": "note", "from": "shipped", "to": "shipped",
         "actor": "system", "reason": None},
    ],
}  # fmt: skip


def test_the_text_has_the_shipments_returns_and_history_its_help_promises():
    text = order_text(DETAIL, "Asia/Shanghai")

    assert text[text.index("shipments:") + 1] == "  SF SF100200300  shipped  TEA-001×2"
    assert text[text.index("returns:") + 1] == "  RMA-100001  requested  leaking bag"
    start = text.index("history (times in Asia/Shanghai):")
    assert text[start + 1 :] == [
        "  2025-03-01 14:30  create  — → received  by 李雷",
        "  2025-03-02 00:05  reject  pending_approval → rejected  by 王芳: price too low",  # the next day in Shanghai
        "  2025-03-02 09:00  note  by system",  # no move, no arrow
    ]


def test_an_order_with_nothing_shipped_or_returned_has_no_empty_sections():
    text = order_text({**DETAIL, "shipments": [], "returns": []}, "UTC")

    assert "shipments:" not in text and "returns:" not in text
    assert "history (times in UTC):" in text
