"""Partners can be disabled: ``partners.disabled`` (a disabled partner's users are refused).

Only adds a column, so it can follow any revision that leaves the partners table as 0001 made it.

Revision ID: 0004_partner_disabled
Revises: 0002_jobs
Create Date: 2026-12-02 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_partner_disabled"
down_revision = "0003_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: batch mode would recreate the table on SQLite, which fails once other
    # tables' rows point at partners
    op.add_column("partners", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite >= 3.35 has it): batch mode would recreate the table, which
    # SQLite refuses while other tables' foreign keys point at partners
    op.drop_column("partners", "disabled")
