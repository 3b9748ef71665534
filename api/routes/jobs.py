"""Background jobs (forecast runs and plan solves): status with progress, and cancellation.

A job is ``queued`` until a worker (``jointplan worker``) claims it, ``running`` while it works,
then ``done``, ``failed`` (after ``JOINTPLAN_JOB_MAX_ATTEMPTS`` attempts, or at once on bad input;
``error`` says why) or ``cancelled``. A worker that dies leaves the job to be picked up again when
its lease (``JOINTPLAN_JOB_LEASE_SECONDS``) runs out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import NOT_FOUND, _resp
from api.jobs import queue
from api.jobs.model import Job
from api.jobs.runners import mirror_status
from api.schemas import Out, PageOf, page_of

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=StrictJSONRoute)

JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id")]
READERS = {"admin", "planner", "finance"}
RUNNERS = {"admin", "planner"}
CONFLICT_FINAL = {409: _resp("The job has already ended (done, failed or cancelled)")}


class JobEvent(Out):
    """One progress message of a job."""

    at: str = Field(description="When it was reported [UTC, ISO 8601]")
    progress: float | None = Field(None, description="Share of the work done then [0..1]")
    attempt: int | None = Field(None, description="Attempt that reported it")
    message: str = Field(description="What the job was doing")


class JobPublic(Out):
    """A job: status, progress, attempts, timings, solver log excerpt, and what it produced."""

    id: int = Field(description="Job id")
    kind: Literal["plan", "forecast", "at_risk", "integration"] = Field(
        description="plan (a solve), forecast (a forecast run), at_risk (a plan's funding at risk) or integration "
                    "(a scenario's value-of-integration study)")
    status: Literal["queued", "running", "done", "failed", "cancelled"] = Field(description="Where the job is")
    progress: float = Field(description="Share of the work done [0..1]")
    message: str = Field(description="The latest progress message")
    attempts: int = Field(description="Times a worker has claimed the job")
    max_attempts: int = Field(description="Attempts before the job is marked failed")
    cancel_requested: bool = Field(description="A cancel was asked for (a running job stops at its worker's next heartbeat)")
    time_limit: float | None = Field(description="Solver time limit of the whole job [s] (plan jobs)")
    error: str | None = Field(description="Why the job failed (when failed)")
    errors: list[dict[str, Any]] = Field(description="Every failed attempt: attempt, at, error")
    events: list[JobEvent] = Field(description="Progress messages, oldest first (the latest 200)")
    timings: dict[str, Any] = Field(description="Timings of the finished attempt [s]: build, highs, readback, job_total ...")
    log_excerpt: str = Field(description="The end of the solver log (plan jobs) or the history cleaning notes (forecast jobs)")
    result: str | None = Field(description="Link to the result when done, e.g. /plans/12")
    created_at: datetime = Field(description="When it was submitted [UTC]")
    started_at: datetime | None = Field(description="When the latest attempt started [UTC]")
    finished_at: datetime | None = Field(description="When it ended [UTC]")
    updated_at: datetime = Field(description="Last change (a running job's heartbeat) [UTC]")


def result_link(job: Job) -> str | None:
    ref = job.result_ref or ""
    if ref.startswith("plan:"):
        return f"/plans/{ref.split(':', 1)[1]}"
    if ref.startswith("forecast_run:"):
        return f"/forecast-runs/{ref.split(':', 1)[1]}"
    if ref.startswith("at_risk:"):
        _, plan_id, run_id = ref.split(":", 2)
        return f"/plans/{plan_id}/at-risk/{run_id}"
    if ref.startswith("integration:"):
        _, scenario_id, study_id = ref.split(":", 2)
        return f"/scenarios/{scenario_id}/value-of-integration/{study_id}"
    return None


def job_public(job: Job) -> JobPublic:
    data = {c: getattr(job, c) for c in JobPublic.model_fields if c not in ("result", "events")}
    return JobPublic(**data, events=job.events or [], result=result_link(job))


def get_job_or_404(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise access.not_found("job", job_id)
    return job


def cancel_job(request: Request, session: Session, job: Job) -> Job:
    """Cancel ``job`` (queued: at once; running: by request to its worker) and mirror the status."""
    if job.final:
        raise HTTPException(409, detail=f"job {job.id} has already ended ({job.status})")
    engine = request.app.state.engine
    queue.cancel(engine, job.id)
    session.expire_all()
    job = session.get(Job, job.id)
    mirror_status(session, job)
    session.commit()
    return job


access.register("GET", "/jobs", READERS, note="staff only: jobs reveal what is planned")
access.register("GET", "/jobs/{job_id}", READERS, obj="job")
access.register("POST", "/jobs/{job_id}/cancel", RUNNERS, obj="job")


@router.get("", response_model=PageOf[JobPublic], summary="List jobs (newest first)")
def list_jobs(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    status: Annotated[Literal["queued", "running", "done", "failed", "cancelled"] | None,
                      Query(description="Only jobs in this status")] = None,
    kind: Annotated[Literal["plan", "forecast"] | None, Query(description="Only jobs of this kind")] = None,
):
    q = select(Job)
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    return page_of(session, q, page, Job.id.desc(), job_public)


@router.get("/{job_id}", response_model=JobPublic, summary="A job's status and progress", responses=NOT_FOUND)
def get_job(job_id: JobId, user: AuthorizedUser, session: SessionDep):
    return job_public(get_job_or_404(session, job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic, summary="Cancel a job",
             responses={**NOT_FOUND, **CONFLICT_FINAL},
             description="A queued job is cancelled at once. A running job is marked `cancel_requested`; its worker "
                         "stops it at the next heartbeat (a local worker kills the solve wherever it is; on Dask the "
                         "job stops at its next step and a running HiGHS solve runs on to its time limit, its result "
                         "discarded), then the status becomes `cancelled`.")
def cancel(job_id: JobId, user: AuthorizedUser, session: SessionDep, request: Request):
    return job_public(cancel_job(request, session, get_job_or_404(session, job_id)))
