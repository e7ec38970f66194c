"""distributor pricing and rebates: group and customer price lists, rebate agreements, their
ledger, credit notes and the credit orders use; chat cards about no order (a credit note)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:17:47.874570
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("credit_note_no_seq", start=100001)))
    op.create_table(
        "rebate_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("customer_group", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("product_line", sa.String(length=64), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (customer_group IS NULL)", name=op.f("ck_rebate_agreement_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_rebate_agreement_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebate_agreement")),
        sa.UniqueConstraint("customer_group", name=op.f("uq_rebate_agreement_customer_group")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_rebate_agreement_customer_id")),
        sa.UniqueConstraint("name", name=op.f("uq_rebate_agreement_name")),
    )
    op.create_table(
        "credit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_no", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("net_sales", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("rate", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("amount", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_note_amount_positive")),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["rebate_agreement.id"], name=op.f("fk_credit_note_agreement_id_rebate_agreement")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_credit_note_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note")),
        sa.UniqueConstraint("note_no", name=op.f("uq_credit_note_note_no")),
    )
    with op.batch_alter_table("credit_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_note_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "credit_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("created_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_use_amount_positive")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_credit_use_customer_id_customer")),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], name=op.f("fk_credit_use_order_id_sales_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_use")),
        sa.UniqueConstraint("order_id", name=op.f("uq_credit_use_order_id")),
    )
    with op.batch_alter_table("credit_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_use_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "rebate_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("net_sales", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("rebate", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("rate", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("period_net", core.db.base.Money(precision=14, scale=2), nullable=False),
        sa.Column("booked_at", core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["rebate_agreement.id"], name=op.f("fk_rebate_entry_agreement_id_rebate_agreement")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_rebate_entry_customer_id_customer")),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], name=op.f("fk_rebate_entry_order_id_sales_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebate_entry")),
        sa.UniqueConstraint("key", name=op.f("uq_rebate_entry_key")),
    )
    with op.batch_alter_table("rebate_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rebate_entry_customer_period", ["customer_id", "agreement_id", "period_start"], unique=False
        )

    with op.batch_alter_table("chat_card", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.INTEGER(), nullable=True)

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_group", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_customer_customer_group"), ["customer_group"], unique=False)

    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_group", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_price_list_customer_id_customer"), "customer", ["customer_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_price_list_customer_id_customer"), type_="foreignkey")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("customer_group")

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_customer_group"))
        batch_op.drop_column("customer_group")

    with op.batch_alter_table("chat_card", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("rebate_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_rebate_entry_customer_period")

    op.drop_table("rebate_entry")
    with op.batch_alter_table("credit_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_use_customer_id"))

    op.drop_table("credit_use")
    with op.batch_alter_table("credit_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_customer_id"))

    op.drop_table("credit_note")
    op.drop_table("rebate_agreement")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("credit_note_no_seq")))
