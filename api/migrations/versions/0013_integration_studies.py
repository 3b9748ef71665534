"""The value-of-integration study (issue 21): ``integration_studies``, one row per run of an
``integration`` job on a scenario version. Only adds a table.

Revision ID: 0013_integration_studies
Revises: 0012_funding_at_risk
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_integration_studies"
down_revision = "0012_funding_at_risk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_version_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["scenario_version_id"], ["scenario_versions.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_integration_studies_scenario_version_id", "integration_studies", ["scenario_version_id"])


def downgrade() -> None:
    op.drop_index("ix_integration_studies_scenario_version_id", table_name="integration_studies")
    op.drop_table("integration_studies")
