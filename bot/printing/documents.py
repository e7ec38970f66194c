"""Each printable document as a PDF file with its name: what ``/print`` and ``oms print`` send."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_
from bot.printing.pdf import Printer
from core.documents.picklist import PickList
from core.documents.slip import PackingSlip
from core.documents.statement import EntryKind, Statement

PDF = "application/pdf"

ENTRY_KINDS = {
    EntryKind.INVOICE: N_("Invoice"),
    EntryKind.PAYMENT: N_("Payment"),
    EntryKind.CANCELLATION: N_("Cancellation"),
    EntryKind.RETURN: N_("Return"),
    EntryKind.REFUND: N_("Refund"),
}


@dataclass(frozen=True)
class PrintedFile:
    filename: str
    data: bytes
    media_type: str = PDF


def pick_list_pdf(printer: Printer, doc: PickList) -> PrintedFile:
    stamp = printer.local(doc.printed_at, "%Y%m%d-%H%M")
    return PrintedFile(f"picklist-{doc.warehouse_code}-{stamp}.pdf", printer.pdf("picklist.html", doc=doc))


def packing_slip_pdf(printer: Printer, doc: PackingSlip) -> PrintedFile:
    return PrintedFile(f"slip-{doc.order_no}.pdf", printer.pdf("slip.html", doc=doc))


def statement_pdf(printer: Printer, doc: Statement) -> PrintedFile:
    kinds = {kind: printer._(label) for kind, label in ENTRY_KINDS.items()}
    return PrintedFile(
        f"statement-{doc.customer_code}-{doc.month}.pdf", printer.pdf("statement.html", doc=doc, kinds=kinds)
    )
