"""``oms``: the command line. Every command is a thin call into the service layer.

Bad input exits non-zero with one line on stderr and changes nothing (each command is one
transaction).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.items import parse_line_items
from bot.wiring import services_for
from core.auth import Actor
from core.config import Settings
from core.errors import DomainError
from core.services import Services

T = TypeVar("T")


class CliFailure(click.ClickException):
    """One line on stderr, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def run_async(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if any(_not_utf8(value) for value in kwargs.values()):
            raise CliFailure("arguments must be UTF-8 text")
        try:
            return asyncio.run(fn(*args, **kwargs))
        except DomainError as error:
            raise CliFailure(error.message) from error
        except (OperationalError, ProgrammingError) as error:
            text = str(error.orig if getattr(error, "orig", None) else error)
            if "no such table" in text or "does not exist" in text:
                raise CliFailure("the database has no tables yet: run `oms db upgrade` first") from error
            raise CliFailure(f"database error: {text.splitlines()[0]}") from error
        except OSError as error:
            raise CliFailure(str(error)) from error

    return wrapper


class Percent(click.ParamType):
    """A percentage such as ``5`` or ``12.5``; anything else is refused in words, not a Decimal repr."""

    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip().removesuffix("%"))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.fail(f"must be a number of percent, e.g. 5 (not {value})", param, ctx)
        return number


def _not_utf8(value: Any) -> bool:
    """Bytes that are not UTF-8 reach ``sys.argv`` as lone surrogates, which no database stores."""
    if isinstance(value, tuple):
        return any(_not_utf8(v) for v in value)
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def settings_from(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        try:
            overrides = {"database_url": obj["database_url"]} if obj.get("database_url") else {}
            obj["settings"] = Settings(**overrides)
        except ValidationError as error:
            first = error.errors()[0]
            raise CliFailure(f"setting OMS_{str(first['loc'][0]).upper()}: {first['msg']}") from error
    return obj["settings"]


async def acting(ctx: click.Context, services: Services) -> Actor:
    """The CLI acts as an administrator unless ``--as NAME`` names a user."""
    name = ctx.obj.get("as_user")
    if not name:
        return Actor.system("cli")
    from core.users.actors import actor_by_name

    async with services.sessions() as session:
        return await actor_by_name(session, name, "cli")


async def call(ctx: click.Context, action: Callable[[Any], Awaitable[T]], *, write: bool = True) -> T:
    """One service call as the acting user, in its own unit of work (reads take no write lock)."""
    settings = settings_from(ctx)
    require_file(settings)
    services = services_for(settings)
    try:
        actor = await acting(ctx, services)
        return await (services.run(actor, action) if write else services.query(actor, action))
    finally:
        await services.close()


def require_file(settings: Settings) -> None:
    """Connecting to a SQLite file that is not there creates an empty one; say what to do instead."""
    from core.db.sqlite_file import sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        raise CliFailure(f"no database at {path}: run `oms db upgrade` first")


def require_schema(settings: Settings) -> None:
    """Refuse to serve a database the code cannot run on, before the port is bound."""
    from core.db.engine import create_engine
    from core.db.migrate import schema_problem

    async def check() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await schema_problem(engine)
        finally:
            await engine.dispose()

    if problem := run_async(check)():
        raise CliFailure(problem)


def when(at: Any) -> str:
    """A moment as the CLI prints it: to the second, with its offset; "never" for none."""
    return at.isoformat(timespec="seconds") if at else "never"


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="OMS_DATABASE_URL",
    help="Database URL (default: SQLite file oms.db; env OMS_DATABASE_URL).",
)
@click.option(
    "--as", "as_user", metavar="NAME", help="Act as this user (their roles apply) instead of as an administrator."
)
@click.option("--debug", is_flag=True, help="Show SQL and full tracebacks.")
@click.version_option(package_name="chatops-oms")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, as_user: str | None, debug: bool) -> None:
    """Chat-ops order management: orders, stock, prices and approvals.

    \b
    Quick start:
      oms db upgrade                 create or update the database schema
      oms load master.yaml           load warehouses, products, stock, customers, users, rules
      oms order place C001 TEA-001*2 --pay credit
      oms order show SO-100001 --json
      oms stock TEA-001 --json
      oms receive TEA-001 SH 50      goods in (serves backorders first-in, first-out)
      oms demo                       a demo database with the web console
    """
    ctx.ensure_object(dict).update(database_url=database_url, as_user=as_user, debug=debug)
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, and Telegram's carry the bot token


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@click.pass_context
@run_async
async def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create the schema or bring it up to date (safe to run again)."""
    from core.db.migrate import current_revision, upgrade

    services = services_for(settings_from(ctx))
    try:
        await upgrade(services.engine, revision)
        click.echo(f"database at revision {await current_revision(services.engine)}")
    finally:
        await services.close()


@db.command("revision")
@click.argument("message")
@click.pass_context
def db_revision(ctx: click.Context, message: str) -> None:
    """Autogenerate a migration from the models against an up-to-date database (for developers)."""
    from alembic import command

    from core.db.migrate import MIGRATIONS_DIR, alembic_config

    numbers = [int(p.name[:4]) for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    command.revision(alembic_config(settings_from(ctx).database_url), message=message, autogenerate=True, rev_id=rev_id)


@cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set-stock",
    is_flag=True,
    help="Overwrite existing stock counts with the file's (each difference an audited adjustment; "
    "refused below what is reserved).",
)
@click.pass_context
@run_async
async def load(ctx: click.Context, file: Path, set_stock: bool) -> None:
    """Load a master-data file (YAML): all of it, or none of it if any row is wrong.

    Loading again is safe: rows are matched by code, SKU or name and updated. Stock counts in the
    file are opening balances: they set on hand only for a SKU new to a warehouse, so receipts,
    shipments and reservations since are kept. --set-stock makes the file's counts the new ones
    (after a stock take).
    """
    from bot.wiring import load_master_file

    report = await call(ctx, lambda uow: load_master_file(uow, file, set_stock=set_stock))
    click.echo(report.summary())


@cli.group()
def order() -> None:
    """Place and inspect orders."""


@order.command("show")
@click.argument("order_no")
@click.option("--json", "as_json", is_flag=True, help="Print the whole order as JSON.")
@click.pass_context
@run_async
async def order_show(ctx: click.Context, order_no: str, as_json: bool) -> None:
    """Show one order: status, lines, allocations, total, shipments, returns and history."""
    from core.orders.views import order_detail
    from integrations.cli.order_text import order_text

    detail = await call(ctx, lambda c: order_detail(c, order_no), write=False)
    if as_json:
        emit_json(detail)
        return
    click.echo("\n".join(order_text(detail, settings_from(ctx).timezone)))


@order.command("place")
@click.argument("customer")
@click.argument("items", nargs=-1, required=True)
@click.option("--pay", "terms", type=click.Choice(["prepaid", "cod", "credit"]), default="prepaid", show_default=True)
@click.option("--coupon", help="Coupon code.")
@click.option("--discount", type=Percent(), default=Decimal("0"), help="Manual discount in percent (0 to 100).")
@click.option("--address", "address_label", help="Which of the customer's addresses (label).")
@click.option("--channel", default="direct", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the order as JSON.")
@click.pass_context
@run_async
async def order_place(
    ctx: click.Context,
    customer: str,
    items: tuple[str, ...],
    terms: str,
    coupon: str | None,
    discount: Decimal,
    address_label: str | None,
    channel: str,
    as_json: bool,
) -> None:
    """Place an order: ITEMS are SKU*QTY (also SKU x2, SKU×2; a bare SKU means one)."""
    from core.orders.placement import DraftLine, OrderDraft, place_order
    from core.orders.status import PaymentTerms
    from core.orders.views import order_detail

    lines = tuple(DraftLine(sku, qty) for sku, qty in parse_line_items(items))
    draft = OrderDraft(
        customer=customer,
        lines=lines,
        payment_terms=PaymentTerms(terms),
        coupon=coupon,
        discount_percent=discount,
        address_label=address_label,
        channel=channel,
    )

    async def place(uow: Any) -> dict[str, Any]:
        placed = await place_order(uow, draft)
        return await order_detail(uow, placed.order_no)

    detail = await call(ctx, place)
    if as_json:
        emit_json(detail)
    else:
        click.echo(f"{detail['order_no']} {detail['status']} total {detail['total']}")
        for reason in detail["hold_reasons"]:
            click.echo(f"  on hold ({reason['code']}): {reason['message']}")


@cli.command("stock")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@run_async
async def stock(ctx: click.Context, sku: str, as_json: bool) -> None:
    """Show a SKU's stock per warehouse: on hand, reserved, available (kits: derived from components)."""
    from core.inventory.stock import stock_view

    view = await call(ctx, lambda c: stock_view(c, sku), write=False)
    if as_json:
        emit_json(view)
        return
    click.echo(f"{view['sku']} {view['name']}{' (kit)' if view['kit'] else ''}")
    for row in view["warehouses"]:
        counts = f"on hand {row['on_hand']:>6}  reserved {row['reserved']:>6}  available {row['available']:>6}"
        click.echo(f"  {row['warehouse']:<6} {counts}")


@cli.command("receive")
@click.argument("sku")
@click.argument("warehouse")
@click.argument("qty", type=click.IntRange(min=1))
@click.option("--reason", help="Delivery note, supplier, purchase order...")
@click.pass_context
@run_async
async def stock_receive(ctx: click.Context, sku: str, warehouse: str, qty: int, reason: str | None) -> None:
    """Book goods in; backordered orders waiting for them are served first-in, first-out."""
    from core.orders.backorders import receive

    served = await call(ctx, lambda uow: receive(uow, sku, warehouse, qty, reason))
    click.echo(
        f"received {qty} {sku.upper()} in {warehouse.upper()}" + (f"; allocated {', '.join(served)}" if served else "")
    )


@cli.command("adjust")
@click.argument("sku")
@click.argument("warehouse")
@click.argument("delta", type=int, metavar="DELTA")
@click.argument("reason")
@click.pass_context
@run_async
async def stock_adjust(ctx: click.Context, sku: str, warehouse: str, delta: int, reason: str) -> None:
    """Correct the count on hand by DELTA, with a REASON (for a negative DELTA write ``--`` first:
    ``oms adjust TEA-001 SH -- -3 "broken"``)."""
    from core.orders.backorders import adjust

    await call(ctx, lambda uow: adjust(uow, sku, warehouse, delta, reason))
    click.echo(f"adjusted {sku.upper()} in {warehouse.upper()} by {delta:+d}")


@cli.command("dry-run")
@click.argument("order_nos", nargs=-1)
@click.option("--close", "closed", multiple=True, metavar="WAREHOUSE", help="Pretend this warehouse is closed.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@run_async
async def dry_run(ctx: click.Context, order_nos: tuple[str, ...], closed: tuple[str, ...], as_json: bool) -> None:
    """How orders would be allocated now (default: all not yet allocated), reserving nothing.

    \b
      oms dry-run --close GZ            what if Guangzhou were closed?
    """
    from core.inventory.dry_run import simulate

    shut = {code.upper() for code in closed}
    wanted = [no.upper() for no in order_nos]
    results = await call(ctx, lambda uow: simulate(uow, closed=shut, order_nos=wanted), write=False)
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    for result in results:
        click.echo(f"{result.order_no}: {result.plan.explanation}")
    if not results:
        click.echo("no orders to allocate")


@cli.command("serve")
@click.option(
    "--host", envvar="OMS_HOST", default=None, help="Interface to listen on (env OMS_HOST, default 127.0.0.1)."
)
@click.option("--port", envvar="OMS_PORT", type=int, default=None, help="Port (env OMS_PORT, default 8080).")
@click.option(
    "--workers",
    envvar="OMS_WORKERS",
    type=int,
    default=1,
    show_default=True,
    help="Server processes on the one port (env OMS_WORKERS). More than 1 needs PostgreSQL (SQLite has one "
    "writer); each process runs everything, and timers, outbox sends, event delivery and inbound "
    "de-duplication still happen once; live console streams see changes made in any process.",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int = 1) -> None:
    """Run the server: the console, every chat adapter whose settings are present, the outbox, event delivery
    and the timers. With --workers N, N processes share the port under a supervisor that starts a
    worker again if it dies and stops them all on SIGTERM or Ctrl-C."""
    from aiohttp import web

    from integrations.bootstrap import bootstrap
    from integrations.cli.workers import refusal
    from integrations.console.perimeter import is_loopback

    settings = settings_from(ctx)
    if problem := refusal(settings, workers):
        raise CliFailure(problem)
    require_schema(settings)
    host, port = host or settings.host, port or settings.port
    mode = settings.console_mode or ctx.obj.get("console_mode_default", "signin")
    if mode == "open" and not is_loopback(host):
        raise CliFailure(
            f"the console in open mode lets anyone act as anyone, so it listens on loopback only, not {host}: "
            "set OMS_HOST=127.0.0.1, or OMS_CONSOLE_MODE=signin"
        )
    settings = settings.model_copy(update={"console_mode": mode})
    _port_is_free(host, port)  # with --workers too: a port taken by anyone else is refused here
    app, enabled = bootstrap(settings)  # checked above: schema, console mode, port
    click.echo(f"oms listening on http://{host}:{port}")
    click.echo(_console_line(mode, settings.public_url or f"http://{host}:{port}", bool(settings.public_url)))
    click.echo(f"database {settings.database_url}")
    click.echo(f"adapters on: {', '.join(enabled) or 'none (no platform settings given)'}")
    for line in _channel_lines(settings):
        click.echo(line)
    if workers > 1:  # the workers build their own servers; this one only named the adapters
        from integrations.cli.workers import supervise

        del app
        sys.exit(supervise(settings, host, port, workers, say=lambda line: click.echo(line, err=True)))
    web.run_app(app, host=host, port=port, print=None, shutdown_timeout=5)


def _channel_lines(settings: Settings) -> list[str]:
    """Which sales channels the server listens for, and which of them lack their secret."""
    from core.channels.status import health

    async def read() -> list[Any]:
        services = services_for(settings)
        try:
            return await services.query(Actor.system("cli"), health)
        finally:
            await services.close()

    rows = [row for row in run_async(read)() if row.active]
    if not rows:
        return ["channels: none (add a channels: section to the master data)"]
    lines = ["channels: " + ", ".join(f"{r.code} ({r.kind}) at /webhooks/channels/{r.code}" for r in rows)]
    lines += [
        f"channel {r.code}: its deliveries are refused until {', '.join(r.missing)} is set" for r in rows if r.missing
    ]
    return lines


def _port_is_free(host: str, port: int) -> None:
    """One line instead of a traceback when another program (often an earlier ``oms``) has the port."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        raise CliFailure(
            f"cannot listen on {host}:{port}: {error.strerror or error}; "
            f"is another server running? choose another port with OMS_PORT=8081 (or --port)"
        ) from error


def _console_line(mode: str, base: str, public: bool) -> str:
    if mode == "off":
        return "console: off (OMS_CONSOLE_MODE=off)"
    if mode == "open":
        return f"console: {base}/console  (open demo mode: anyone here can act as anyone)"
    hint = "" if public else "; set OMS_PUBLIC_URL so /console in chat can send links"
    return f"console: {base}/console  (sign in with a link from /console in chat or `oms console link USER`{hint})"


@cli.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("oms-demo.db"),
    show_default=True,
    help="Demo database file; it is recreated on every run.",
)
@click.option("--host", envvar="OMS_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="OMS_PORT", type=int, default=8080, show_default=True)
@click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
@click.pass_context
def demo(ctx: click.Context, db_path: Path, host: str, port: int, no_serve: bool) -> None:
    """A fresh demo database (warehouses, kits, two customer tiers, one user per role, a few
    orders in different states), then the server. Needs no configuration."""
    from integrations.cli.demo import DEMO_DATA, build_demo

    if not no_serve:
        _port_is_free(host, port)  # before the demo database is rebuilt
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    ctx.obj["database_url"] = f"sqlite+aiosqlite:///{db_path.resolve()}"
    ctx.obj.pop("settings", None)
    settings = settings_from(ctx)

    async def build() -> list[str]:
        services = services_for(settings)
        try:
            return await build_demo(services)
        finally:
            await services.close()

    orders = run_async(build)()
    click.echo(f"demo database {db_path} built from {DEMO_DATA.name}")
    click.echo("demo orders: " + ", ".join(orders))
    click.echo(
        "identities (console): wangfang (approver, finance), lilei (sales), zhaojl (manager), "
        "zhangcang (warehouse SH), chencang (warehouse GZ, BJ), liukf (service), admin, c001, c002 (customers)"
    )
    click.echo(f"try: oms --database-url {settings.database_url} order show SO-100001")
    if not no_serve:
        ctx.obj["console_mode_default"] = "open"  # a demo: pick any identity (loopback only)
        ctx.invoke(serve, host=host, port=port, workers=1)  # a demo is on SQLite: one process


@cli.group("console")
def console_group() -> None:
    """Web console sign-in: links to hand over, sessions to end."""


@console_group.command("link")
@click.argument("user")
@click.pass_context
@run_async
async def console_link(ctx: click.Context, user: str) -> None:
    """Print a single-use sign-in link for USER (a name or console id); it expires in minutes."""
    from core.access.signin import find_user, issue_link

    settings = settings_from(ctx)

    async def issue(uow: Any) -> str:
        person = await find_user(uow, user)
        return await issue_link(uow, person.id, "cli")

    token = await call(ctx, issue)
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    click.echo(f"{base}/console/signin?token={token}")
    click.echo(f"works once, for {settings.signin_link_minutes} minutes; hand it over privately", err=True)


@console_group.command("logout")
@click.argument("user")
@click.pass_context
@run_async
async def console_logout(ctx: click.Context, user: str) -> None:
    """End every console session of USER (a name or console id), e.g. a lost laptop."""
    from core.access.signin import end_sessions, find_user

    async def end(uow: Any) -> tuple[str, int]:
        person = await find_user(uow, user)
        return person.name, await end_sessions(uow, person)

    name, count = await call(ctx, end)
    click.echo(f"ended {count} console session{'s' if count != 1 else ''} of {name}")


from integrations.cli.apikeys import apikey_group  # noqa: E402  (they use the helpers above)
from integrations.cli.channels import channels_group  # noqa: E402
from integrations.cli.webhooks import webhook_group  # noqa: E402

cli.add_command(apikey_group)
cli.add_command(channels_group)
cli.add_command(webhook_group)

from integrations.cli.printing import export_group, print_group  # noqa: E402

cli.add_command(print_group)
cli.add_command(export_group)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli(obj={}))
