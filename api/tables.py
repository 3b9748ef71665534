"""Tables sent to the API (CSV or JSON bodies) and the shared data kept in the database, as the
DataFrames the forecasting code works on.

- :func:`read_body_table`: a CSV body (``text/csv``) or a JSON body ``{"rows": [{column: value}]}``
  as a DataFrame; 422 naming the problem otherwise.
- :func:`history_frame`: the shared sales history (per series and date the latest value of the
  series' owner, :mod:`api.history`), in the long format of :mod:`forecasting.history`.
- :func:`latest_sources`: each partner's latest submission (and the latest finished statistical
  forecast run) as ``unique_id, ds, source, value``.
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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import ForecastRun, ForecastSubmission
from forecasting.history import HistoryProblem
from forecasting.submissions import STATISTICAL

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


def digest(obj: Any) -> str:
    """SHA-256 of canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------- reading the store


def history_keys(session: Session) -> list[str]:
    """Key columns of the shared history (fixed by the collaboration's rules; [] before any)."""
    from api.history import key_columns

    return key_columns(session) or []


def history_frame(session: Session, partner_ids: list[str] | None = None) -> pd.DataFrame:
    """Shared sales history: key columns, ``date``, ``quantity``; per series and date the latest
    value of the series' owner from a non-retracted upload (:func:`api.history.history_frame`;
    ``partner_ids``: only the series those partners own)."""
    from api.history import history_frame as frame

    return frame(session, partner_ids)


def latest_submissions(session: Session) -> list[ForecastSubmission]:
    """Each partner's latest submission."""
    latest = select(ForecastSubmission.partner_id, func.max(ForecastSubmission.version).label("v")).group_by(
        ForecastSubmission.partner_id).subquery()
    q = select(ForecastSubmission).join(
        latest, (ForecastSubmission.partner_id == latest.c.partner_id) & (ForecastSubmission.version == latest.c.v)
    ).order_by(ForecastSubmission.partner_id)
    return list(session.scalars(q))


def latest_forecast_run(session: Session) -> ForecastRun | None:
    """The latest finished statistical forecast run with forecasts, if any."""
    return session.scalar(
        select(ForecastRun).where(ForecastRun.status == "done", ForecastRun.forecasts.is_not(None))
        .order_by(ForecastRun.id.desc()).limit(1)
    )


def statistical_table(run: ForecastRun) -> pd.DataFrame:
    """A run's forecasts as ``unique_id, ds, p10, p50, p90``."""
    df = pd.DataFrame.from_records(run.forecasts or [])
    if df.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "p10", "p50", "p90"])
    if "ds" not in df.columns and "date" in df.columns:
        df = df.rename(columns={"date": "ds"})
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def latest_sources(session: Session) -> tuple[pd.DataFrame, dict[str, Any], ForecastRun | None]:
    """Long ``unique_id, ds, source, value`` of the latest submissions and statistical run, the
    inputs used (partner -> version) and the run."""
    frames, used = [], {}
    for sub in latest_submissions(session):
        df = pd.DataFrame.from_records(sub.rows)
        frames.append(df.assign(source=sub.partner_id)[["unique_id", "ds", "source", "value"]])
        used[sub.partner_id] = sub.version
    run = latest_forecast_run(session)
    if run is not None:
        stat = statistical_table(run)
        if not stat.empty:
            frames.append(stat.assign(source=STATISTICAL, value=stat["p50"])[["unique_id", "ds", "source", "value"]])
    if not frames:
        return pd.DataFrame(columns=["unique_id", "ds", "source", "value"]), used, run
    out = pd.concat(frames, ignore_index=True)
    out["ds"] = pd.to_datetime(out["ds"])
    out["value"] = out["value"].astype(float)
    return out, used, run


def partner_items(session: Session, partner_id: str) -> set[str]:
    """Series a partner sees: those it owns and those shared with it (:func:`api.history.partner_items`)."""
    from api.history import partner_items as items

    return items(session, partner_id)


def all_versions(session: Session) -> pd.DataFrame:
    """Every submission version and finished statistical run: ``unique_id, ds, source, version,
    submitted_at, value`` (what :mod:`forecasting.fva` scores past forecasts on)."""
    frames = []
    for sub in session.scalars(select(ForecastSubmission).order_by(ForecastSubmission.id)):
        df = pd.DataFrame.from_records(sub.rows)
        frames.append(df.assign(source=sub.partner_id, version=sub.version, submitted_at=pd.Timestamp(sub.created_at))
                      [["unique_id", "ds", "source", "version", "submitted_at", "value"]])
    runs = session.scalars(select(ForecastRun).where(ForecastRun.status == "done", ForecastRun.forecasts.is_not(None))
                           .order_by(ForecastRun.id)).all()
    for i, run in enumerate(runs, start=1):
        stat = statistical_table(run)
        if not stat.empty:
            frames.append(stat.assign(source=STATISTICAL, version=i, value=stat["p50"],
                                      submitted_at=pd.Timestamp(run.finished_at or run.created_at))
                          [["unique_id", "ds", "source", "version", "submitted_at", "value"]])
    if not frames:
        return pd.DataFrame(columns=["unique_id", "ds", "source", "version", "submitted_at", "value"])
    out = pd.concat(frames, ignore_index=True)
    out["ds"] = pd.to_datetime(out["ds"])
    out["value"] = out["value"].astype(float)
    return out


def actuals_frame(session: Session, freq: str) -> pd.DataFrame | None:
    """The shared history bucketed to ``freq`` as ``unique_id, ds, y`` (None when nothing was uploaded)."""
    from forecasting.history import HistorySpec, prepare_history

    hist = history_frame(session)
    if hist.empty:
        return None
    keys = [c for c in hist.columns if c not in ("date", "quantity")]
    actuals, _ = prepare_history(hist, HistorySpec(keys=keys), freq=freq, gaps="zero")  # type: ignore[arg-type]
    return actuals[["unique_id", "ds", "y"]]
