"""``oms webhook``: the endpoints that receive the domain events (ERP, finance, WMS), signed per
Standard Webhooks; each endpoint's health; an event sent again."""

from __future__ import annotations

from typing import Any

import click

from integrations.cli.main import CliFailure, call, emit_json, run_async

VERIFY_HINT = """\
Each POST carries the headers webhook-id, webhook-timestamp and webhook-signature
(Standard Webhooks). Verify it over the raw body, e.g. in Python:

    from standardwebhooks import Webhook
    event = Webhook("{secret}").verify(body, headers)   # raises if forged or older than 5 min

De-duplicate on webhook-id (the event id: the same on every retry and replay).
The secret is shown only now: keep it in the receiver's configuration."""


@click.group("webhook")
def webhook_group() -> None:
    """Outbound webhooks: signed HTTP POSTs of the domain events to ERP, finance or WMS systems.

    Each event an endpoint subscribed to is POSTed as JSON {id, type, version, timestamp, data},
    signed per Standard Webhooks, in order per order, retried for about three days (5 s, 5 min,
    30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h), then dead-lettered with an alert to the admins.
    """


def _events_epilog() -> str:
    from core.events.catalogue import EVENTS

    return "\b\nEvents:\n" + "\n".join(f"  {name} (v{cls.version})" for name, cls in sorted(EVENTS.items()))


@webhook_group.command("add", epilog=_events_epilog())
@click.argument("url")
@click.option("--name", required=True, help="A short name for the endpoint (letters, digits, - and _), e.g. erp.")
@click.option(
    "--events",
    "events",
    required=True,
    metavar="NAMES",
    help="Comma-separated event names, e.g. order.status_changed,shipment.status_changed; * for every event.",
)
@click.pass_context
@run_async
async def webhook_add(ctx: click.Context, url: str, name: str, events: str) -> None:
    """Send the events named by --events to URL (http or https); prints the signing secret once."""
    from core.webhooks.service import add_endpoint

    async def add(uow: Any) -> tuple[str, list[str], str]:
        endpoint = await add_endpoint(uow, name, url, events.split(","))
        return endpoint.url, list(endpoint.events), endpoint.secret

    url, subscribed, secret = await call(ctx, add)
    click.echo(f"webhook {name} -> {url}")
    click.echo(f"events: {', '.join(subscribed)}")
    click.echo(f"signing secret: {secret}")
    click.echo("")
    click.echo(VERIFY_HINT.format(secret=secret))


@webhook_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@run_async
async def webhook_list(ctx: click.Context, as_json: bool) -> None:
    """Each endpoint's health: its events, last success, last failure and error, pending and dead."""
    from bot.reactions.webhooks import health

    rows = await call(ctx, health, write=False)
    if as_json:
        emit_json([row.__dict__ for row in rows])
        return
    if not rows:
        click.echo("no webhook endpoints: add one with `oms webhook add URL --name NAME --events ...`")
        return
    for row in rows:
        state = f"disabled since {_when(row.disabled_at)} ({row.disabled_reason})" if row.disabled_at else "enabled"
        click.echo(f"{row.name}  {row.url}  {state}")
        click.echo(f"  events: {', '.join(row.events)}")
        click.echo(
            f"  last success {_when(row.last_success_at)}  last failure {_when(row.last_failure_at)}"
            + (f" ({row.last_error})" if row.last_failure_at and row.last_error else "")
        )
        click.echo(f"  pending {row.pending}  dead {row.dead}  sent {row.sent}")


def _when(at: Any) -> str:
    return at.isoformat(timespec="seconds") if at else "never"


@webhook_group.command("replay")
@click.argument("event_id")
@click.option("--endpoint", help="Only to this endpoint (it gets the event even if it did not subscribe to it).")
@click.pass_context
@run_async
async def webhook_replay(ctx: click.Context, event_id: str, endpoint: str | None) -> None:
    """Queue event EVENT_ID (evt_12 or 12) again to its endpoints, with the same webhook-id."""
    from bot.reactions.webhooks import replay
    from core.webhooks.envelope import event_id_text, parse_event_id

    number = parse_event_id(event_id)
    if number is None:
        raise CliFailure(f"{event_id} is not an event id (evt_12 or 12)")
    names = await call(ctx, lambda uow: replay(uow, number, endpoint))
    click.echo(f"{event_id_text(number)} is queued again for {', '.join(names)} (the running server sends it)")


@webhook_group.command("remove")
@click.argument("name")
@click.pass_context
@run_async
async def webhook_remove(ctx: click.Context, name: str) -> None:
    """Stop sending to endpoint NAME and forget it (what is still queued for it is dropped)."""
    from core.webhooks.service import remove_endpoint

    await call(ctx, lambda uow: remove_endpoint(uow, name))
    click.echo(f"webhook {name} removed")


@webhook_group.command("enable")
@click.argument("name")
@click.pass_context
@run_async
async def webhook_enable(ctx: click.Context, name: str) -> None:
    """Turn endpoint NAME back on after it answered 410 Gone (replay what it missed with `replay`)."""
    from core.webhooks.service import enable_endpoint

    await call(ctx, lambda uow: enable_endpoint(uow, name))
    click.echo(f"webhook {name} enabled")
