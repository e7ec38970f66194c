"""report indexes: covering range scans for the figures, audit rows by time

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 15:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sales_order_created_totals", "sales_order", ["created_at", "status", "total", "subtotal"], unique=False
    )
    # The covering index starts with order_id, so it replaces the plain one.
    op.create_index(
        "ix_order_line_order_cover",
        "order_line",
        ["order_id", "product_id", "qty", "line_total", "shipped_qty", "returned_qty"],
        unique=False,
    )
    op.drop_index("ix_order_line_order_id", table_name="order_line")
    op.create_index("ix_audit_record_created", "audit_record", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_record_created", table_name="audit_record")
    op.create_index("ix_order_line_order_id", "order_line", ["order_id"], unique=False)
    op.drop_index("ix_order_line_order_cover", table_name="order_line")
    op.drop_index("ix_sales_order_created_totals", table_name="sales_order")
