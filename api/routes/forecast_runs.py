"""Statistical forecast runs over the shared sales history, run as background jobs.

``POST /forecast-runs`` answers at once: 202 with ``Location: /forecast-runs/{id}`` to poll. The
run forecasts every series of the uploaded history (``forecasting.engine.forecast_panel``: a
model competition on a rolling-origin backtest, or one method per series class with ``fast``);
the consensus uses the latest finished run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep, SettingsDep
from api.errors import NOT_FOUND, _resp
from api.jobs import queue
from api.jobs.model import Job, JobKind
from api.jobs.runners import ForecastRunOptions
from api.models import DataUpload, ForecastRun, PartnerRecord
from api.routes.jobs import JobPublic, job_public
from api.schemas import PageOf

router = APIRouter(prefix="/forecast-runs", tags=["forecast runs"], route_class=StrictJSONRoute)

RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Forecast run id")]
STAFF = {"admin", "planner", "finance"}
NOT_READY = {409: _resp("The run has no result yet (queued or running), or its job failed or was cancelled")}
Status = Literal["queued", "running", "done", "failed", "cancelled"]


class ForecastRunPublic(BaseModel):
    """A forecast run: its options, its job's progress and, when done, the summary."""

    id: int = Field(description="Forecast run id")
    status: Status = Field(description="Status of its job")
    params: dict[str, Any] = Field(description="Options it runs with (ForecastRunOptions)")
    job: JobPublic | None = Field(description="The job running it")
    created_at: datetime = Field(description="When it was asked for [UTC]")
    finished_at: datetime | None = Field(description="When its result was stored [UTC]")
    summary: dict[str, Any] | None = Field(description="When done: series, classes, wins per method, mean MASE of the "
                                                       "selected models vs seasonal naive, cleaning notes, timings")
    forecast_rows: int | None = Field(description="Rows of forecasts (GET /forecast-runs/{id}/forecasts)")
    accuracy_rows: int | None = Field(description="Rows of backtest accuracy (GET /forecast-runs/{id}/accuracy)")


class RowsPage(BaseModel):
    """One page of a run's rows."""

    run_id: int = Field(description="Forecast run id")
    items: list[dict[str, Any]] = Field(description="Rows: forecasts (unique_id, keys, ds, p10, p50, p90, method) or "
                                                    "accuracy (unique_id, model, mase, wape, bias, selected, pooled ...)")
    total: int = Field(description="Rows matching")
    limit: int = Field(description="Page size used")
    offset: int = Field(description="Rows skipped before this page")


access.register("POST", "/forecast-runs", {"admin", "planner"})
access.register("GET", "/forecast-runs", STAFF, note="partners see the consensus of their items instead")
access.register("GET", "/forecast-runs/{run_id}", STAFF, obj="forecast_run")
access.register("GET", "/forecast-runs/{run_id}/forecasts", STAFF, obj="forecast_run")
access.register("GET", "/forecast-runs/{run_id}/accuracy", STAFF, obj="forecast_run")


def run_public(session, run: ForecastRun, *, counts: bool = True) -> ForecastRunPublic:
    job = session.get(Job, run.job_id) if run.job_id else None
    return ForecastRunPublic(
        id=run.id, status=run.status, params=run.params or {}, job=job_public(job) if job else None,
        created_at=run.created_at, finished_at=run.finished_at, summary=run.summary if run.status == "done" else None,
        forecast_rows=len(run.forecasts) if counts and run.forecasts is not None else None,
        accuracy_rows=len(run.accuracy) if counts and run.accuracy is not None else None,
    )


def _field_error(field: str, msg: str) -> HTTPException:
    return HTTPException(422, detail=[{"field": field, "loc": field.split("."), "msg": msg, "type": "value_error"}])


@router.post("", response_model=ForecastRunPublic, status_code=202, summary="Start a forecast run",
             responses={202: {"description": "Queued: poll the Location"},
                        404: _resp("A partner named in partner_ids does not exist (the detail names it)"),
                        409: _resp("No sales history has been uploaded (by those partners)")})
def create_run(body: ForecastRunOptions, user: AuthorizedUser, session: SessionDep, settings: SettingsDep,
               request: Request, response: Response):
    if body.horizon > settings.max_horizon_periods:
        raise _field_error("body.horizon", f"at most {settings.max_horizon_periods} periods (JOINTPLAN_MAX_HORIZON_PERIODS)")
    if body.partner_ids is not None:
        known = set(session.scalars(select(PartnerRecord.id).where(PartnerRecord.id.in_(body.partner_ids))))
        for i, p in enumerate(body.partner_ids):
            if p not in known:
                raise HTTPException(404, detail=[{"field": f"body.partner_ids.{i}", "loc": ["body", "partner_ids", i],
                                                  "msg": f"no partner {p!r}", "type": "not_found"}])
    q = select(func.count(DataUpload.id)).where(DataUpload.retracted_at.is_(None))
    if body.partner_ids is not None:
        q = q.where(DataUpload.partner_id.in_(body.partner_ids))
    if not session.scalar(q):
        raise HTTPException(409, detail=[{
            "field": "body.partner_ids", "loc": ["body", "partner_ids"], "type": "no_history",
            "msg": "no sales history uploaded" + (" by these partners" if body.partner_ids else "")
                   + ": upload history first (POST /uploads)"}])
    params = body.model_dump(mode="json")
    run = ForecastRun(created_by_id=user.id, status="queued", params=params)
    session.add(run)
    session.commit()
    job, _ = queue.enqueue(request.app.state.engine, JobKind.forecast.value,
                           {"forecast_run_id": run.id, "options": params}, created_by=user.id)
    run.job_id = job.id
    session.commit()
    response.headers["Location"] = f"/forecast-runs/{run.id}"
    return run_public(session, run)


@router.get("", response_model=PageOf[ForecastRunPublic], summary="List forecast runs (newest first)")
def list_runs(user: AuthorizedUser, session: SessionDep, page: PageDep,
              status: Annotated[Status | None, Query(description="Only runs in this status")] = None):
    q = select(ForecastRun)
    if status is not None:
        q = q.where(ForecastRun.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    runs = session.scalars(q.options(defer(ForecastRun.forecasts), defer(ForecastRun.accuracy))
                           .order_by(ForecastRun.id.desc()).limit(page.limit).offset(page.offset)).all()
    return {"items": [run_public(session, r, counts=False) for r in runs], "total": total, "limit": page.limit,
            "offset": page.offset}


def _run_or_404(session, run_id: int) -> ForecastRun:
    run = session.get(ForecastRun, run_id)
    if run is None:
        raise access.not_found("forecast run", run_id)
    return run


@router.get("/{run_id}", response_model=ForecastRunPublic, summary="A forecast run: status, progress, summary",
            responses=NOT_FOUND)
def get_run(run_id: RunId, user: AuthorizedUser, session: SessionDep):
    return run_public(session, _run_or_404(session, run_id))


def _rows(session, run_id: int, attr: str, unique_id: str | None, page) -> RowsPage:
    run = _run_or_404(session, run_id)
    rows = getattr(run, attr)
    if run.status != "done" or rows is None:
        raise HTTPException(409, detail=f"forecast run {run_id} has no result: its job is {run.status}")
    if unique_id is not None:
        rows = [r for r in rows if r.get("unique_id") == unique_id]
    return RowsPage(run_id=run_id, items=rows[page.offset: page.offset + page.limit], total=len(rows),
                    limit=page.limit, offset=page.offset)


UniqueId = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$",
                                       description="Only this series (keys joined by '/', e.g. widget/store-north)")]


@router.get("/{run_id}/forecasts", response_model=RowsPage, summary="The run's forecasts, paged",
            responses={**NOT_FOUND, **NOT_READY})
def get_forecasts(run_id: RunId, user: AuthorizedUser, session: SessionDep, page: PageDep, unique_id: UniqueId = None):
    return _rows(session, run_id, "forecasts", unique_id, page)


@router.get("/{run_id}/accuracy", response_model=RowsPage, summary="The run's backtest accuracy, paged",
            responses={**NOT_FOUND, **NOT_READY})
def get_accuracy(run_id: RunId, user: AuthorizedUser, session: SessionDep, page: PageDep, unique_id: UniqueId = None):
    return _rows(session, run_id, "accuracy", unique_id, page)
