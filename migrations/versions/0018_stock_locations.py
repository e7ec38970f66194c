"""stock locations (bin or shelf per SKU and warehouse) for pick lists

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stock_level") as batch:
        batch.add_column(sa.Column("location", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock_level") as batch:
        batch.drop_column("location")
