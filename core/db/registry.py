"""Imports every model module so ``Base.metadata`` is complete (for Alembic and tests)."""

from core import idempotency as _idempotency  # noqa: F401
from core import inbound as _inbound  # noqa: F401
from core.access import models as _access  # noqa: F401
from core.apikeys import models as _apikeys  # noqa: F401
from core.audit import models as _audit  # noqa: F401
from core.catalog import models as _catalog  # noqa: F401
from core.channels import models as _channels  # noqa: F401
from core.contracts import models as _contracts  # noqa: F401
from core.customers import models as _customers  # noqa: F401
from core.db import stamp as _stamp  # noqa: F401  (the config stamp advances with every write of a watched table)
from core.db.base import Base
from core.inventory import models as _inventory  # noqa: F401
from core.orders import approvals as _approvals  # noqa: F401
from core.orders import models as _orders  # noqa: F401
from core.pricing import models as _pricing  # noqa: F401
from core.production import models as _production  # noqa: F401
from core.rebates import models as _rebates  # noqa: F401
from core.shipping import models as _shipping  # noqa: F401
from core.timers import models as _timers  # noqa: F401
from core.users import models as _users  # noqa: F401
from core.webhooks import models as _webhooks  # noqa: F401

metadata = Base.metadata
