"""A plan's funding at risk (issue 18 part 3): ``funding_at_risk``, one row per run of an
``at_risk`` job on a finished plan. Only adds a table.

Revision ID: 0012_funding_at_risk
Revises: 0011_financing
Create Date: 2026-12-03 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_funding_at_risk"
down_revision = "0011_financing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding_at_risk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_funding_at_risk_plan_id", "funding_at_risk", ["plan_id"])


def downgrade() -> None:
    op.drop_index("ix_funding_at_risk_plan_id", table_name="funding_at_risk")
    op.drop_table("funding_at_risk")
