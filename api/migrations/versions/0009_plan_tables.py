"""Each result table of a done plan stored on its own, column by column: ``plan_tables``.

A page of a table (``GET /plans/{id}/tables/{name}``) used to read and parse the plan's whole
result (every table, megabytes for a big chain) to send 200 rows; now it reads one table, and the
whole table (``GET /plans/{id}/tables/{name}/columns``) is sent as stored. ``plans.result`` keeps
the tables too (the workbook, comparisons and the CLI read it whole). Existing done plans are
backfilled here, one plan at a time.

Revision ID: 0009_plan_tables
Revises: 0008_exception_partners
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009_plan_tables"
down_revision = "0008_exception_partners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "name", name="uq_plan_table_name"),
    )
    op.create_index(op.f("ix_plan_tables_plan_id"), "plan_tables", ["plan_id"], unique=False)
    _backfill()


def _backfill() -> None:
    """The tables of every stored result (the same layout as api.plan_tables.store_plan_tables)."""
    bind = op.get_bind()
    plans = sa.table("plans", sa.column("id", sa.Integer), sa.column("result", sa.JSON))
    target = sa.table("plan_tables", sa.column("plan_id", sa.Integer), sa.column("name", sa.String),
                      sa.column("position", sa.Integer), sa.column("n_rows", sa.Integer),
                      sa.column("columns", sa.JSON), sa.column("data", sa.Text))
    ids = bind.execute(sa.select(plans.c.id).where(plans.c.result.is_not(None)).order_by(plans.c.id)).scalars().all()
    for plan_id in ids:  # one result in memory at a time
        result = bind.execute(sa.select(plans.c.result).where(plans.c.id == plan_id)).scalar()
        if isinstance(result, str):
            result = json.loads(result)
        for position, (name, rows) in enumerate(((result or {}).get("tables") or {}).items()):
            rows = rows or []
            columns: dict[str, None] = {}
            for r in rows:
                columns.update(dict.fromkeys(r))
            names = list(columns)
            data = json.dumps([[r.get(c) for r in rows] for c in names], separators=(",", ":"), allow_nan=False)
            bind.execute(sa.insert(target).values(plan_id=plan_id, name=name, position=position, n_rows=len(rows),
                                                  columns=names, data=data))


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_tables_plan_id"), table_name="plan_tables")
    op.drop_table("plan_tables")
