"""The CPFR workflow's store (:class:`forecasting.store.CPFRStore`) over the service's database.

One database holds one collaboration: its partners' submissions (``forecast_submissions``, a
version per row), its statistical forecast runs (``forecast_runs``, the finished ones count),
its resolutions and the key columns of its shared history. The routes call
:mod:`forecasting.workflow` on a :class:`DatabaseStore`, as ``jointplan`` calls it on a
directory (:class:`forecasting.store.FileStore`).

Ids: a resolution's domain id is ``R`` and its row id in four digits or more (``R0007``), as the
file store numbers them (:meth:`DatabaseStore.domain_id` / :meth:`DatabaseStore.row_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.errors import commit_next_version
from api.jobs.runners import run_records
from api.models import ForecastRun, ForecastSubmission, ResolutionRecord, User
from api.tables import digest, latest_forecast_run
from forecasting.consensus import Resolution, as_resolution
from forecasting.store import LatestForecasts
from forecasting.submissions import SOURCE_COLUMNS, STATISTICAL, VERSION_COLUMNS, utc

_UNREAD = object()


def stored_rows(data: pd.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """A normalised forecast table (:func:`~forecasting.submissions.normalise_forecast_table`)
    as the rows a submission stores (``unique_id``, ``ds`` as ISO date, ``value``, key columns)
    and its key columns."""
    keys = [c for c in data.columns if c not in ("unique_id", "ds", "value", "p10", "p50", "p90", "method")]
    data = data[["unique_id", "ds", "value", *keys]].copy()
    data["ds"] = pd.to_datetime(data["ds"]).dt.date.astype(str)
    return data.to_dict(orient="records"), keys


def statistical_table(run: ForecastRun) -> pd.DataFrame:
    """A run's forecasts as ``unique_id, ds, p10, p50, p90`` (+ key columns and method)."""
    df = pd.DataFrame.from_records(run.forecasts or [])
    if df.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "p10", "p50", "p90"])
    if "ds" not in df.columns and "date" in df.columns:
        df = df.rename(columns={"date": "ds"})
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def _typed(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["ds"] = pd.to_datetime(out["ds"])
    out["value"] = out["value"].astype(float)
    return out


class DatabaseStore:
    """:class:`~forecasting.store.CPFRStore` over ``session`` (module doc). ``user``: who writes;
    a write names its author, which must be ``user`` or another user of the service."""

    def __init__(self, session: Session, user: User | None = None):
        self.session = session
        self.user = user
        self._run: Any = _UNREAD

    # -- reads
    def latest_run(self) -> ForecastRun | None:
        """The latest finished statistical forecast run with forecasts (read once per store)."""
        if self._run is _UNREAD:
            self._run = latest_forecast_run(self.session)
        return self._run

    def latest_forecasts(self) -> LatestForecasts:
        """Each partner's latest submission and the latest run's P50 (``statistical`` = the run's id)."""
        latest = select(ForecastSubmission.partner_id, func.max(ForecastSubmission.version).label("v")).group_by(
            ForecastSubmission.partner_id).subquery()
        subs = self.session.scalars(select(ForecastSubmission).join(
            latest, (ForecastSubmission.partner_id == latest.c.partner_id) & (ForecastSubmission.version == latest.c.v)
        ).order_by(ForecastSubmission.partner_id))
        frames, versions = [], {}
        for sub in subs:
            frames.append(pd.DataFrame.from_records(sub.rows).assign(source=sub.partner_id)[SOURCE_COLUMNS])
            versions[sub.partner_id] = sub.version
        run = self.latest_run()
        if run is not None:
            stat = statistical_table(run)
            if not stat.empty:
                frames.append(stat.assign(source=STATISTICAL, value=stat["p50"])[SOURCE_COLUMNS])
        return LatestForecasts(_typed(frames, SOURCE_COLUMNS), versions, run.id if run is not None else None)

    def all_versions(self) -> pd.DataFrame:
        """Every submission version and every finished run (numbered 1, 2, ... in order), with
        the time each was made (a run: when it finished)."""
        frames = []
        for sub in self.session.scalars(select(ForecastSubmission).order_by(ForecastSubmission.id)):
            frames.append(pd.DataFrame.from_records(sub.rows).assign(
                source=sub.partner_id, version=sub.version, submitted_at=pd.Timestamp(sub.created_at))[VERSION_COLUMNS])
        runs = self.session.scalars(select(ForecastRun).where(ForecastRun.status == "done", ForecastRun.forecasts.is_not(None))
                                    .order_by(ForecastRun.id)).all()
        for i, run in enumerate(runs, start=1):
            stat = statistical_table(run)
            if not stat.empty:
                frames.append(stat.assign(source=STATISTICAL, version=i, value=stat["p50"],
                                          submitted_at=pd.Timestamp(run.finished_at or run.created_at))[VERSION_COLUMNS])
        return _typed(frames, VERSION_COLUMNS)

    def statistical_forecast(self) -> pd.DataFrame | None:
        run = self.latest_run()
        return statistical_table(run) if run is not None else None

    def statistical_accuracy(self) -> pd.DataFrame | None:
        run = self.latest_run()
        return pd.DataFrame.from_records(run.accuracy) if run is not None and run.accuracy else None

    def resolutions(self) -> list[Resolution]:
        """Every resolution in the order recorded, as the domain's (``ValueError`` for a row that is not one)."""
        rows = self.session.execute(select(ResolutionRecord, User.name).join(User, User.id == ResolutionRecord.author_id)
                                    .order_by(ResolutionRecord.id)).all()
        out = []
        for r, author in rows:
            data = {"id": self.domain_id(r.id), "action": r.action, "unique_id": r.unique_id, "ds": r.periods,
                    "source": r.source, "value": r.value, "rule": r.rule, "reason": r.reason, "author": author,
                    "created_at": r.created_at, "exception_id": r.exception_id}
            out.append(as_resolution({k: v for k, v in data.items() if v is not None}))
        return out

    def key_columns(self) -> list[str] | None:
        """The shared history's key columns (fixed by the collaboration's rules; None before any)."""
        from api.history import key_columns

        return key_columns(self.session)

    # -- writes (each commits)
    def add_submission(self, partner: str, data: pd.DataFrame, rows_in: int, *, author: str, note: str = "",
                       submitted_at: datetime | str | None = None) -> ForecastSubmission:
        """The partner's next version (:func:`api.errors.commit_next_version`: 409 after repeated
        concurrent submissions)."""
        rows, keys = stored_rows(data)
        author_id = self._user_id(author)
        when = {"created_at": utc(submitted_at)} if submitted_at is not None else {}

        def make(version: int) -> ForecastSubmission:
            return ForecastSubmission(partner_id=partner, author_id=author_id, version=version, note=note,
                                      row_count=len(rows), content_hash=digest(rows), keys=keys, rows=rows, **when)

        return commit_next_version(self.session, ForecastSubmission.version, make,
                                   where=[ForecastSubmission.partner_id == partner],
                                   conflict="partner_id: too many concurrent submissions; retry")

    def add_statistical_run(self, forecasts: pd.DataFrame, accuracy: pd.DataFrame | None, *, author: str,
                            submitted_at: datetime | str | None = None) -> ForecastRun:
        """A finished run with these forecasts and backtest table (as the forecast job stores one)."""
        when = utc(submitted_at)
        records = run_records(forecasts, accuracy)
        run = ForecastRun(created_by_id=self._user_id(author), created_at=when, finished_at=when, status="done",
                          params={}, summary={}, **records)
        self.session.add(run)
        self.session.commit()
        self._run = _UNREAD
        return run

    def add_resolution(self, resolution: Resolution) -> Resolution:
        res = as_resolution(resolution)
        author_id = self._user_id(res.author)
        partner_id = self.user.partner_id if self.user is not None and self.user.id == author_id else None
        row = ResolutionRecord(exception_id=res.exception_id, unique_id=res.unique_id,
                               periods=[d.isoformat() for d in res.ds] if res.ds else None, action=res.action,
                               source=res.source, value=res.value, rule=res.rule, reason=res.reason,
                               author_id=author_id, author_partner_id=partner_id, created_at=res.created_at)
        self.session.add(row)
        self.session.commit()
        return res.model_copy(update={"id": self.domain_id(row.id)})

    # -- ids
    @staticmethod
    def domain_id(row_id: int) -> str:
        return f"R{row_id:04d}"

    @staticmethod
    def row_id(resolution: Resolution) -> int:
        return int(str(resolution.id).removeprefix("R"))

    def _user_id(self, name: str) -> int:
        if self.user is not None and self.user.name == name:
            return self.user.id
        found = self.session.scalar(select(User.id).where(User.name == name))
        if found is None:
            raise ValueError(f"author: no user {name!r}")
        return found
