"""Who is acting, and what each role may do. Enforced in the services, whatever the entry point."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from core.errors import PermissionDenied


class Role(StrEnum):
    SALES = "sales"
    APPROVER = "approver"
    MANAGER = "manager"
    WAREHOUSE = "warehouse"
    SERVICE = "service"
    FINANCE = "finance"
    CUSTOMER = "customer"
    ADMIN = "admin"


class Permission(StrEnum):
    ORDER_CREATE = "create orders"
    ORDER_VIEW = "view orders"
    ORDER_EDIT = "edit or re-validate orders"
    ORDER_APPROVE = "approve or reject orders"
    ORDER_CANCEL = "cancel orders"
    PAYMENT_CONFIRM = "confirm payments"
    FULFIL = "pick, pack and ship orders"
    RETURN_REQUEST = "request returns"
    RETURN_MANAGE = "approve, receive and inspect returns"
    REFUND = "refund returns"
    STOCK_VIEW = "view stock"
    STOCK_MOVE = "receive or adjust stock"
    MASTER_DATA = "load master data"


P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SALES: frozenset({P.ORDER_CREATE, P.ORDER_VIEW, P.ORDER_EDIT, P.ORDER_CANCEL, P.RETURN_REQUEST, P.STOCK_VIEW}),
    Role.APPROVER: frozenset({P.ORDER_VIEW, P.ORDER_APPROVE, P.STOCK_VIEW}),
    Role.MANAGER: frozenset({P.ORDER_VIEW, P.ORDER_APPROVE, P.ORDER_CANCEL, P.STOCK_VIEW}),
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
        }
    ),
    Role.FINANCE: frozenset({P.ORDER_VIEW, P.PAYMENT_CONFIRM, P.REFUND, P.ORDER_APPROVE, P.STOCK_VIEW}),
    Role.CUSTOMER: frozenset({P.ORDER_VIEW, P.ORDER_CREATE, P.RETURN_REQUEST}),
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

    @classmethod
    def system(cls, source: str = "system") -> Actor:
        return cls(name="system", roles=frozenset({Role.ADMIN}), source=source)

    def can(self, permission: Permission) -> bool:
        return any(permission in GRANTS[role] for role in self.roles)

    @property
    def only_own_orders(self) -> bool:
        """Customers see their own orders and nothing else, even if they hold another role by mistake."""
        return Role.CUSTOMER in self.roles and not (self.roles - {Role.CUSTOMER})

    @property
    def only_own_warehouses(self) -> bool:
        wide = {Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES, Role.FINANCE, Role.APPROVER}
        return Role.WAREHOUSE in self.roles and not (self.roles & wide)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(actor=self.name, permission=permission.value)

    def require_warehouses(self, codes: Collection[str], permission: Permission) -> None:
        """Warehouse staff act only on their own warehouses' stock and orders."""
        self.require(permission)
        if self.only_own_warehouses and not set(codes) & self.warehouses:
            where = ", ".join(sorted(codes)) or "no warehouse"
            raise PermissionDenied(
                f"{self.name} may not {permission.value} for {where}: not their warehouse.",
                actor=self.name,
                permission=permission.value,
            )
