"""Tables sent to the API (CSV or JSON bodies) and the shared data kept in the database, as the
DataFrames the forecasting code works on.

- :func:`read_body_table`: a CSV body (``text/csv``) or a JSON body ``{"rows": [{column: value}]}``
  as a DataFrame; 422 naming the problem otherwise.
- :func:`history_frame`: the shared sales history (per series and date the latest value of the
  series' owner, :mod:`api.history`), in the long format of :mod:`forecasting.history`.
- :func:`actuals_frame`: that history bucketed as the actuals the forecasts are scored on.
- :func:`latest_forecast_run`: the latest finished statistical forecast run.
- :func:`partner_items`: the series (``unique_id``) a partner sees: those it owns or that are shared with it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import ForecastRun
from forecasting.history import HistoryProblem

from api.history import CSV_TYPES, JSON_TYPE  # noqa: F401  (re-exported)


def field_errors(problems: list[HistoryProblem], prefix: str = "body") -> list[dict[str, Any]]:
    """422 detail entries from the forecasting code's problems (column, message, rows)."""
    out = []
    for p in problems:
        rows = f" (rows {', '.join(map(str, p.rows[:10]))}{' ...' if len(p.rows) > 10 else ''})" if p.rows else ""
        out.append({"field": f"{prefix}.{p.column}", "loc": [prefix, str(p.column)], "msg": f"{p.message}{rows}",
                    "type": "value_error"})
    return out


def unprocessable(field: str, msg: str, *more: str) -> HTTPException:
    """422 with one detail entry per message, all naming ``field``."""
    parts = field.split(".")
    return HTTPException(422, detail=[{"field": field, "loc": parts, "msg": m, "type": "value_error"}
                                      for m in (msg, *more)])


def clean_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DataFrame records as JSON values: dates as ISO days, non-finite floats as None, numpy
    scalars as Python ones."""
    out = []
    for r in records:
        row = {}
        for k, v in r.items():
            if isinstance(v, (pd.Timestamp, datetime)):
                v = pd.Timestamp(v).date().isoformat()
            elif isinstance(v, (float, np.floating)):
                v = float(v) if np.isfinite(v) else None
            elif isinstance(v, np.integer):
                v = int(v)
            row[k] = v
        out.append(row)
    return out


def read_body_table(content_type: str | None, body: bytes, settings: Any = None) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """The table in a request body, its format (``csv``/``json``) and the JSON body's other fields.
    Read by :func:`api.history.parse_table` with the upload limits of ``settings`` (default: the
    service's): 422 naming the field for a bad body, 413 past the row or cell limit."""
    from api.history import Limits, parse_table
    from api.settings import get_settings

    table = parse_table(content_type, body, Limits.of(settings or get_settings()))
    return table.frame, table.format, table.extra


def table_body(description: str, example: list[dict[str, Any]], what: str = "table") -> dict[str, Any]:
    """The OpenAPI request body of a table read by :func:`read_body_table`: CSV with a header row
    (``text/csv``) or JSON ``{"rows": [{column: value}]}`` (the rows of the ``what``);
    ``example``: rows shown in both forms."""
    columns = list(example[0])
    csv = "".join(",".join(str(row[c]) for c in columns) + "\n" for row in [dict(zip(columns, columns)), *example])
    rows_schema = {
        "type": "array", "minItems": 1, "description": "One object per row: column -> value",
        "items": {"type": "object", "minProperties": 1,
                  "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}},
    }
    return {
        "required": True,
        "description": description,
        "content": {
            "text/csv": {"schema": {"type": "string", "description": "CSV with a header row"}, "example": csv},
            "application/json": {
                "schema": {"type": "object", "required": ["rows"], "description": f"The rows of the {what}",
                           "properties": {"rows": rows_schema}},
                "example": {"rows": example},
            },
        },
    }


def digest(obj: Any) -> str:
    """SHA-256 of canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------- reading the store


def history_frame(session: Session, partner_ids: list[str] | None = None) -> pd.DataFrame:
    """Shared sales history: key columns, ``date``, ``quantity``; per series and date the latest
    value of the series' owner from a non-retracted upload (:func:`api.history.history_frame`;
    ``partner_ids``: only the series those partners own)."""
    from api.history import history_frame as frame

    return frame(session, partner_ids)


def latest_forecast_run(session: Session) -> ForecastRun | None:
    """The latest finished statistical forecast run with forecasts, if any."""
    return session.scalar(
        select(ForecastRun).where(ForecastRun.status == "done", ForecastRun.forecasts.is_not(None))
        .order_by(ForecastRun.id.desc()).limit(1)
    )


def partner_items(session: Session, partner_id: str) -> set[str]:
    """Series a partner sees: those it owns and those shared with it (:func:`api.history.partner_items`)."""
    from api.history import partner_items as items

    return items(session, partner_id)


def actuals_frame(session: Session, freq: str) -> pd.DataFrame | None:
    """The shared history bucketed to ``freq`` as ``unique_id, ds, y`` (None when nothing was
    uploaded; :func:`forecasting.workflow.actuals`)."""
    from forecasting.workflow import actuals

    return actuals(history_frame(session), freq=freq)  # type: ignore[arg-type]
