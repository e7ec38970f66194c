"""make to order: bills of materials, work orders and their material reservations

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # work order numbers (see core.orders.numbering)
        op.execute(sa.schema.CreateSequence(sa.Sequence("work_order_no_seq", start=100001)))
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("make_to_order", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "bom_component",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("qty", core.db.base.Measure(), nullable=False),
        sa.Column("scrap_rate", core.db.base.Measure(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_bom_component_qty_positive")),
        sa.CheckConstraint("scrap_rate >= 0 AND scrap_rate < 1", name=op.f("ck_bom_component_scrap_rate_range")),
        sa.ForeignKeyConstraint(["component_id"], ["product.id"], name=op.f("fk_bom_component_component_id_product")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_bom_component_product_id_product"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("product_id", "component_id", name=op.f("pk_bom_component")),
    )
    op.create_table(
        "work_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mo_no", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_work_order_qty_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], name=op.f("fk_work_order_order_id_sales_order")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_line.id"], name=op.f("fk_work_order_order_line_id_order_line")
        ),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_work_order_product_id_product")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"], name=op.f("fk_work_order_warehouse_id_warehouse")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order")),
        sa.UniqueConstraint("mo_no", name=op.f("uq_work_order_mo_no")),
    )
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_order_status"), ["status"], unique=False)

    op.create_table(
        "work_order_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("made", sa.Integer(), nullable=False),
        sa.CheckConstraint("made >= 0", name=op.f("ck_work_order_material_made_non_negative")),
        sa.CheckConstraint("required >= 0", name=op.f("ck_work_order_material_required_non_negative")),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= required", name=op.f("ck_work_order_material_reserved_within_required")
        ),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_work_order_material_product_id_product")),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_work_order_material_work_order_id_work_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_material")),
    )
    with op.batch_alter_table("work_order_material", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_material_work_order_id"), ["work_order_id"], unique=False)

    op.create_table(
        "work_order_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_work_order_reservation_qty_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_work_order_reservation_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouse.id"], name=op.f("fk_work_order_reservation_warehouse_id_warehouse")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_work_order_reservation_work_order_id_work_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_reservation")),
    )
    with op.batch_alter_table("work_order_reservation", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_reservation_order_status", ["work_order_id", "status"], unique=False)
        batch_op.create_index("ix_work_order_reservation_product_status", ["product_id", "status"], unique=False)

    with op.batch_alter_table("purchase_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_order_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_purchase_request_work_order_id"), ["work_order_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_purchase_request_work_order_id_work_order"), "work_order", ["work_order_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("purchase_request", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_purchase_request_work_order_id_work_order"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_purchase_request_work_order_id"))
        batch_op.drop_column("work_order_id")
    op.drop_table("work_order_reservation")
    op.drop_table("work_order_material")
    op.drop_table("work_order")
    op.drop_table("bom_component")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("make_to_order")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("work_order_no_seq")))
