"""Shared history where every row has an owner: history_rules (fixed key columns),
history_series (series and owner), history_points (one row per uploaded value, a version),
history_shares (series shared with partners that do not own them); uploads can be retracted.

Existing uploads are moved into the new tables, in upload order:

- the key columns become those of the first upload; an upload with other key columns cannot be
  placed in the fixed key schema: it is marked retracted (``retracted_at`` = migration time,
  ``retracted_by_id`` NULL) and its rows stay in ``data_uploads.rows`` only;
- the partner that first uploaded a series becomes its owner;
- every row of every other upload becomes a point (a version) of its series, including the rows
  another partner sent for a series it does not own: they stay in the lineage but do not count,
  as reads take the latest point of the series' owner only (the owner rule applied).

Revision ID: 0003_history
Revises: 0002_jobs
Create Date: 2026-12-02 19:30:00
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0003_history"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("data_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retracted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_data_uploads_retracted_by", "users", ["retracted_by_id"], ["id"])
    op.create_table(
        "history_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_columns", sa.JSON(), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("from_upload_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["declared_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "history_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.String(length=600), nullable=False),
        sa.Column("key_values", sa.JSON(), nullable=False),
        sa.Column("owner_partner_id", sa.String(length=64), nullable=False),
        sa.Column("owner_declared_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["owner_declared_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id"),
    )
    op.create_index("ix_history_series_owner_partner_id", "history_series", ["owner_partner_id"])
    op.create_table(
        "history_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_pk", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["series_pk"], ["history_series.id"]),
        sa.ForeignKeyConstraint(["upload_id"], ["data_uploads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_history_points_series_date", "history_points", ["series_pk", "date", "id"])
    op.create_index("ix_history_points_upload_id", "history_points", ["upload_id"])
    op.create_table(
        "history_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_pk", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["series_pk"], ["history_series.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_pk", "partner_id", name="uq_history_share"),
    )
    op.create_index("ix_history_shares_series_pk", "history_shares", ["series_pk"])
    op.create_index("ix_history_shares_partner_id", "history_shares", ["partner_id"])
    _move_uploads()


def _move_uploads() -> None:
    """Existing uploads' rows into history_series / history_points (see the module's docstring)."""
    bind = op.get_bind()
    is_sqlite = bind.dialect.name == "sqlite"
    now = datetime.now(timezone.utc)
    stamp = now.replace(tzinfo=None) if is_sqlite else now
    uploads = sa.table("data_uploads", sa.column("id", sa.Integer), sa.column("partner_id", sa.String),
                       sa.column("keys", sa.JSON), sa.column("rows", sa.JSON),
                       sa.column("retracted_at", sa.DateTime(timezone=True)))
    rules = sa.table("history_rules", sa.column("id", sa.Integer), sa.column("key_columns", sa.JSON),
                     sa.column("from_upload_id", sa.Integer), sa.column("updated_at", sa.DateTime(timezone=True)))
    series_t = sa.table("history_series", sa.column("id", sa.Integer), sa.column("series_id", sa.String),
                        sa.column("key_values", sa.JSON), sa.column("owner_partner_id", sa.String),
                        sa.column("created_at", sa.DateTime(timezone=True)),
                        sa.column("updated_at", sa.DateTime(timezone=True)))
    points = sa.table("history_points", sa.column("series_pk", sa.Integer), sa.column("date", sa.Date),
                      sa.column("quantity", sa.Float), sa.column("upload_id", sa.Integer))
    ids = [r[0] for r in bind.execute(sa.select(uploads.c.id).order_by(uploads.c.id))]
    key_columns: list[str] | None = None
    series_pk: dict[str, int] = {}
    next_pk = 1
    for upload_id in ids:  # one upload at a time: memory bounded by the largest upload
        up = bind.execute(sa.select(uploads.c.partner_id, uploads.c["keys"], uploads.c.rows)
                          .where(uploads.c.id == upload_id)).one()
        keys = [str(k) for k in (up.keys or [])]
        if key_columns is None and keys:
            key_columns = keys
            bind.execute(rules.insert().values(id=1, key_columns=keys, from_upload_id=upload_id, updated_at=stamp))
        if not keys or set(keys) != set(key_columns or []):
            bind.execute(uploads.update().where(uploads.c.id == upload_id).values(retracted_at=stamp))
            continue
        new_series, batch = [], []
        for row in up.rows or []:
            values = [str(row.get(k)) for k in key_columns]
            sid = "/".join(values)
            if sid not in series_pk:
                series_pk[sid] = next_pk
                next_pk += 1
                new_series.append({"id": series_pk[sid], "series_id": sid, "key_values": values,
                                   "owner_partner_id": up.partner_id, "created_at": stamp, "updated_at": stamp})
            batch.append({"series_pk": series_pk[sid], "date": date.fromisoformat(str(row["date"])[:10]),
                          "quantity": float(row["quantity"]), "upload_id": upload_id})
        for i in range(0, len(new_series), BATCH):
            bind.execute(series_t.insert(), new_series[i:i + BATCH])
        for i in range(0, len(batch), BATCH):
            bind.execute(points.insert(), batch[i:i + BATCH])
    if not is_sqlite and series_pk:  # explicit ids were inserted: move the sequence past them
        op.execute("SELECT setval(pg_get_serial_sequence('history_series', 'id'), (SELECT MAX(id) FROM history_series))")


def downgrade() -> None:
    op.drop_index("ix_history_shares_partner_id", table_name="history_shares")
    op.drop_index("ix_history_shares_series_pk", table_name="history_shares")
    op.drop_table("history_shares")
    op.drop_index("ix_history_points_upload_id", table_name="history_points")
    op.drop_index("ix_history_points_series_date", table_name="history_points")
    op.drop_table("history_points")
    op.drop_index("ix_history_series_owner_partner_id", table_name="history_series")
    op.drop_table("history_series")
    op.drop_table("history_rules")
    with op.batch_alter_table("data_uploads", schema=None) as batch_op:
        batch_op.drop_constraint("fk_data_uploads_retracted_by", type_="foreignkey")
        batch_op.drop_column("retracted_by_id")
        batch_op.drop_column("retracted_at")
