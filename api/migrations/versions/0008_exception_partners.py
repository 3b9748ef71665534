"""Exceptions' partners as rows: ``exception_partners(exception_id, partner_id)``.

``cpfr_exceptions.partners`` is a JSON list, which no portable SQL can filter by, so
``GET /exceptions`` used to read every exception to apply a partner's scope. The same partners
are now rows too (kept equal to the JSON list by :mod:`api.models`), indexed by partner, and this
migration fills them in from the JSON list of the exceptions already stored. Only adds a table.

Revision ID: 0008_exception_partners
Revises: 0007_plan_basis
Create Date: 2026-12-05 05:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008_exception_partners"
down_revision = "0007_plan_basis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    links = op.create_table(
        "exception_partners",
        sa.Column("exception_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["exception_id"], ["cpfr_exceptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exception_id", "partner_id"),
    )
    op.create_index("ix_exception_partners_partner", "exception_partners", ["partner_id", "exception_id"])
    # backfill from the JSON lists (a JSON column comes back as text on some drivers)
    exceptions = sa.table("cpfr_exceptions", sa.column("id", sa.String()), sa.column("partners", sa.JSON()))
    rows = []
    for ident, partners in op.get_bind().execute(sa.select(exceptions.c.id, exceptions.c.partners)):
        if isinstance(partners, str):
            partners = json.loads(partners)
        rows.extend({"exception_id": ident, "partner_id": str(p)} for p in sorted({str(p) for p in partners or []}))
    if rows:
        op.bulk_insert(links, rows)


def downgrade() -> None:
    op.drop_index("ix_exception_partners_partner", table_name="exception_partners")
    op.drop_table("exception_partners")
