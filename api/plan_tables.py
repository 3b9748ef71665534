"""A done plan's result tables, each stored on its own, column by column (``plan_tables``).

The plan job runner stores a plan's result (``plans.result``, the whole ``Plan.to_dict()``) and,
beside it, each of its tables here (:func:`store_plan_tables`): one row per table with its column
names, its row count and the JSON text of one array per column. A page of a table
(``GET /plans/{id}/tables/{name}``) then reads and parses that table only, and the whole table
(``GET /plans/{id}/tables/{name}/columns``) is sent as it is stored, without being parsed.

Plans whose tables are not here (stored by other means than the runner, e.g. by tests) are read
from their result, as before (:func:`plan_table`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, undefer

from api.models import PlanRecord, PlanTable


def table_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of a table's rows: every key, in the order it first appears."""
    seen: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in seen:
                seen[k] = None
    return list(seen)


def columnar_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Compact JSON text of one array per column (a missing cell is null)."""
    return json.dumps([[r.get(c) for r in rows] for c in columns], separators=(",", ":"), allow_nan=False)


def store_plan_tables(session: Session, plan_id: int, result: dict[str, Any] | None) -> None:
    """Replace the stored tables of plan ``plan_id`` by those of ``result`` (flushes)."""
    session.execute(delete(PlanTable).where(PlanTable.plan_id == plan_id))
    for position, (name, rows) in enumerate(((result or {}).get("tables") or {}).items()):
        rows = rows or []
        columns = table_columns(rows)
        session.add(PlanTable(plan_id=plan_id, name=name, position=position, n_rows=len(rows), columns=columns,
                              data=columnar_text(rows, columns)))
    session.flush()


def stored_counts(session: Session, plan_id: int) -> dict[str, int] | None:
    """The plan's stored tables and their row counts, in the result's order; None when none is stored."""
    rows = session.execute(select(PlanTable.name, PlanTable.n_rows).where(PlanTable.plan_id == plan_id)
                           .order_by(PlanTable.position)).all()
    return {name: n for name, n in rows} if rows else None


@dataclass
class Table:
    """One result table: its columns and rows, or (``text``) the stored JSON of its column arrays."""

    name: str
    columns: list[str]
    total: int
    text: str | None = None
    rows: list[dict[str, Any]] | None = None

    def column_arrays(self) -> list[list[Any]]:
        if self.text is not None:
            return json.loads(self.text)
        return [[r.get(c) for r in self.rows or []] for c in self.columns]

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Rows ``offset`` to ``offset + limit`` as ``{column: value}``."""
        if self.rows is not None:
            return self.rows[offset: offset + limit]
        arrays = [a[offset: offset + limit] for a in self.column_arrays()]
        return [dict(zip(self.columns, values)) for values in zip(*arrays)] if arrays else []


def plan_table(session: Session, plan: PlanRecord, name: str) -> tuple[Table | None, list[str]]:
    """Table ``name`` of a done plan (None when it has none) and the names of its tables. Read
    from ``plan_tables`` when the plan's tables are stored there, else from its result."""
    found = session.scalar(select(PlanTable).where(PlanTable.plan_id == plan.id, PlanTable.name == name)
                           .options(undefer(PlanTable.data)))
    if found is not None:
        return Table(name, list(found.columns), found.n_rows, text=found.data), []
    names = stored_counts(session, plan.id)
    if names is not None:
        return None, list(names)
    tables = (plan.result or {}).get("tables") or {}
    if name not in tables:
        return None, list(tables)
    rows = tables[name] or []
    return Table(name, table_columns(rows), len(rows), rows=rows), list(tables)
