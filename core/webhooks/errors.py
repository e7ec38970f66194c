"""Refusals of the webhook commands (``oms webhook ...``)."""

from __future__ import annotations

from core.errors import N_, Conflict, InvalidInput, NotFound


class WebhookUrlInvalid(InvalidInput):
    code = "webhook_url_invalid"
    template = N_("{url} is not a web address a webhook can be sent to (it must start with http:// or https://).")
    url: str


class WebhookNameInvalid(InvalidInput):
    code = "webhook_name_invalid"
    template = N_(
        "{name} cannot name a webhook endpoint: use up to 48 letters, digits, - or _, starting with a letter or digit."
    )
    name: str


class WebhookEventUnknown(InvalidInput):
    code = "webhook_event_unknown"
    template = N_("There is no event {event}. The events are: {known} (or * for all of them).")
    event: str
    known: list[str]


class WebhookEventsMissing(InvalidInput):
    code = "webhook_events_missing"
    template = N_("Name the events the endpoint should receive, for example order.status_changed (or * for all).")


class WebhookEndpointExists(Conflict):
    code = "webhook_endpoint_exists"
    template = N_("There is already a webhook endpoint called {name}.")
    name: str


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    template = N_("There is no webhook endpoint called {name}.")
    name: str


class WebhookEventNotFound(NotFound):
    code = "webhook_event_not_found"
    template = N_("There is no event {event_id} to send again.")
    event_id: str


class WebhookNoEndpointForEvent(Conflict):
    code = "webhook_no_endpoint_for_event"
    template = N_("No enabled webhook endpoint subscribes to event {event_id} ({event}).")
    event_id: str
    event: str
