"""Creating, listing, revoking and checking API keys.

The key is shown once, when it is created; the table keeps its SHA-256, so a stolen database
holds no usable key. A revoked key stays listed (who had access, until when) and answers 401.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.apikeys.models import ApiKey
from core.apikeys.scopes import checked, permissions_for
from core.audit.record import audit
from core.auth import Actor, Permission
from core.context import Context
from core.customers.models import Customer
from core.errors import N_, Conflict, CustomerNotFound, InvalidInput, NotFound, WarehouseNotFound
from core.inventory.models import Warehouse

PREFIX = "oms_"
# How stale ``last_used_at`` may get: a busy integration must not write the key's row per request.
USED_EVERY = timedelta(minutes=1)


class KeyNameInvalid(InvalidInput):
    code = "api_key_name_invalid"
    template = N_("An API key's name is letters, digits, '-', '_' and '.', at most 64 characters: «{name}» is not.")
    name: str


class KeyNameTaken(Conflict):
    code = "api_key_name_taken"
    template = N_("There is already an API key named {name}; revoke it or choose another name.")
    name: str


class KeyNotFound(NotFound):
    code = "api_key_not_found"
    template = N_("There is no API key named {name}.")
    name: str


class NoScopes(InvalidInput):
    code = "api_key_no_scopes"
    template = N_("Give the key at least one scope (--scopes orders:read,...).")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    scopes: list[str]
    warehouses: list[str]
    customer: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


async def create_key(
    ctx: Context,
    name: str,
    scopes: Iterable[str],
    *,
    warehouses: Iterable[str] = (),
    customer: str | None = None,
) -> tuple[KeyInfo, str]:
    """A new key and the key itself (shown once)."""
    ctx.actor.require(Permission.MASTER_DATA)
    if not _valid_name(name):
        raise KeyNameInvalid(name=name)
    wanted = checked(scopes)
    if not wanted:
        raise NoScopes()
    if await ctx.session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise KeyNameTaken(name=name)
    codes = sorted({w.strip() for w in warehouses if w.strip()})
    known = set(await ctx.session.scalars(select(Warehouse.code).where(Warehouse.code.in_(codes))))
    for code in codes:
        if code not in known:
            raise WarehouseNotFound(warehouse=code)
    customer_id = None
    if customer:
        customer_id = await ctx.session.scalar(select(Customer.id).where(Customer.code == customer))
        if customer_id is None:
            raise CustomerNotFound(customer=customer)
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=token[:12],
        key_hash=digest(token),
        scopes=wanted,
        warehouses=codes,
        customer_id=customer_id,
        created_at=ctx.now(),
    )
    ctx.session.add(key)
    await ctx.session.flush()
    audit(ctx, entity="api_key", key=name, action="created", scopes=wanted, warehouses=codes, customer=customer)
    return _info(key, customer), token


async def list_keys(ctx: Context) -> list[KeyInfo]:
    ctx.actor.require(Permission.MASTER_DATA)
    rows = await ctx.session.execute(
        select(ApiKey, Customer.code).outerjoin(Customer, Customer.id == ApiKey.customer_id).order_by(ApiKey.name)
    )
    return [_info(key, code) for key, code in rows]


async def revoke_key(ctx: Context, name: str) -> KeyInfo:
    """Revoke ``name`` at once: its next request gets 401. Revoking twice changes nothing."""
    ctx.actor.require(Permission.MASTER_DATA)
    key = await ctx.session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise KeyNotFound(name=name)
    if key.revoked_at is None:
        key.revoked_at = ctx.now()
        audit(ctx, entity="api_key", key=name, action="revoked")
    code = await ctx.session.scalar(select(Customer.code).where(Customer.id == key.customer_id))
    return _info(key, code)


async def authenticate(session: AsyncSession, token: str, *, now: datetime | None = None) -> Actor | None:
    """The actor a bearer token stands for, or None (unknown, malformed or revoked).

    With ``now``, the key's ``last_used_at`` is brought up to date at most once a minute (the
    caller commits)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(token)))
    if key is None or key.revoked_at is not None:
        return None
    if now is not None and (key.last_used_at is None or now - key.last_used_at >= USED_EVERY):
        used = update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
        await session.execute(used.execution_options(synchronize_session=False))
    return actor_of(key)


def actor_of(key: ApiKey) -> Actor:
    return Actor(
        name=f"api:{key.name}",
        roles=frozenset(),
        source="api",
        warehouses=frozenset(key.warehouses or ()),
        customer_id=key.customer_id,
        grants=permissions_for(key.scopes or ()),
        scopes=frozenset(key.scopes or ()),
    )


def _info(key: ApiKey, customer: str | None) -> KeyInfo:
    return KeyInfo(
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes or ()),
        warehouses=list(key.warehouses or ()),
        customer=customer,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )
