"""History points carry ``current``: the point that counts for its (series, date).

A (series, date) counts its latest point (highest id) from a non-retracted upload by the series'
owner. Reads used to find it with a grouping over every stored version; the flag, kept on each
upload, retraction and owner change, lets them read the current points straight from a partial
index. The migration computes the flag for the stored points.

Revision ID: 0005_history_current
Revises: 0004_partner_disabled
Create Date: 2026-12-03 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_history_current"
down_revision = "0004_partner_disabled"
branch_labels = None
depends_on = None

CURRENT_IDS = """
SELECT max(p.id) FROM history_points p
JOIN data_uploads u ON u.id = p.upload_id
JOIN history_series s ON s.id = p.series_pk
WHERE u.retracted_at IS NULL AND u.partner_id = s.owner_partner_id
GROUP BY p.series_pk, p.date
"""


def upgrade() -> None:
    # plain ADD COLUMN (batch mode would recreate the table, refused on SQLite under foreign keys)
    op.add_column("history_points", sa.Column("current", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(f"UPDATE history_points SET current = {'true' if op.get_bind().dialect.name == 'postgresql' else '1'} "
               f"WHERE id IN ({CURRENT_IDS})")
    op.create_index("ix_history_points_current", "history_points", ["series_pk", "date"],
                    postgresql_where=sa.text("current"), sqlite_where=sa.text("current = 1"))


def downgrade() -> None:
    op.drop_index("ix_history_points_current", table_name="history_points")
    op.drop_column("history_points", "current")
