"""A finished plan's funding at risk (``finance.at_risk``), computed as a background job.

``POST /plans/{plan_id}/at-risk`` answers at once: 202 with ``Location:
/plans/{plan_id}/at-risk/{at_risk_id}`` to poll (its job's progress counts the demand scenarios
done); identical options on the same plan return the earlier run (200 when done). When done, the
run holds, per partner, P50/P90/P95 of the peak funding need, the probability that the committed
instruments are not enough and the expected financing cost, and the same per partner and period.
Staff only: the figures hold every partner's cash, as the plan does.
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
from api.jobs.runners import AtRiskOptions, at_risk_time_limit
from api.models import AtRiskRun, ConsensusVersion, PlanRecord, ScenarioVersion
from api.routes.jobs import JobPublic, job_public
from api.routes.plans import PlanId

router = APIRouter(prefix="/plans", tags=["funding"], route_class=StrictJSONRoute)

AtRiskId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Funding-at-risk run id")]
STAFF = {"admin", "planner", "finance"}
Status = Literal["queued", "running", "done", "failed", "cancelled"]


class AtRiskPublic(BaseModel):
    """A funding-at-risk run of a plan: its options, its job's progress and, when done, the tables."""

    id: int = Field(description="Funding-at-risk run id")
    plan_id: int = Field(description="The plan it is of")
    status: Status = Field(description="Status of its job")
    params: dict[str, Any] = Field(description="Options it runs with (AtRiskOptions)")
    job: JobPublic | None = Field(description="The job computing it")
    created_at: datetime = Field(description="When it was asked for [UTC]")
    finished_at: datetime | None = Field(description="When its result was stored [UTC]")
    settings: dict[str, Any] | None = Field(description="When done: what was simulated (scenarios, seed, demand "
                                                        "uncertainty, frozen decisions, sales rule, checks)")
    currency: str | None = Field(description="Currency of every amount")
    partners: list[dict[str, Any]] | None = Field(
        description="When done, per partner: peak_need_p50/p90/p95/mean/max, probability_lines_not_enough, "
                    "unfunded_peak_p90/p95, expected_financing_cost, financing_cost_p90, expected_net_financing_cost and the "
                    "point plan's "
                    "point_peak_need, point_financing_cost, point_funded")
    periods: list[dict[str, Any]] | None = Field(
        description="When done, per partner and period: need_p50/p90/p95/mean, probability_short, "
                    "cash_before_financing_p5 .. p95 (the fan), debt_p50/p90/p95")
    point: dict[str, Any] | None = Field(description="When done: the point plan's funding per partner")
    timings: dict[str, Any] | None = Field(description="When done: setup, scenarios and per-scenario seconds")


access.register("POST", "/plans/{plan_id}/at-risk", STAFF, obj="plan")
access.register("GET", "/plans/{plan_id}/at-risk/{at_risk_id}", STAFF, obj="plan")


def at_risk_public(session, run: AtRiskRun) -> AtRiskPublic:
    job = session.get(Job, run.job_id) if run.job_id else None
    done = run.status == "done" and run.result is not None
    r = run.result or {}
    return AtRiskPublic(
        id=run.id, plan_id=run.plan_id, status=run.status, params=run.params or {},
        job=job_public(job) if job else None, created_at=run.created_at, finished_at=run.finished_at,
        settings=r.get("settings") if done else None, currency=r.get("currency") if done else None,
        partners=r.get("partners") if done else None, periods=r.get("periods") if done else None,
        point=r.get("point") if done else None, timings=r.get("timings") if done else None,
    )


def _field_error(field: str, msg: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail=[{"field": field, "loc": field.split("."), "msg": msg, "type": "value_error"}])


@router.post("/{plan_id}/at-risk", response_model=AtRiskPublic, status_code=202,
             summary="Compute a plan's funding at risk (a job)",
             responses={200: {"model": AtRiskPublic, "description": "The same options were computed before: the run"},
                        202: {"description": "Queued (or still running): poll the Location"},
                        **NOT_FOUND,
                        409: _resp("The plan has no result yet, or its scenario has no finance instruments")})
def create_at_risk(plan_id: PlanId, body: AtRiskOptions, user: AuthorizedUser, session: SessionDep,
                   settings: SettingsDep, request: Request, response: Response):
    plan = session.get(PlanRecord, plan_id)
    if plan is None:
        raise access.not_found("plan", plan_id)
    if (body.cv is None) == (body.consensus_version is None):
        raise _field_error("body.cv", "give exactly one of cv (a coefficient of variation) and consensus_version "
                                      "(the consensus forecast's P10/P50/P90)")
    if plan.status != "done" or plan.result is None:
        raise HTTPException(409, detail=f"plan {plan_id} has no result: its job is {plan.status} (poll /plans/{plan_id})")
    content = session.get(ScenarioVersion, plan.scenario_version_id).content or {}
    periods = int((content.get("time") or {}).get("periods") or 0)
    if body.frozen_periods is not None and body.frozen_periods > periods:
        raise _field_error("body.frozen_periods", f"at most the plan's horizon, {periods} periods")
    if not (content.get("finance") or {}).get("partners"):
        raise HTTPException(409, detail=f"plan {plan_id}: its scenario has no finance instruments to size the funding with")
    if body.consensus_version is not None and session.scalar(
            select(ConsensusVersion.id).where(ConsensusVersion.version == body.consensus_version)) is None:
        raise _field_error("body.consensus_version", f"no consensus version {body.consensus_version}", 404)
    params = body.model_dump(mode="json")
    key = queue.make_dedupe_key(JobKind.at_risk.value, plan.id, params)
    existing = session.scalar(select(AtRiskRun).join(Job, Job.id == AtRiskRun.job_id)
                              .where(AtRiskRun.plan_id == plan.id, Job.dedupe_key == key,
                                     AtRiskRun.status.in_(("queued", "running", "done")))
                              .order_by(AtRiskRun.id.desc()).limit(1))
    if existing is not None:
        response.headers["Location"] = f"/plans/{plan.id}/at-risk/{existing.id}"
        if existing.status == "done":
            response.status_code = 200
        return at_risk_public(session, existing)
    run = AtRiskRun(plan_id=plan.id, params=params, status="queued", created_by_id=user.id)
    session.add(run)
    session.commit()
    job, created = queue.enqueue(request.app.state.engine, JobKind.at_risk.value,
                                 {"at_risk_id": run.id, "options": params}, dedupe_key=key,
                                 time_limit=at_risk_time_limit(body, settings.solver_time_limit), created_by=user.id)
    if not created:  # the same run asked for concurrently: the winner's job fills the winner's row
        session.delete(run)
        session.commit()
        run = session.get(AtRiskRun, (job.payload or {}).get("at_risk_id"))
        response.headers["Location"] = f"/plans/{plan.id}/at-risk/{run.id}"
        return at_risk_public(session, run)
    run.job_id = job.id
    run.status = job.status
    session.commit()
    response.headers["Location"] = f"/plans/{plan.id}/at-risk/{run.id}"
    return at_risk_public(session, run)


@router.get("/{plan_id}/at-risk/{at_risk_id}", response_model=AtRiskPublic,
            summary="A funding-at-risk run: progress and, when done, the tables", responses=NOT_FOUND)
def get_at_risk(plan_id: PlanId, at_risk_id: AtRiskId, user: AuthorizedUser, session: SessionDep):
    run = session.get(AtRiskRun, at_risk_id)
    if run is None or run.plan_id != plan_id:
        raise access.not_found("funding-at-risk run", at_risk_id)
    return at_risk_public(session, run)
