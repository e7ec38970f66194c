"""A project contract as people read it: its figures, milestones and logged costs (``/order``, ``/projects``)."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, Translator
from bot.labels import money

MILESTONE_STATUS = {
    "pending": N_("not accepted yet"),
    "in_review": N_("accepted, invoice awaiting approval"),
    "invoiced": N_("invoiced"),
    "paid": N_("paid"),
    "cancelled": N_("dropped: the contract was cancelled"),
}


def figures_line(_: Translator, c: dict[str, Any]) -> str:
    if "cost" not in c:  # a customer's own contract: what they were invoiced and paid
        return _(
            "Value {value} · invoiced {invoiced} · received {received}",
            value=money(c["value"]),
            invoiced=money(c["invoiced"]),
            received=money(c["received"]),
        )
    return _(
        "Value {value} · invoiced {invoiced} · received {received} · cost {cost} · margin {margin} ({percent}%)",
        value=money(c["value"]),
        invoiced=money(c["invoiced"]),
        received=money(c["received"]),
        cost=money(c["cost"]),
        margin=money(c["margin"]),
        percent=c["margin_percent"],
    )


def contract_lines(_: Translator, c: dict[str, Any], order_no: str) -> list[str]:
    out = [_("Project: {project}", project=c["project"]), figures_line(_, c)]
    if "cost" in c:
        labour, material = money(c["labour_cost"]), money(c["material_cost"])
        out.append(_("Cost: labour {labour} · material {material}", labour=labour, material=material))
    if not c["milestones"]:
        out.append(_("No milestones yet: /milestone {order_no} add NAME 30% YYYY-MM-DD", order_no=order_no))
    for m in c["milestones"]:
        share = f"{m['percent']}% = " if m["percent"] is not None else ""
        state = _(MILESTONE_STATUS[m["status"]])
        if m["invoice_no"]:
            state += f" ({m['invoice_no']})"
        out.append(
            _(
                "{seq}. {name}: {share}{amount}, due {due_on} · {state}",
                seq=m["seq"],
                name=m["name"],
                share=share,
                amount=money(m["amount"]),
                due_on=m["due_on"],
                state=state,
            )
        )
    return out
