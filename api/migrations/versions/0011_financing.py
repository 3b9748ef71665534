"""Financing requests against confirmed invoices (issue 18 part 2): ``financing_programmes``,
``financing_supplier_limits``, ``financing_requests``, ``financing_items``, ``financing_ledger``,
and the index of a supplier's invoices by issue date (the credit rule's facts). Only adds.

Revision ID: 0011_financing
Revises: 0010_invoices
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_financing"
down_revision = "0010_invoices"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "financing_programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=True),
        sa.Column("advance_rate_micro", sa.BigInteger(), nullable=False),
        sa.Column("rate_micro", sa.BigInteger(), nullable=False),
        sa.Column("day_count", sa.String(length=16), nullable=False),
        sa.Column("fee_micro", sa.BigInteger(), nullable=False),
        sa.Column("max_invoice_age_days", sa.Integer(), nullable=True),
        sa.Column("min_days_to_due", sa.Integer(), nullable=False),
        sa.Column("concentration_micro", sa.BigInteger(), nullable=True),
        sa.Column("programme_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("default_supplier_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("auto_ceiling_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_rule", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("decisions", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_financing_programme_name"),
    )
    op.create_table(
        "financing_supplier_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["financing_programmes.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_financing_limits_prog_partner", "financing_supplier_limits", ["programme_id", "partner_id", "id"])
    op.create_table(
        "financing_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("credit", sa.JSON(), nullable=False),
        sa.Column("advance_date", sa.Date(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["financing_programmes.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_financing_requests_programme_id"), "financing_requests", ["programme_id"])
    op.create_index("ix_financing_requests_supplier", "financing_requests", ["supplier_id", "id"])
    op.create_index("ix_financing_requests_status", "financing_requests", ["status", "id"])
    op.create_table(
        "financing_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("claim_invoice_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("face_minor", sa.BigInteger(), nullable=False),
        sa.Column("advance_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("repaid_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_from", sa.Date(), nullable=True),
        sa.Column("advance_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["financing_requests.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["financing_programmes.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_invoice_id", name="uq_financing_item_claim"),
    )
    op.create_index(op.f("ix_financing_items_request_id"), "financing_items", ["request_id"])
    op.create_index("ix_financing_items_prog_supplier", "financing_items", ["programme_id", "supplier_id", "status"])
    op.create_index("ix_financing_items_prog_status", "financing_items", ["programme_id", "status"])
    op.create_index("ix_financing_items_invoice", "financing_items", ["invoice_id"])
    op.create_index("ix_financing_items_buyer", "financing_items", ["buyer_id", "status"])
    op.create_table(
        "financing_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("debit", sa.String(length=16), nullable=False),
        sa.Column("credit", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["financing_programmes.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["financing_items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_financing_ledger_supplier_prog", "financing_ledger", ["supplier_id", "programme_id", "id"])
    op.create_index("ix_invoices_seller_issue", "invoices", ["seller_id", "issue_date", "currency", "status", "total_minor"])


def downgrade() -> None:
    op.drop_index("ix_invoices_seller_issue", table_name="invoices")
    op.drop_index("ix_financing_ledger_supplier_prog", table_name="financing_ledger")
    op.drop_table("financing_ledger")
    for name in ("ix_financing_items_buyer", "ix_financing_items_invoice", "ix_financing_items_prog_status",
                 "ix_financing_items_prog_supplier", op.f("ix_financing_items_request_id")):
        op.drop_index(name, table_name="financing_items")
    op.drop_table("financing_items")
    for name in ("ix_financing_requests_status", "ix_financing_requests_supplier", op.f("ix_financing_requests_programme_id")):
        op.drop_index(name, table_name="financing_requests")
    op.drop_table("financing_requests")
    op.drop_index("ix_financing_limits_prog_partner", table_name="financing_supplier_limits")
    op.drop_table("financing_supplier_limits")
    op.drop_table("financing_programmes")
