"""A scenario's value-of-integration study (``finance.integration_value``), computed as a
background job.

``POST /scenarios/{scenario_id}/value-of-integration`` answers at once: 202 with ``Location:
/scenarios/{scenario_id}/value-of-integration/{study_id}`` to poll (its job's progress counts the
grid points done and says each point's seconds); the same grid on the same version returns the
earlier study (200 when done). When done, the study holds a row per grid point (plan-then-fund
and joint chain profit after financing, the difference, fill rates, whether plan-then-fund could
be funded, the checks joint >= sequential and cash conserved, seconds) and a summary. Staff only:
the figures hold every partner's cash, as a plan does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, SessionDep, SettingsDep
from api.errors import NOT_FOUND, _resp
from api.jobs import queue
from api.jobs.model import Job, JobKind
from api.jobs.runners import IntegrationOptions, integration_time_limit
from api.models import IntegrationStudyRecord, ScenarioVersion
from api.routes.jobs import JobPublic, job_public
from api.routes.scenarios import ScenarioId, get_version

router = APIRouter(prefix="/scenarios", tags=["funding"], route_class=StrictJSONRoute)

StudyId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Value-of-integration study id")]
STAFF = {"admin", "planner", "finance"}
Status = Literal["queued", "running", "done", "failed", "cancelled"]


class IntegrationPublic(BaseModel):
    """A value-of-integration study of a scenario version: its grid, its job's progress and, when
    done, a row per grid point and the summary."""

    id: int = Field(description="Value-of-integration study id")
    scenario_id: int = Field(description="The scenario it is of")
    version: int = Field(description="The scenario version it is of")
    status: Status = Field(description="Status of its job")
    params: dict[str, Any] = Field(description="Grid and options it runs with (IntegrationOptions)")
    job: JobPublic | None = Field(description="The job computing it")
    created_at: datetime = Field(description="When it was asked for [UTC]")
    finished_at: datetime | None = Field(description="When its result was stored [UTC]")
    currency: str | None = Field(description="When done: currency of every amount")
    settings: dict[str, Any] | None = Field(
        description="When done: the grid, the buyer whose terms vary, the credit lines the grid sets, units")
    summary: dict[str, Any] | None = Field(
        description="When done: points, sequential_not_funded, joint_strictly_better, largest_gain (and where), "
                    "joint_not_worse_everywhere, conserved_everywhere, warm_started_joint")
    rows: list[dict[str, Any]] | None = Field(
        description="When done, per grid point: demand, buyer_terms, rate, limit_share, peak_need, credit_limit, "
                    "sequential_* and joint_* (status, funded, chain_profit, operating_profit, financing_cost, "
                    "fill_rate), gain, joint_not_worse, conserved, seconds")
    timings: dict[str, Any] | None = Field(description="When done: setup, points and per-point seconds")


access.register("POST", "/scenarios/{scenario_id}/value-of-integration", STAFF, obj="scenario")
access.register("GET", "/scenarios/{scenario_id}/value-of-integration/{study_id}", STAFF, obj="scenario")


def integration_public(session, study: IntegrationStudyRecord, version: ScenarioVersion) -> IntegrationPublic:
    job = session.get(Job, study.job_id) if study.job_id else None
    done = study.status == "done" and study.result is not None
    r = study.result or {}
    return IntegrationPublic(
        id=study.id, scenario_id=version.scenario_id, version=version.version, status=study.status,
        params=study.params or {}, job=job_public(job) if job else None, created_at=study.created_at,
        finished_at=study.finished_at, currency=r.get("currency") if done else None,
        settings=r.get("settings") if done else None, summary=r.get("summary") if done else None,
        rows=r.get("rows") if done else None, timings=r.get("timings") if done else None,
    )


def _field_error(field: str, msg: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail=[{"field": field, "loc": field.split("."), "msg": msg, "type": "value_error"}])


def _check_grid(content: dict[str, Any], body: IntegrationOptions) -> None:
    """The grid against the scenario (terms within the horizon, a known buyer, at most
    finance.integration_value.MAX_POINTS points): 422 naming the field."""
    from finance.integration_value import Grid, check_grid
    from scenarios.finance import FinanceError
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    try:
        scenario, _ = parse_scenario(content, check=False)
    except ScenarioError:
        raise HTTPException(409, detail="the scenario version is not valid: re-save it") from None
    grid = Grid(limit_share=tuple(body.limit_share), rate=tuple(body.rate), buyer_terms=tuple(body.buyer_terms),
                demand=tuple(body.demand), buyer=body.buyer)
    try:
        check_grid(grid, scenario)
    except FinanceError as exc:
        p = exc.problems[0]
        field = "body" if p.path == "grid" else f"body.{p.path}"
        raise _field_error(field, p.message) from None


@router.post("/{scenario_id}/value-of-integration", response_model=IntegrationPublic, status_code=202,
             summary="Study what planning with finance is worth over a grid (a job)",
             responses={200: {"model": IntegrationPublic, "description": "The same grid was computed before: the study"},
                        202: {"description": "Queued (or still running): poll the Location"},
                        **NOT_FOUND,
                        409: _resp("The scenario version has no finance instruments")})
def create_integration(scenario_id: ScenarioId, body: IntegrationOptions, user: AuthorizedUser, session: SessionDep,
                       settings: SettingsDep, request: Request, response: Response):
    version = get_version(session, scenario_id, body.version)
    content = version.content or {}
    if not (content.get("finance") or {}).get("partners"):
        raise HTTPException(409, detail=f"scenario {scenario_id} version {version.version} has no finance instruments "
                                        "to fund its plans with")
    _check_grid(content, body)
    params = {**body.model_dump(mode="json"), "version": version.version}
    key = queue.make_dedupe_key(JobKind.integration.value, version.id, params)
    existing = session.scalar(select(IntegrationStudyRecord).join(Job, Job.id == IntegrationStudyRecord.job_id)
                              .where(IntegrationStudyRecord.scenario_version_id == version.id, Job.dedupe_key == key,
                                     IntegrationStudyRecord.status.in_(("queued", "running", "done")))
                              .order_by(IntegrationStudyRecord.id.desc()).limit(1))
    location = f"/scenarios/{scenario_id}/value-of-integration/"
    if existing is not None:
        response.headers["Location"] = location + str(existing.id)
        if existing.status == "done":
            response.status_code = 200
        return integration_public(session, existing, version)
    study = IntegrationStudyRecord(scenario_version_id=version.id, params=params, status="queued", created_by_id=user.id)
    session.add(study)
    session.commit()
    job, created = queue.enqueue(request.app.state.engine, JobKind.integration.value,
                                 {"study_id": study.id, "options": params}, dedupe_key=key,
                                 time_limit=integration_time_limit(body, settings.solver_time_limit), created_by=user.id)
    if not created:  # the same study asked for concurrently: the winner's job fills the winner's row
        session.delete(study)
        session.commit()
        study = session.get(IntegrationStudyRecord, (job.payload or {}).get("study_id"))
        response.headers["Location"] = location + str(study.id)
        return integration_public(session, study, version)
    study.job_id = job.id
    study.status = job.status
    session.commit()
    response.headers["Location"] = location + str(study.id)
    return integration_public(session, study, version)


@router.get("/{scenario_id}/value-of-integration/{study_id}", response_model=IntegrationPublic,
            summary="A value-of-integration study: progress and, when done, its rows", responses=NOT_FOUND)
def get_integration(scenario_id: ScenarioId, study_id: StudyId, user: AuthorizedUser, session: SessionDep):
    study = session.get(IntegrationStudyRecord, study_id)
    version = session.get(ScenarioVersion, study.scenario_version_id) if study is not None else None
    if study is None or version is None or version.scenario_id != scenario_id:
        raise access.not_found("value-of-integration study", study_id)
    return integration_public(session, study, version)
