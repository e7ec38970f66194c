"""``oms apikey``: keys for the REST API (an ERP, a WMS, a customer portal), shown once, stored hashed."""

from __future__ import annotations

import click

from integrations.cli.main import call, emit_json, run_async, when

SCOPE_HELP = (
    "Comma-separated: orders:read, orders:write, orders:approve, payments:write, fulfilment:write, "
    "stock:read, stock:write, returns:read, returns:write, products:read, customers:read, reports:read."
)


@click.group("apikey")
def apikey_group() -> None:
    """API keys for /api/v1: each is an actor named api:NAME, with scopes instead of roles."""


@apikey_group.command("create")
@click.argument("name")
@click.option("--scopes", required=True, help=SCOPE_HELP)
@click.option("--warehouse", "warehouses", multiple=True, help="Limit the key to this warehouse (repeatable).")
@click.option("--customer", help="Limit the key to one customer's orders and returns (a customer portal).")
@click.pass_context
@run_async
async def apikey_create(
    ctx: click.Context, name: str, scopes: str, warehouses: tuple[str, ...], customer: str | None
) -> None:
    """Create key NAME and print it once: only its hash is kept, so store it now."""
    from core.apikeys import create_key

    info, token = await call(
        ctx, lambda uow: create_key(uow, name, scopes.split(","), warehouses=warehouses, customer=customer)
    )
    click.echo(token)
    limits = [f"warehouses {', '.join(info.warehouses)}"] if info.warehouses else []
    limits += [f"customer {info.customer}"] if info.customer else []
    click.echo(
        f"key {info.name}: {', '.join(info.scopes)}{' (' + '; '.join(limits) + ')' if limits else ''}; "
        "shown once: send it as 'Authorization: Bearer <key>'",
        err=True,
    )


@apikey_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@run_async
async def apikey_list(ctx: click.Context, as_json: bool) -> None:
    """Every key: its first characters, scopes, limits, last use, and whether it is revoked."""
    from core.apikeys import list_keys

    keys = await call(ctx, list_keys, write=False)
    if as_json:
        emit_json([key.__dict__ for key in keys])
        return
    if not keys:
        click.echo("no API keys: create one with `oms apikey create NAME --scopes orders:read`")
    for key in keys:
        limits = ([f"warehouses {','.join(key.warehouses)}"] if key.warehouses else []) + (
            [f"customer {key.customer}"] if key.customer else []
        )
        click.echo(
            f"{key.name}  {key.prefix}…  {','.join(key.scopes)}"
            + (f"  {' '.join(limits)}" if limits else "")
            + f"  last used {when(key.last_used_at)}"
            + (f"  REVOKED {when(key.revoked_at)}" if key.revoked_at else "")
        )


@apikey_group.command("revoke")
@click.argument("name")
@click.pass_context
@run_async
async def apikey_revoke(ctx: click.Context, name: str) -> None:
    """Revoke key NAME at once: its next request is refused (401)."""
    from core.apikeys import revoke_key

    info = await call(ctx, lambda uow: revoke_key(uow, name))
    click.echo(f"revoked {info.name} ({info.prefix}…) at {when(info.revoked_at)}")
