"""``oms order show`` as text: the order, its lines, and what happened to it (history, shipments,
returns), with times in the business's time zone, named once where the history starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def order_text(detail: dict[str, Any], timezone: str) -> list[str]:
    customer = detail["customer"]
    out = [
        f"{detail['order_no']}  {detail['status']}  payment {detail['payment_status']} ({detail['payment_terms']})",
        f"customer {customer['code']} {customer['name']}  total {detail['total']} {detail['currency']}",
    ]
    for line in detail["lines"]:
        where = ", ".join(f"{a['warehouse']}×{a['qty']}" for a in line["allocations"]) or "not allocated"
        out.append(f"  {line['sku']:<12} ×{line['qty']:<4} @ {line['unit_price']:>10}  {where}")
    for reason in detail["hold_reasons"]:
        out.append(f"  on hold ({reason['code']}): {reason['message']}")
    if detail["allocation"].get("explanation"):
        out.append(f"  allocation: {detail['allocation']['explanation']}")
    if detail["shipments"]:
        out.append("shipments:")
        for shipment in detail["shipments"]:
            units = ", ".join(f"{sku}×{qty}" for sku, qty in shipment["lines"].items())
            out.append(f"  {shipment['carrier']} {shipment['tracking_no']}  {shipment['status']}  {units}".rstrip())
    if detail["returns"]:
        out.append("returns:")
        for rma in detail["returns"]:
            out.append(f"  {rma['rma_no']}  {rma['status']}  {rma['reason']}".rstrip())
    if detail["history"]:
        zone = ZoneInfo(timezone)
        out.append(f"history (times in {timezone}):")
        for row in detail["history"]:
            out.append("  " + _event(row, zone))
    return out


def _event(row: dict[str, Any], zone: ZoneInfo) -> str:
    """``2025-03-01 14:30  confirm  received → confirmed  by 王芳: auto-approved by rule …``"""
    at = datetime.fromisoformat(row["at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    moved = f"{row['from'] or '—'} → {row['to']}" if row["to"] and row["to"] != row["from"] else ""
    text = "  ".join(part for part in (at, row["action"], moved, f"by {row['actor']}") if part)
    return f"{text}: {row['reason']}" if row["reason"] else text
