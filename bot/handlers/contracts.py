"""Project contract commands: enter a contract, add and accept its milestones, log its costs, and
the projects report."""

from __future__ import annotations

import shlex

from bot.handlers.orders import order_no_arg, show
from bot.i18n import N_
from bot.items import counted_item, parse_line_items
from bot.labels import money
from bot.projects import figures_line
from bot.router import Chat, command
from bot.views import Reply
from core.auth import Permission
from core.contracts import costs, service
from core.contracts.errors import ContractValueNotPositive
from core.contracts.terms import MilestoneTerms, parse_due, parse_hours, parse_share, parse_value
from core.contracts.views import projects_report

LABOUR = ("工时", "labour", "labor", "hours")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def words(chat: Chat, args: list[str]) -> list[str]:
    """The arguments again, with quoted names kept whole (``"Site survey"``, “机房改造”)."""
    try:
        return shlex.split(" ".join(args).translate(_QUOTES))
    except ValueError:  # a quote left open
        raise chat.usage() from None


def inline_milestone(chat: Chat, text: str) -> MilestoneTerms:
    """``设计:30%:2026-12-20`` as given in ``/contract``."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[0].strip():
        raise chat.usage()
    return MilestoneTerms(parts[0].strip(), parse_share(parts[1]), parse_due(parts[2]))


@command(
    "contract",
    "合同",
    usage=N_('/contract C001 "机房改造" 280000 [设计:30%:2026-12-20 施工:50%:2027-01-31 …]'),
    summary=N_("Enter a project contract with its milestones"),
    permission=Permission.ORDER_CREATE,
)
async def contract(chat: Chat, args: list[str]) -> list[Reply]:
    given = words(chat, args)
    if len(given) < 3:
        raise chat.usage()
    customer, project, value_text, *rest = given
    value = parse_value(value_text)
    if value is None:
        raise ContractValueNotPositive(value=value_text)
    draft = service.ContractDraft(
        customer=customer, project=project, value=value, milestones=tuple(inline_milestone(chat, m) for m in rest)
    )
    order = await chat.services.run(chat.actor, lambda ctx: service.create_contract(ctx, draft))
    return await show(chat, order.order_no)


@command(
    "milestone",
    "里程碑",
    usage=N_('/milestone SO-100001 add "设计" 30%|84000 2026-12-20 | SO-100001 2 accept|approve|reject reason'),
    summary=N_("Add, accept or approve a contract milestone"),
    permission=(Permission.ORDER_EDIT, Permission.ORDER_APPROVE),
)
async def milestone(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    rest = words(chat, args[1:])
    if not rest:
        return await show(chat, no)
    if rest[0].lower() in ("add", "添加") and len(rest) == 4:
        terms = MilestoneTerms(rest[1].strip(), parse_share(rest[2]), parse_due(rest[3]))
        if not terms.name:
            raise chat.usage()
        added = await chat.services.run(chat.actor, lambda ctx: service.add_milestone(ctx, no, terms))
        said = chat.say(
            "Milestone {seq} ({name}, {amount}) added to {order_no}.",
            seq=added.seq,
            name=added.name,
            amount=money(added.amount),
            order_no=no,
        )
        return said + await show(chat, no)
    if len(rest) < 2 or not rest[0].isdigit():
        raise chat.usage()
    seq, step = int(rest[0]), rest[1].lower()
    if step in ("accept", "验收"):
        done = await chat.services.run(chat.actor, lambda ctx: service.accept_milestone(ctx, no, seq))
    elif step in ("approve", "批准"):
        done = await chat.services.run(chat.actor, lambda ctx: service.approve_milestone(ctx, no, seq))
    elif step in ("reject", "驳回"):
        reason = " ".join(rest[2:])
        done = await chat.services.run(chat.actor, lambda ctx: service.reject_milestone(ctx, no, seq, reason))
        return chat.say("Milestone {seq} of {order_no} is pending again: {reason}", seq=seq, order_no=no, reason=reason)
    else:
        raise chat.usage()
    if done.invoice_no:
        said = chat.say(
            "Milestone {seq} of {order_no} is invoiced: {invoice_no} for {amount}.",
            seq=seq,
            order_no=no,
            invoice_no=done.invoice_no,
            amount=money(done.amount),
        )
    else:
        said = chat.say("Milestone {seq} of {order_no} waits for approval before it is invoiced.", seq=seq, order_no=no)
    return said + await show(chat, no)


@command(
    "log",
    "记工",
    usage=N_("/log SO-100001 工时 8h 张工 | /log SO-100001 CABLE-01*20 [warehouse]"),
    summary=N_("Log labour or material used on a contract, at cost"),
    permission=Permission.ORDER_EDIT,
)
async def log(chat: Chat, args: list[str]) -> list[Reply]:
    no = order_no_arg(chat, args)
    rest = args[1:]
    if len(rest) >= 3 and rest[0].lower() in LABOUR:
        hours, worker = parse_hours(rest[1]), " ".join(rest[2:])
        cost = await chat.services.run(chat.actor, lambda ctx: costs.log_labour(ctx, no, worker, hours))
        return chat.say(
            "Logged on {order_no}: {worker} {hours}h × {rate} = {amount}.",
            order_no=no,
            worker=cost.description,
            hours=f"{hours:f}",
            rate=money(cost.unit_cost),
            amount=money(cost.amount),
        )
    if rest and counted_item(rest[0]) and len(rest) <= 2:
        [(sku, qty)] = parse_line_items(rest[:1])
        warehouse = rest[1] if len(rest) == 2 else None
        cost = await chat.services.run(
            chat.actor, lambda ctx: costs.log_material(ctx, no, sku, qty, warehouse=warehouse)
        )
        return chat.say(
            "Logged on {order_no}: {sku} ×{qty} × {unit_cost} = {amount}, taken from stock.",
            order_no=no,
            sku=sku.upper(),
            qty=qty,
            unit_cost=money(cost.unit_cost),
            amount=money(cost.amount),
        )
    raise chat.usage()


@command(
    "projects",
    "项目",
    usage=N_("/projects"),
    summary=N_("Project contracts: value, invoiced, received, cost and margin"),
    permission=Permission.REPORT_VIEW,
)
async def projects(chat: Chat, args: list[str]) -> list[Reply]:
    report = await chat.services.query(chat.actor, projects_report)
    if not report["projects"]:
        return chat.say("No project contracts yet. Enter one with /contract.")
    _ = chat._
    out = [_("Project contracts:")]
    for p in report["projects"]:
        out.append(f"{p['order_no']} {p['project']} ({p['customer']})")
        out.append("  " + figures_line(_, p))
    out.append(_("Total") + ": " + figures_line(_, report["totals"]))
    return [Reply(text="\n".join(out))]
