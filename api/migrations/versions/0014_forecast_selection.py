"""The model selection a forecast run keeps for the next run of the same options
(``forecasting.selection``): ``forecast_runs.selection``, JSON, null for runs before it and for
fast runs. Only adds a column.

Revision ID: 0014_forecast_selection
Revises: 0013_integration_studies
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_forecast_selection"
down_revision = "0013_integration_studies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.add_column(sa.Column("selection", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_column("selection")
