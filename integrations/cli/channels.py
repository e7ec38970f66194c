"""``oms channels``: each sales channel's health, a poll on demand, a dead letter sent round again."""

from __future__ import annotations

from typing import Any

import click

from integrations.cli.main import CliFailure, call, emit_json, run_async, when


@click.group("channels", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@run_async
async def channels_group(ctx: click.Context, as_json: bool) -> None:
    """Sales channels: last delivery, last poll, backlog and dead letters of each (with no subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from core.channels.status import health

    rows = await call(ctx, health, write=False)
    if as_json:
        emit_json([row.__dict__ for row in rows])
        return
    if not rows:
        click.echo("no sales channels: add a channels: section to the master-data file and run `oms load`")
        return
    for row in rows:
        click.echo(
            f"{row.code}  {row.kind}  {row.name}  last delivery {when(row.last_delivery_at)}  "
            f"last poll {when(row.last_poll_at)}  waiting {row.backlog}  dead {row.dead}"
            + ("" if row.active else "  (inactive)")
        )
        if row.missing:
            click.echo(f"  not listening: set {', '.join(row.missing)}")
        if row.last_poll_error:
            click.echo(f"  last poll failed: {row.last_poll_error}")


@channels_group.command("poll")
@click.argument("code")
@click.pass_context
@run_async
async def channels_poll(ctx: click.Context, code: str) -> None:
    """Make CODE's reconciliation poll due now (the running server does it within half a minute)."""
    from core.channels.polling import poll_now

    if not await call(ctx, lambda uow: poll_now(uow, code)):
        raise CliFailure(f"no sales channel {code.upper()}")
    click.echo(f"{code.upper()} will be polled within 30 seconds by the running server")


@channels_group.command("retry")
@click.argument("delivery_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
@run_async
async def channels_retry(ctx: click.Context, delivery_id: int) -> None:
    """Send a dead-lettered delivery round again, once what failed is fixed."""
    from core.channels.errors import DeadLetterNotFound
    from core.channels.inbox import retry

    async def again(uow: Any) -> None:
        if not await retry(uow, delivery_id):
            raise DeadLetterNotFound(delivery_id=delivery_id)

    await call(ctx, again)
    click.echo(f"delivery {delivery_id} is queued again")
