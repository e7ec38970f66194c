"""Refusals of the channel commands (``/mapsku``, ``/channels``, ``oms channels``)."""

from __future__ import annotations

from core.errors import N_, Conflict, NotFound


class NotAChannelOrder(Conflict):
    code = "not_a_channel_order"
    template = N_("{order_no} did not come from a sales channel, so it has no channel SKUs to map.")
    order_no: str


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"
    template = N_("There is no failed delivery {delivery_id} waiting to be retried.")
    delivery_id: int
