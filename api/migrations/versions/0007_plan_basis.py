"""Plans keep their solve's final basis: ``plans.basis`` (warm starts of later plans).

The bytes of :meth:`planning.warm.SavedBasis.to_bytes` (zlib-compressed names and statuses; a
MIP's solution instead of a basis). Only adds a nullable column, so it can follow any revision that
leaves the plans table as 0001 made it.

Revision ID: 0007_plan_basis
Revises: 0006_web_sessions
Create Date: 2026-12-04 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_plan_basis"
down_revision = "0006_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (batch mode would recreate the table, refused on SQLite under foreign keys)
    op.add_column("plans", sa.Column("basis", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("plans", "basis")
