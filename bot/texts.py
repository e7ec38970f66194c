"""Domain errors in the reader's language: a template per error code, filled from its params."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.labels import status
from core.errors import DomainError

TEMPLATES = {
    "invalid_transition": N_("Cannot {action} {key}: it is {state}."),
    "not_found": N_("{kind} {key} does not exist."),
    "forbidden": N_("You may not {permission}."),
    "stale": N_("{key} changed meanwhile; send /order {key} to see it now."),
    "unknown_sku": N_("Unknown SKU {sku}."),
    "too_many_lines": N_("An order can have at most {limit:,} lines; this one has {count:,}."),
    "qty_too_large": N_("{sku}: a quantity can be at most {limit:,}."),
    "text_too_long": N_("{field} can be at most {limit:,} characters long."),
    "database_unavailable": N_("The database is unavailable; nothing was saved. Tell an admin."),
    "credit_limit": N_("{order_no} would take {customer} over the credit limit ({outstanding} owed of {limit})."),
}

# Free-text fields a person types, by column, for "… can be at most N characters long".
FIELDS = {
    "sku": N_("SKU"),
    "note": N_("Note"),
    "coupon_code": N_("Coupon"),
    "reason": N_("Reason"),
    "external_ref": N_("Reference"),
    "carrier": N_("Carrier"),
    "tracking_no": N_("Tracking number"),
}


def error_text(_: Translator, error: DomainError) -> str:
    params = dict(error.params)
    template = TEMPLATES.get(error.code)
    if error.code == "invalid_transition":
        params["state"] = status(_, params.get("state", ""))
        params["action"] = _(params.get("action", ""))
    if error.code == "text_too_long":
        params["field"] = _(FIELDS[params["field"]]) if params.get("field") in FIELDS else params.get("field", "")
    if error.code == "forbidden":
        params["permission"] = _(params.get("permission", ""))
    if error.code == "unknown_sku" and params.get("suggestion"):
        return _("Unknown SKU {sku}. Did you mean {suggestion}?", **params)
    if template is None:
        return _(error.message)
    try:
        return _(template, **params)
    except (KeyError, IndexError):
        return _(error.message)
