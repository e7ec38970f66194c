"""Who is acting, and what each role may do. Enforced in the services, whatever the entry point."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import N_, DomainError


class Role(StrEnum):
    SALES = "sales"
    APPROVER = "approver"
    MANAGER = "manager"
    WAREHOUSE = "warehouse"
    SERVICE = "service"
    FINANCE = "finance"
    CUSTOMER = "customer"
    PRODUCTION = "production"  # a production lead: releases, starts and finishes work orders
    ADMIN = "admin"


class Permission(StrEnum):
    """What a role may do, named as a refusal says it ("You may not approve or reject orders")."""

    ORDER_CREATE = N_("create orders")
    ORDER_VIEW = N_("view orders")
    ORDER_EDIT = N_("edit or re-validate orders")
    ORDER_APPROVE = N_("approve or reject orders")
    ORDER_CANCEL = N_("cancel orders")
    PAYMENT_CONFIRM = N_("confirm payments")
    FULFIL = N_("pick, pack and ship orders")
    RETURN_REQUEST = N_("request returns")
    RETURN_MANAGE = N_("approve, receive and inspect returns")
    REFUND = N_("refund returns")
    STOCK_VIEW = N_("view stock")
    STOCK_MOVE = N_("receive or adjust stock")
    MASTER_DATA = N_("load master data")
    REPORT_VIEW = N_("view reports")
    CHANNEL_VIEW = N_("view sales channels")
    PRODUCTION = N_("plan and complete work orders")
    WEBHOOK_MANAGE = N_("manage outbound webhooks")


P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SALES: frozenset({P.ORDER_CREATE, P.ORDER_VIEW, P.ORDER_EDIT, P.ORDER_CANCEL, P.RETURN_REQUEST, P.STOCK_VIEW}),
    Role.APPROVER: frozenset({P.ORDER_VIEW, P.ORDER_APPROVE, P.STOCK_VIEW, P.REPORT_VIEW}),
    Role.MANAGER: frozenset(
        {P.ORDER_VIEW, P.ORDER_APPROVE, P.ORDER_CANCEL, P.STOCK_VIEW, P.REPORT_VIEW, P.CHANNEL_VIEW}
    ),
    Role.WAREHOUSE: frozenset({P.ORDER_VIEW, P.FULFIL, P.STOCK_VIEW, P.STOCK_MOVE, P.RETURN_MANAGE}),
    Role.SERVICE: frozenset(
        {
            P.ORDER_VIEW,
            P.ORDER_CREATE,
            P.ORDER_EDIT,
            P.ORDER_CANCEL,
            P.RETURN_REQUEST,
            P.RETURN_MANAGE,
            P.REFUND,
            P.STOCK_VIEW,
            P.CHANNEL_VIEW,
        }
    ),
    Role.FINANCE: frozenset({P.ORDER_VIEW, P.PAYMENT_CONFIRM, P.REFUND, P.ORDER_APPROVE, P.STOCK_VIEW, P.REPORT_VIEW}),
    Role.CUSTOMER: frozenset({P.ORDER_VIEW, P.ORDER_CREATE, P.RETURN_REQUEST}),
    Role.PRODUCTION: frozenset({P.ORDER_VIEW, P.STOCK_VIEW, P.PRODUCTION}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """A user acting through some source (``cli``, ``console:lilei``, ``dingtalk:0123``, ``api``)."""

    name: str
    roles: frozenset[Role]
    source: str
    user_id: int | None = None
    warehouses: frozenset[str] = field(default_factory=frozenset)  # empty = not limited (non-warehouse roles)
    customer_id: int | None = None
    # An API key's own rights (``core.apikeys``): set, they replace what the roles grant; ``scopes``
    # are the key's scope names, for the REST API's checks of resources no permission guards.
    grants: frozenset[Permission] | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls, source: str = "system") -> Actor:
        return cls(name="system", roles=frozenset({Role.ADMIN}), source=source)

    def can(self, permission: Permission) -> bool:
        if self.grants is not None:
            return permission in self.grants
        return any(permission in GRANTS[role] for role in self.roles)

    @property
    def is_key(self) -> bool:
        return self.grants is not None

    @property
    def only_own_orders(self) -> bool:
        """Customers see their own orders and nothing else, even if they hold another role by mistake;
        so does an API key limited to one customer (a customer portal's)."""
        if self.is_key:
            return self.customer_id is not None
        return Role.CUSTOMER in self.roles and not (self.roles - {Role.CUSTOMER})

    @property
    def only_own_warehouses(self) -> bool:
        if self.is_key:
            return bool(self.warehouses)
        wide = {Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES, Role.FINANCE, Role.APPROVER}
        return Role.WAREHOUSE in self.roles and not (self.roles & wide)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(actor=self.name, permission=permission)

    def require_any(self, permissions: Sequence[Permission]) -> None:
        """For an entry point that serves several rights (``/rma``: handling returns or refunding)."""
        if not any(self.can(p) for p in permissions):
            first, *others = permissions
            if not others:
                raise PermissionDenied(actor=self.name, permission=first)
            raise NoneOfPermissions(actor=self.name, permission=first, others=list(others))

    def require_warehouses(self, codes: Collection[str], permission: Permission) -> None:
        """Warehouse staff act only on their own warehouses' stock and orders."""
        self.require(permission)
        if self.only_own_warehouses and not set(codes) & self.warehouses:
            raise NotYourWarehouse(actor=self.name, permission=permission, warehouses=sorted(codes))


# --- refusals: each names the right that is missing -------------------------------------------------


class PermissionDenied(DomainError):
    code = "forbidden"
    template = N_("You may not {permission}.")
    actor: str
    permission: Permission


class NoneOfPermissions(PermissionDenied):
    code = "forbidden_any"
    template = N_("You may not {permission} or {others}.")
    others: list[Permission]


class NotYourWarehouse(PermissionDenied):
    code = "not_your_warehouse"
    template = N_("You may not {permission} in {warehouses}: it is not your warehouse.")
    warehouses: list[str]


class OrderNotInYourWarehouse(PermissionDenied):
    code = "order_not_in_your_warehouse"
    template = N_("You may not {permission} for {order_no}: it is not allocated to your warehouse.")
    order_no: str


class NotYourApprovalStep(PermissionDenied):
    code = "not_your_approval_step"
    template = N_("You may not approve step {step} of {order_no}: it waits for {approver}.")
    order_no: str
    step: int
    approver: Role | str


class OwnAccountOnly(PermissionDenied):
    """A customer orders for their own account only."""

    code = "own_account_only"
    template = N_("You can only order for your own account ({account}).")
    account: str
