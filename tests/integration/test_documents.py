"""Printable documents from the database: pick lists, delivery notes, statements, and who may print them.

The PDFs are read back with pypdf, so the checks are on what a person holding the paper sees.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.conversation import Speaker, answer_text
from bot.printing.documents import statement_pdf
from bot.printing.pdf import Printer
from core.auth import NoneOfPermissions, NotYourWarehouse, PermissionDenied
from core.catalog.models import Product
from core.documents.errors import BadMonth, NothingToPick
from core.documents.picklist import pick_list
from core.documents.slip import packing_slip
from core.documents.statement import EntryKind, customer_statement
from core.errors import CustomerNotFound, OrderNotFound
from core.inventory.models import StockLevel
from core.orders import cancellation, fulfilment, payments, returns
from core.orders.fulfilment import ShipRequest
from core.orders.status import PaymentTerms
from core.users.models import User
from tests.support.clock import Clock
from tests.support.master_data import actor, seed
from tests.support.pdf_text import pdf_text
from tests.support.service_calls import as_user, detail, place

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def set_locations(services, locations: dict[str, str]) -> None:
    async with services.sessions() as session, session.begin():
        for sku, location in locations.items():
            product_id = (await session.scalars(select(Product.id).where(Product.sku == sku))).one()
            await session.execute(
                update(StockLevel).where(StockLevel.product_id == product_id).values(location=location)
            )


async def paid(services, items, customer="C001") -> str:
    no = await place(services, customer=customer, items=items)
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, no))
    return no


@pytest.fixture
async def wave(services):
    """SH holds TEA-001 (shelf B-02) and CUP-01 (shelf A-01); two orders ready to pick, one unpaid."""
    await seed(services, stock={("TEA-001", "SH"): 100, ("CUP-01", "SH"): 50, ("CUP-01", "GZ"): 5})
    await set_locations(services, {"TEA-001": "B-02", "CUP-01": "A-01"})
    first = await paid(services, {"TEA-001": 2, "CUP-01": 1})
    second = await paid(services, {"TEA-001": 3}, customer="C002")
    unpaid = await place(services, items={"TEA-001": 7})
    return first, second, unpaid


async def test_pick_list_aggregates_the_wave_by_sku_and_location(services, wave):
    first, second, unpaid = wave
    picks = await as_user(services, "张仓", lambda ctx: pick_list(ctx, "sh"))
    assert [(line.location, line.sku, line.qty) for line in picks.lines] == [
        ("A-01", "CUP-01", 1),
        ("B-02", "TEA-001", 5),
    ]
    assert picks.lines[1].orders == tuple(sorted((first, second)))
    assert [o.order_no for o in picks.orders] == [first, second]  # oldest first; the unpaid one waits
    assert picks.total_units == 6
    text = pdf_text((await _print(services, "张仓", "/print picklist SH")).attachment.data)
    assert "拣货单" in text and "龙井茶 250g" in text and "青瓷杯" in text and "杭州茶社" in text
    assert text.index("A-01") < text.index("B-02")
    assert unpaid not in text


async def test_pick_list_is_for_that_warehouses_staff(services, wave):
    with pytest.raises(NotYourWarehouse):
        await as_user(services, "广仓", lambda ctx: pick_list(ctx, "SH"))
    with pytest.raises(PermissionDenied):
        await as_user(services, "杭州茶社", lambda ctx: pick_list(ctx, "SH"))
    with pytest.raises(NothingToPick):
        await as_user(services, "管理员", lambda ctx: pick_list(ctx, "BJ"))


async def test_slip_is_the_customers_own(services, wave):
    first, _second, _unpaid = wave
    slip = await as_user(services, "杭州茶社", lambda ctx: packing_slip(ctx, first))
    assert slip.customer_name == "杭州茶社"
    assert slip.total == Decimal((await detail(services, first))["total"])
    assert [(line.sku, line.qty) for line in slip.lines] == [("TEA-001", 2), ("CUP-01", 1)]
    with pytest.raises(OrderNotFound):
        await as_user(services, "广州茶馆", lambda ctx: packing_slip(ctx, first))
    reply = await _print(services, "杭州茶社", f"/打印 送货单 {first}")
    text = pdf_text(reply.attachment.data)
    assert "送货单" in text and first in text and "西湖区龙井路1号" in text and "龙井茶 250g" in text
    assert f"{slip.total:,.2f}" in text
    assert reply.attachment.filename == f"slip-{first}.pdf"


async def _print(services, who: str, text: str, locale: str = "zh-CN"):
    async with services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == who).values(locale=locale))
    speaker = await actor(services, who)
    async with services.sessions() as session:
        user_id = (await session.scalars(select(User.id).where(User.name == who))).one()
    replies = await answer_text(services, Speaker(user_id, speaker, locale), "console", text)
    assert len(replies) == 1, [r.text for r in replies]
    return replies[0]


async def test_print_in_chat_answers_with_a_pdf_file(services, wave):
    reply = await _print(services, "张仓", "/print picklist SH", locale="en")
    assert reply.attachment is not None
    assert reply.attachment.kind == "file" and reply.attachment.media_type == "application/pdf"
    assert reply.attachment.data.startswith(b"%PDF-")
    assert reply.text == "Pick list for SH: 2 orders, 6 units."
    assert "Pick list" in pdf_text(reply.attachment.data)


async def test_print_refusals_come_back_as_text(services, wave):
    first, _second, _unpaid = wave
    refused = await _print(services, "广仓", "/print picklist SH", locale="en")
    assert refused.attachment is None and "not your warehouse" in refused.text
    refused = await _print(services, "李雷", "/print statement C001 2026-11", locale="en")
    assert refused.attachment is None and "You may not confirm payments or view reports" in refused.text
    refused = await _print(services, "广州茶馆", f"/print slip {first}")
    assert refused.attachment is None and first in refused.text and "不存在" in refused.text
    wrong = await _print(services, "张仓", "/print receipt SH", locale="en")
    assert wrong.attachment is None and wrong.text.startswith("Usage: /print")


# --- the statement ----------------------------------------------------------------------------------


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=SHANGHAI)


async def shipped(services, no: str) -> None:
    for step in (fulfilment.start_picking, fulfilment.pack):
        await as_user(services, "张仓", lambda ctx, step=step: step(ctx, no))
    await as_user(services, "张仓", lambda ctx: fulfilment.ship(ctx, no, ShipRequest("SF", f"T{no}")))


@pytest.fixture
async def november(services):
    """C001 over three months: a credit invoice in October paid in November, a paid order partly
    returned, a cancelled order and an unpaid credit invoice in November, an order in December."""
    clock = Clock(at("2026-10-20"))
    services.clock = clock
    await seed(services)
    october = await place(services, items={"TEA-001": 2}, payment_terms=PaymentTerms.CREDIT)
    clock.now = at("2026-11-05")
    await as_user(services, "王芳", lambda ctx: payments.confirm_payment(ctx, october))
    clock.now = at("2026-11-10")
    returned = await paid(services, {"TEA-001": 4})
    await shipped(services, returned)
    clock.now = at("2026-11-15")
    rma = await as_user(
        services, "杭州茶社", lambda ctx: returns.request_return(ctx, returned, {"TEA-001": 1}, "broken")
    )
    await as_user(services, "客服", lambda ctx: returns.approve_return(ctx, rma.rma_no))
    await as_user(services, "张仓", lambda ctx: returns.receive_return(ctx, rma.rma_no, "SH"))
    await as_user(services, "张仓", lambda ctx: returns.inspect_return(ctx, rma.rma_no, passed=True))
    await as_user(services, "王芳", lambda ctx: returns.refund_return(ctx, rma.rma_no))
    clock.now = at("2026-11-20")
    owed = await place(services, items={"CUP-01": 2}, payment_terms=PaymentTerms.CREDIT)
    clock.now = at("2026-11-25")
    dropped = await place(services, items={"TEA-001": 1})
    await as_user(services, "李雷", lambda ctx: cancellation.cancel(ctx, dropped, "changed mind"))
    clock.now = at("2026-12-02")
    await place(services, items={"TEA-001": 1}, payment_terms=PaymentTerms.CREDIT)
    totals = {no: Decimal((await detail(services, no))["total"]) for no in (october, returned, owed, dropped)}
    return {"october": october, "returned": returned, "owed": owed, "dropped": dropped, "rma": rma.rma_no}, totals


async def test_statement_balances_for_a_month_with_payments_and_a_refund(services, november):
    orders, totals = november
    statement = await as_user(services, "王芳", lambda ctx: customer_statement(ctx, "c001", "2026-11"))
    assert statement.opening_balance == totals[orders["october"]]
    kinds = [(e.kind, e.reference, e.debit or -e.credit) for e in statement.entries]
    returned, dropped = orders["returned"], orders["dropped"]
    refund = totals[returned] / 4  # one of four returned
    assert kinds == [
        (EntryKind.PAYMENT, orders["october"], -totals[orders["october"]]),
        (EntryKind.INVOICE, returned, totals[returned]),
        (EntryKind.PAYMENT, returned, -totals[returned]),
        (EntryKind.RETURN, orders["rma"], -refund),
        (EntryKind.REFUND, returned, refund),
        (EntryKind.INVOICE, orders["owed"], totals[orders["owed"]]),
        (EntryKind.INVOICE, dropped, totals[dropped]),
        (EntryKind.CANCELLATION, dropped, -totals[dropped]),
    ]
    assert statement.closing_balance == totals[orders["owed"]]  # only the unpaid credit invoice is owed
    assert statement.entries[-1].balance == statement.closing_balance
    assert statement.payments == totals[orders["october"]] + totals[returned]
    assert statement.refunds == refund
    october = await as_user(services, "经理", lambda ctx: customer_statement(ctx, "C001", "2026-10"))
    assert october.opening_balance == 0 and october.closing_balance == statement.opening_balance
    december = await as_user(services, "杭州茶社", lambda ctx: customer_statement(ctx, "C001", "2026-12"))
    assert december.opening_balance == statement.closing_balance
    assert [e.kind for e in december.entries] == [EntryKind.INVOICE]

    printed = statement_pdf(Printer(None, locale="zh-CN", timezone="Asia/Shanghai"), statement)
    text = pdf_text(printed.data)
    assert "对账单" in text and "杭州茶社" in text and "2026-11-01" in text and "2026-11-30" in text
    assert "期初余额" in text and f"{statement.opening_balance:,.2f}" in text
    assert "期末余额" in text and f"{statement.closing_balance:,.2f}" in text
    assert orders["rma"] in text and "退款" in text
    assert printed.filename == "statement-C001-2026-11.pdf"
    assert statement.rebate is None and "返点" not in text  # no rebate agreement: nothing about rebates


async def test_statement_permissions_and_bad_months(services, november):
    with pytest.raises(NoneOfPermissions):
        await as_user(services, "李雷", lambda ctx: customer_statement(ctx, "C001", "2026-11"))
    with pytest.raises(CustomerNotFound):  # another customer's: as if it did not exist
        await as_user(services, "广州茶馆", lambda ctx: customer_statement(ctx, "C001", "2026-11"))
    with pytest.raises(CustomerNotFound):
        await as_user(services, "王芳", lambda ctx: customer_statement(ctx, "C999", "2026-11"))
    for month in ("2026-13", "11-2026", "2026-1", "next"):
        with pytest.raises(BadMonth):
            await as_user(services, "王芳", lambda ctx, month=month: customer_statement(ctx, "C001", month))
    reply = await _print(services, "杭州茶社", "/print 对账单 C001 2026-11")
    assert reply.attachment is not None and "杭州茶社" in reply.text


@pytest.mark.pg
async def test_documents_and_exports_on_postgresql(pg_services):
    """The same queries on PostgreSQL: its GROUP BY is strict and its JSON is not SQLite's."""
    from bot.printing.exports import write_export
    from core.documents.export import export_orders
    from core.orders.filters import OrderFilter

    services = pg_services
    clock = Clock(at("2026-11-10"))
    services.clock = clock
    await seed(services, stock={("TEA-001", "SH"): 100, ("CUP-01", "SH"): 50})
    await set_locations(services, {"TEA-001": "B-02", "CUP-01": "A-01"})
    no = await paid(services, {"TEA-001": 2, "CUP-01": 1})
    picks = await as_user(services, "张仓", lambda ctx: pick_list(ctx, "SH"))
    assert [(line.location, line.qty) for line in picks.lines] == [("A-01", 1), ("B-02", 2)]
    slip = await as_user(services, "杭州茶社", lambda ctx: packing_slip(ctx, no))
    statement = await as_user(services, "王芳", lambda ctx: customer_statement(ctx, "C001", "2026-11"))
    assert [e.kind for e in statement.entries] == [EntryKind.INVOICE, EntryKind.PAYMENT]
    assert statement.invoices == statement.payments == slip.total and statement.closing_balance == 0

    async def export(ctx):
        import io

        out = io.BytesIO()
        count = await write_export(
            "csv", export_orders(ctx, OrderFilter.build(customer="C001")), out, locale="en", timezone="Asia/Shanghai"
        )
        return count, out.getvalue()

    count, data = await as_user(services, "王芳", export)
    assert count == 1 and data.decode("utf-8-sig").count(no) == 2  # one row per line


async def test_a_contract_is_on_the_statement_invoice_by_invoice_never_by_its_value(services):
    clock = Clock(at("2026-11-05"))
    services.clock = clock
    await seed(services)
    await _chat(services, "李雷", '/contract C001 "机房改造" 4000 设计:50%:2026-12-20 施工:30%:2027-01-31')
    [no] = [o for o in await _order_nos(services)]
    await _chat(services, "李雷", f"/milestone {no} add 验收 800 2027-02-28")
    assert (await detail(services, no))["status"] == "confirmed"  # under the approval threshold
    clock.now = at("2026-11-10")
    await _chat(services, "李雷", f"/milestone {no} 1 accept")
    clock.now = at("2026-11-12")
    await _chat(services, "王芳", f"/pay {no} bank 8801")
    clock.now = at("2026-11-20")
    await _chat(services, "李雷", f"/milestone {no} 2 accept")
    # A second contract, cancelled before anything was invoiced: nothing to bill, nothing to credit
    clock.now = at("2026-11-25")
    await _chat(services, "李雷", '/contract C001 "门店装修" 3000 设计:100%:2026-12-20')
    [dropped] = [o for o in await _order_nos(services) if o != no]
    await _chat(services, "李雷", f"/cancel {dropped} 客户终止项目")
    assert (await detail(services, dropped))["status"] == "cancelled"

    statement = await as_user(services, "王芳", lambda ctx: customer_statement(ctx, "C001", "2026-11"))

    assert [(e.kind, e.reference, e.order_no, e.debit or -e.credit) for e in statement.entries] == [
        (EntryKind.INVOICE, f"{no}-M1", no, Decimal("2000.00")),
        (EntryKind.PAYMENT, f"{no}-M1", no, Decimal("-2000.00")),
        (EntryKind.INVOICE, f"{no}-M2", no, Decimal("1200.00")),
    ]
    assert statement.opening_balance == 0
    assert statement.closing_balance == Decimal("1200.00")  # milestone 2's invoice is still owed
    assert statement.entries[-1].balance == statement.closing_balance
    text = pdf_text(statement_pdf(Printer(None, locale="zh-CN", timezone="Asia/Shanghai"), statement).data)
    assert f"{no}-M2" in text and "4,000.00" not in text


async def test_a_contract_has_no_delivery_note(services):
    await seed(services)
    await _chat(services, "李雷", '/contract C001 "机房改造" 4000 设计:50%:2026-12-20')
    [no] = await _order_nos(services)

    refused = await _print(services, "李雷", f"/print slip {no}", locale="en")

    assert refused.attachment is None
    assert refused.text == (
        f"{no} is a project contract: it ships no goods, so it has no delivery note; "
        "its milestones are on /order and the statement."
    )
    assert "项目合同" in (await _print(services, "李雷", f"/print slip {no}")).text


async def _chat(services, who: str, text: str) -> str:
    from bot import gateway
    from bot.gateway import Inbound

    return "\n".join((await gateway.message(services, Inbound("console", who, who), text)).texts)


async def _order_nos(services) -> list[str]:
    from core.orders.models import Order

    async with services.sessions() as session:
        return list(await session.scalars(select(Order.order_no).order_by(Order.id)))
