"""API keys: how an ERP, a WMS or a customer portal acts on the OMS without a chat identity.

A key is an actor named ``api:NAME``: its scopes grant the permissions roles grant (``scopes``),
it can be limited to warehouses or to one customer, and everything it does is audited under that
name. Only a hash of the key is stored (``service``).
"""

from core.apikeys.scopes import SCOPES, permissions_for
from core.apikeys.service import authenticate, create_key, list_keys, revoke_key

__all__ = ["SCOPES", "authenticate", "create_key", "list_keys", "permissions_for", "revoke_key"]
