"""Consensus forecast versions: built from the latest statistical forecast run, the partners'
latest submissions and the recorded resolutions (:func:`forecasting.consensus.build_consensus`).
A partner sees the consensus rows of its own items only, without the trace."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import CONFLICT, NOT_FOUND, commit_next_version
from api.models import ConsensusVersion, ResolutionRecord, User
from api.schemas import Out, PageOf
from api.store import DatabaseStore
from api.tables import actuals_frame, clean_records, partner_items
from forecasting import workflow

router = APIRouter(prefix="/consensus", tags=["consensus"], route_class=StrictJSONRoute)

Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="Consensus version number")]


class ConsensusRequest(BaseModel):
    """Build a new consensus version."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"rule": "weighted", "freq": "M"}]}}
    rule: Literal["weighted", "mean", "median", "max", "min", "statistical"] = Field(
        "weighted", description="Consensus rule where no resolution applies (weighted: by backtested accuracy)")
    freq: Literal["W", "M"] = Field("M", description="Bucket of the shared history used to score past submissions")


class ConsensusRow(BaseModel):
    """One series-period of the consensus."""

    unique_id: str = Field(description="Series")
    ds: str = Field(description="Period start date (ISO)")
    p10: float | None = Field(description="10% quantile [units]")
    p50: float = Field(description="Consensus value [units per period]")
    p90: float | None = Field(description="90% quantile [units]")
    basis: str = Field(description="How it was reached: the rule, accepted:<source> or adjusted")


class ConsensusSummary(Out):
    """A consensus version without its rows."""

    version: int = Field(description="Version number")
    created_at: datetime = Field(description="When it was built [UTC]")
    created_by: str = Field(description="Who built it")
    rule: str = Field(description="Consensus rule")
    forecast_run_id: int | None = Field(description="Statistical forecast run used, if any")
    inputs: dict[str, Any] = Field(description="Submission versions and resolutions used (a partner: its own submissions and the resolutions of exceptions involving it)")
    notes: list[str] = Field(description="Remarks from the build")
    rows: int = Field(description="Series-periods in the version (visible to the caller)")


class ConsensusDetail(ConsensusSummary):
    """A consensus version with its rows (a partner: its items) and, for staff, the trace."""

    items: list[ConsensusRow] = Field(description="The consensus rows")
    trace: list[dict[str, Any]] | None = Field(description="How each value was reached (not shown to partners)")


access.register("POST", "/consensus", {"admin", "planner"})
access.register("GET", "/consensus", access.ALL_ROLES, partner_filtered=True)
access.register("GET", "/consensus/{version}", access.ALL_ROLES, obj="consensus", partner_filtered=True,
                note="a partner sees the rows of its items only")


def summary(cv: ConsensusVersion, session, rows: int, scope: str | None = None,
            mine: set[str] | None = None, created_by: str | None = None) -> dict[str, Any]:
    """The version without its rows; for a partner (``scope``, its items ``mine``) only what
    concerns it: its own submission version, the resolutions of its items, and no note naming
    another source (nothing reveals which other partners submitted, or how often)."""
    out = {c: getattr(cv, c) for c in ("version", "created_at", "rule", "forecast_run_id", "inputs", "notes")}
    out["created_by"] = created_by if created_by is not None else session.get(User, cv.created_by_id).name
    out["rows"] = rows
    if scope is not None:
        inputs = dict(cv.inputs or {})
        submitted = inputs.get("submissions") or {}
        others = [str(k) for k in submitted if k != scope]
        inputs["submissions"] = {k: v for k, v in submitted.items() if k == scope}
        ids = inputs.get("resolutions") or []
        if ids:
            rows_of = session.scalars(select(ResolutionRecord).where(ResolutionRecord.id.in_(ids))).all()
            inputs["resolutions"] = sorted(r.id for r in rows_of if r.unique_id in (mine or set()))
        out["inputs"] = inputs
        out["notes"] = [n for n in (cv.notes or []) if not any(o in str(n) for o in others)]
    return out


@router.post("", response_model=ConsensusDetail, status_code=201, summary="Build a new consensus version",
             responses=CONFLICT)
def create_consensus(body: ConsensusRequest, user: AuthorizedUser, session: SessionDep):
    # the workflow's consensus (forecasting.workflow.run_consensus) on the database, kept as the next version
    store = DatabaseStore(session, user)
    actuals = actuals_frame(session, body.freq)
    try:
        run = workflow.run_consensus(store, rule=body.rule, actuals=actuals)
    except workflow.NoForecasts as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(409, detail=f"consensus cannot be built from the stored forecasts: {exc}") from None
    rows = clean_records(run.result.table.to_dict(orient="records"))
    trace = clean_records(run.result.trace.to_dict(orient="records"))
    inputs = {"submissions": run.sources.versions, "resolutions": [store.row_id(r) for r in run.resolutions],
              "history": run.history}
    cv = commit_next_version(
        session, ConsensusVersion.version,
        lambda version: ConsensusVersion(version=version, created_by_id=user.id, rule=body.rule,
                                         forecast_run_id=run.sources.statistical, inputs=inputs,
                                         notes=list(run.result.notes), rows=rows, trace=trace),
        conflict="too many concurrent consensus builds; retry")
    return {**summary(cv, session, len(rows)), "items": rows, "trace": trace}


@router.get("", response_model=PageOf[ConsensusSummary], summary="List consensus versions (newest first)")
def list_consensus(user: AuthorizedUser, session: SessionDep, page: PageDep):
    total = session.scalar(select(func.count()).select_from(ConsensusVersion))
    scope = access.partner_scope(user)
    # one query for the page, with the author's name; staff get the row counts from the database
    # (the rows and the trace stay there), a partner's count needs the rows of its items
    q = (select(ConsensusVersion, User.name, func.json_array_length(ConsensusVersion.rows))
         .join(User, User.id == ConsensusVersion.created_by_id)
         .order_by(ConsensusVersion.version.desc()).limit(page.limit).offset(page.offset))
    q = q.options(defer(ConsensusVersion.trace), *([defer(ConsensusVersion.rows)] if scope is None else []))
    items = session.execute(q).all()
    mine = partner_items(session, scope) if scope is not None else None
    out = [summary(cv, session, n, created_by=name) if mine is None else
           summary(cv, session, sum(r["unique_id"] in mine for r in cv.rows), scope, mine, created_by=name)
           for cv, name, n in items]
    return {"items": out, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{version}", response_model=ConsensusDetail, summary="One consensus version", responses=NOT_FOUND)
def get_consensus(version: Version, user: AuthorizedUser, session: SessionDep):
    cv = session.scalar(select(ConsensusVersion).where(ConsensusVersion.version == version))
    if cv is None:
        raise access.not_found("consensus version", version)
    scope = access.partner_scope(user)
    if scope is None:
        return {**summary(cv, session, len(cv.rows)), "items": cv.rows, "trace": cv.trace}
    mine = partner_items(session, scope)
    rows = [r for r in cv.rows if r["unique_id"] in mine]
    return {**summary(cv, session, len(rows), scope, mine), "items": rows, "trace": None}
