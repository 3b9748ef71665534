"""Plans: solves of a scenario version, run as background jobs.

``POST /plans`` answers at once: 202 with ``Location: /plans/{id}`` to poll (``GET /plans/{id}``
shows the status, progress and, when done, the result). The same scenario version with the same
options is solved once: asking again returns the stored plan (200 when it is done, 202 while it
runs). A plan that cannot be made (infeasible) is a result with its diagnosis, not a failure.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep, SettingsDep
from api.errors import NOT_FOUND, _resp
from api.jobs import queue
from api.jobs.model import Job, JobKind
from api.jobs.runners import PlanOptions
from api.models import FundingResultRecord, PlanRecord, ScenarioRecord, ScenarioVersion
from api.routes.jobs import JobPublic, cancel_job, job_public
from api.routes.reviews import ReviewPublic
from api.schemas import PageOf

router = APIRouter(prefix="/plans", tags=["plans"], route_class=StrictJSONRoute)

PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Plan id")]
TableName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z_]+$", examples=["production"],
                                description="Table name: production, capacity, shipments, inventory, sales, cash, "
                                            "cash_flows, working_capital (+ funding_* with options.finance)")]
PLANNERS = {"admin", "planner"}
READERS = {"admin", "planner", "finance"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_READY = {409: _resp("The plan has no result yet (queued or running), or its job failed or was cancelled")}


class PlanSubmit(BaseModel):
    """Solve a scenario version."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"scenario_id": 1, "version": 2, "options": {"finance": False, "time_limit": 120}},
        {"scenario_id": 1, "options": {"finance": True}},
    ]})

    scenario_id: int = Field(ge=1, le=2**31 - 1, description="Scenario to solve")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Its version (default: the latest)")
    options: PlanOptions = Field(default_factory=PlanOptions, description="How to solve it")


class PlanResult(BaseModel):
    """What the solve found (``Plan.to_dict()`` without the tables, which are paged separately)."""

    status: str = Field(description="optimal, feasible, infeasible, unbounded, time_limit or error")
    objective: float | None = Field(description="Objective value [currency] (none without a solution)")
    objective_sense: str = Field(description="maximize_profit or minimize_cost")
    termination: str = Field(description="The solver's own words")
    mip_gap: float | None = Field(description="Relative MIP gap reached (MIPs only)")
    kpis: dict[str, Any] = Field(description="Chain KPIs and per-partner KPIs (revenue, costs, profit, cash, peaks); "
                                             "with finance, kpis.finance")
    diagnosis: dict[str, Any] | None = Field(description="When no plan exists: the limits that must move, by how much")
    binding_limits: list[dict[str, Any]] = Field(description="Limits at their bound (capacity rows; in a plan with finance, also the instruments' limits and minimum cash), with shadow prices")
    warnings: list[dict[str, Any]] = Field(description="Scenario warnings: path, message, severity")
    timings: dict[str, float] = Field(description="Build, hand-over, HiGHS and read-back times [s]")
    simplex_iterations: int | None = Field(None, description="HiGHS's simplex iterations for this plan's solve "
                                           "(after an interior-point solve: its crossover's)")
    solver_method: str | None = Field(None, description="How HiGHS solved it: simplex, ipm (interior point with "
                                      "crossover) or branch_and_bound (a MIP)")
    warm_start: dict[str, Any] | None = Field(
        None,
        description="When the solve started from an earlier plan of the scenario (its parent version's, or the "
                    "same version's with other options): plan_id and from (which plan), kind (basis, or a MIP's "
                    "solution), used, matched/new/dropped columns and rows (by name), simplex_iterations, solve_s, "
                    "reference_cold (the last cold solve it descends from) and saved_s, and fallback or reason when "
                    "it was not used (the solve was then cold). None: a cold solve")
    solver_log_tail: str = Field(description="The last lines of the HiGHS log")
    funding_summary: dict[str, Any] | None = Field(
        description="Chain-level funding (scenarios with finance instruments): mode (joint or sized), status, "
                    "objective, totals, diagnosis")
    tables: dict[str, int] = Field(description="Result tables and their row counts (GET /plans/{id}/tables/{name})")


class PlanPublic(BaseModel):
    """A plan: which scenario version, which options, the job's progress and, when done, the result."""

    id: int = Field(description="Plan id")
    scenario_id: int = Field(description="Scenario")
    scenario_name: str = Field(description="Scenario name")
    version: int = Field(description="Scenario version solved")
    scenario_version_id: int = Field(description="Id of that scenario version")
    options: dict[str, Any] = Field(description="Options it was solved with (PlanOptions)")
    options_hash: str = Field(description="SHA-256 of the options: same version + same hash = same plan")
    status: Literal["queued", "running", "done", "failed", "cancelled"] = Field(description="Status of its job")
    job: JobPublic | None = Field(description="The job solving it: progress, attempts, timings, log excerpt")
    created_at: datetime = Field(description="When it was first asked for [UTC]")
    finished_at: datetime | None = Field(description="When its result was stored [UTC]")
    result: PlanResult | None = Field(description="The result, once done")


class PlanSummary(BaseModel):
    """A plan in a list."""

    id: int = Field(description="Plan id")
    scenario_id: int = Field(description="Scenario")
    scenario_name: str = Field(description="Scenario name")
    version: int = Field(description="Scenario version solved")
    scenario_version_id: int = Field(description="Id of that scenario version")
    options: dict[str, Any] = Field(description="Options it was solved with")
    status: str = Field(description="Status of its job")
    job_id: int | None = Field(description="Its job")
    created_at: datetime = Field(description="When it was first asked for [UTC]")
    finished_at: datetime | None = Field(description="When its result was stored [UTC]")
    review: ReviewPublic | None = Field(None, description="Listed with review=decided: its latest live finance review")


class TablePage(BaseModel):
    """One page of a result table."""

    plan_id: int = Field(description="Plan id")
    table: str = Field(description="Table name")
    columns: list[str] = Field(description="Column names")
    items: list[dict[str, Any]] = Field(description="Rows of this page (dates as ISO text)")
    total: int = Field(description="Rows in the table")
    limit: int = Field(description="Page size used")
    offset: int = Field(description="Rows skipped before this page")


def options_hash(options: PlanOptions) -> str:
    import hashlib

    return hashlib.sha256(queue.canonical_json(options.model_dump(mode="json")).encode()).hexdigest()


def get_plan_or_404(session: Session, plan_id: int, *, with_result: bool = True) -> PlanRecord:
    q = select(PlanRecord).where(PlanRecord.id == plan_id)
    if not with_result:
        q = q.options(defer(PlanRecord.result))
    plan = session.scalar(q)
    if plan is None:
        raise access.not_found("plan", plan_id)
    return plan


def result_or_409(plan: PlanRecord) -> dict[str, Any]:
    if plan.status != "done" or plan.result is None:
        raise HTTPException(409, detail=f"plan {plan.id} has no result: its job is {plan.status} (poll /plans/{plan.id})")
    return plan.result


def _result_summary_sql(session: Session):
    """SQL for a stored result without its tables (JSON text) and the tables' row counts (JSON
    object text), computed by the database: the megabytes of table rows stay there. None on a
    database without these JSON functions (the result is then read whole)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        head = func.json_remove(PlanRecord.result, "$.tables")
        counts = text("(SELECT json_group_object(key, json_array_length(value)) "
                      "FROM json_each(plans.result, '$.tables'))")
    elif dialect == "postgresql":
        head = text("CAST((plans.result::jsonb - 'tables') AS TEXT)")
        counts = text("(SELECT CAST(json_object_agg(key, json_array_length(value)) AS TEXT) "
                      "FROM json_each(plans.result -> 'tables'))")
    else:
        return None
    return head, counts


def _result_public(r: dict[str, Any], tables: dict[str, int]) -> PlanResult:
    return PlanResult(
        status=r.get("status", "error"), objective=r.get("objective"), objective_sense=r.get("objective_sense", ""),
        termination=r.get("termination", ""), mip_gap=r.get("mip_gap"), kpis=r.get("kpis") or {},
        diagnosis=r.get("diagnosis"), binding_limits=r.get("binding_limits") or [], warnings=r.get("warnings") or [],
        timings=r.get("timings") or {}, solver_log_tail=r.get("solver_log_tail") or "",
        funding_summary=r.get("funding_summary"), tables=tables,
        simplex_iterations=r.get("simplex_iterations"), solver_method=r.get("solver_method"),
        warm_start=r.get("warm_start"),
    )


# Summaries of done plans' results: a stored result never changes (the plan runner stores a new
# solve's result with a new finished_at), so (database, id, created_at, finished_at) names one
# summary; a few hundred kilobytes in all.
_SUMMARIES: OrderedDict[tuple, PlanResult] = OrderedDict()
_SUMMARIES_MAX = 256
_SUMMARIES_LOCK = threading.Lock()


def read_plan_public(session: Session, plan_id: int) -> PlanPublic:
    """``GET /plans/{id}`` in one query: the plan (without its result), its scenario version,
    scenario name and job; the result's summary is made by the database (see
    :func:`_result_summary_sql`) the first time this process reads the plan, then kept
    (:data:`_SUMMARIES`); 404 when absent."""
    q = (select(PlanRecord, ScenarioVersion.scenario_id, ScenarioVersion.version, ScenarioRecord.name, Job)
         .join(ScenarioVersion, ScenarioVersion.id == PlanRecord.scenario_version_id)
         .join(ScenarioRecord, ScenarioRecord.id == ScenarioVersion.scenario_id)
         .outerjoin(Job, Job.id == PlanRecord.job_id)
         .where(PlanRecord.id == plan_id).options(defer(PlanRecord.result)))
    found = session.execute(q).first()
    if found is None:
        raise access.not_found("plan", plan_id)
    plan, scenario_id, version_no, scenario_name, job = found
    result = None
    if plan.status == "done":
        key = (str(session.get_bind().url), plan.id, plan.created_at, plan.finished_at)
        with _SUMMARIES_LOCK:
            result = _SUMMARIES.get(key)
        if result is None:
            result = _summarise_result(session, plan.id)
            if result is not None:
                with _SUMMARIES_LOCK:
                    _SUMMARIES[key] = result
                    while len(_SUMMARIES) > _SUMMARIES_MAX:
                        _SUMMARIES.popitem(last=False)
    return PlanPublic(
        id=plan.id, scenario_id=scenario_id, scenario_name=scenario_name, version=version_no,
        scenario_version_id=plan.scenario_version_id, options=plan.options, options_hash=plan.options_hash,
        status=plan.status, job=job_public(job) if job else None, created_at=plan.created_at,
        finished_at=plan.finished_at, result=result,
    )


def _summarise_result(session: Session, plan_id: int) -> PlanResult | None:
    """The stored result of a plan without its tables, and the tables' row counts (those of
    ``plan_tables`` when the plan's tables are stored there: no counting in the result)."""
    from api.plan_tables import stored_counts

    summary_sql = _result_summary_sql(session)
    if summary_sql is None:
        r = session.scalar(select(PlanRecord.result).where(PlanRecord.id == plan_id))
        return None if r is None else _result_public(r, {n: len(rows) for n, rows in (r.get("tables") or {}).items()})
    counts = stored_counts(session, plan_id)
    if counts is not None:
        head = session.scalar(select(summary_sql[0]).select_from(PlanRecord).where(PlanRecord.id == plan_id))
        return None if head is None else _result_public(json.loads(head), counts)
    head, counts = session.execute(select(summary_sql[0], summary_sql[1]).select_from(PlanRecord)
                                   .where(PlanRecord.id == plan_id)).one()
    return None if head is None else _result_public(json.loads(head), json.loads(counts) if counts else {})


def plan_public(session: Session, plan: PlanRecord) -> PlanPublic:
    version = session.get(ScenarioVersion, plan.scenario_version_id)
    job = session.get(Job, plan.job_id) if plan.job_id else None
    result = None
    if plan.status == "done" and plan.result is not None:
        r = plan.result
        result = PlanResult(
            status=r.get("status", "error"), objective=r.get("objective"), objective_sense=r.get("objective_sense", ""),
            termination=r.get("termination", ""), mip_gap=r.get("mip_gap"), kpis=r.get("kpis") or {},
            diagnosis=r.get("diagnosis"), binding_limits=r.get("binding_limits") or [], warnings=r.get("warnings") or [],
            timings=r.get("timings") or {}, solver_log_tail=r.get("solver_log_tail") or "",
            funding_summary=r.get("funding_summary"),
            tables={name: len(rows) for name, rows in (r.get("tables") or {}).items()},
            simplex_iterations=r.get("simplex_iterations"), solver_method=r.get("solver_method"),
            warm_start=r.get("warm_start"),
        )
    return PlanPublic(
        id=plan.id, scenario_id=version.scenario_id, scenario_name=version.scenario.name, version=version.version,
        scenario_version_id=version.id, options=plan.options, options_hash=plan.options_hash, status=plan.status,
        job=job_public(job) if job else None, created_at=plan.created_at, finished_at=plan.finished_at, result=result,
    )


def _version(session: Session, body: PlanSubmit) -> ScenarioVersion:
    scenario = session.get(ScenarioRecord, body.scenario_id)
    if scenario is None:
        raise HTTPException(404, detail=[{"field": "body.scenario_id", "loc": ["body", "scenario_id"],
                                          "msg": f"no scenario {body.scenario_id}", "type": "not_found"}])
    number = body.version or scenario.latest_version
    version = session.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario.id,
                                                           ScenarioVersion.version == number))
    if version is None:
        raise HTTPException(404, detail=[{"field": "body.version", "loc": ["body", "version"],
                                          "msg": f"scenario {scenario.id} has no version {number}", "type": "not_found"}])
    return version


def _check_finance(version: ScenarioVersion, options: PlanOptions) -> None:
    if options.finance and not (version.content or {}).get("finance"):
        raise HTTPException(422, detail=[{
            "field": "body.options.finance", "loc": ["body", "options", "finance"], "type": "value_error",
            "msg": f"scenario version {version.version} has no finance section: nothing to plan funding with",
        }])


def submit_plan(request: Request, session: Session, user, settings, body: PlanSubmit) -> tuple[PlanRecord, bool]:
    """The plan for (version, options): stored or being solved (``created`` False), or newly queued."""
    version = _version(session, body)
    _check_finance(version, body.options)
    options = body.options.model_dump(mode="json")
    digest = options_hash(body.options)
    where = (PlanRecord.scenario_version_id == version.id, PlanRecord.options_hash == digest)
    plan = session.scalar(select(PlanRecord).where(*where))
    if plan is None:
        plan = PlanRecord(scenario_version_id=version.id, options=options, options_hash=digest, status="queued",
                          created_by_id=user.id)
        session.add(plan)
        try:
            session.commit()
        except IntegrityError:  # the same plan asked for concurrently: use the winner's
            session.rollback()
            plan = session.scalar(select(PlanRecord).where(*where))
    if plan.status == "done":
        return plan, False
    time_limit = body.options.time_limit or settings.solver_time_limit
    job, created = queue.enqueue(
        request.app.state.engine, JobKind.plan.value,
        {"plan_id": plan.id, "scenario_version_id": version.id, "options": options},
        dedupe_key=queue.make_dedupe_key(JobKind.plan.value, version.id, options),
        time_limit=time_limit, created_by=user.id,
    )
    session.refresh(plan)
    if plan.job_id != job.id and plan.status != "done":
        plan.job_id = job.id
        plan.status = job.status
        plan.finished_at = None
        session.commit()
    return plan, created


access.register("POST", "/plans", PLANNERS)
access.register("GET", "/plans", READERS, note="partners never see plans: they hold every partner's costs and cash")
access.register("GET", "/plans/{plan_id}", READERS, obj="plan")
access.register("GET", "/plans/{plan_id}/tables/{table}", READERS, obj="plan")
access.register("GET", "/plans/{plan_id}/tables/{table}/columns", READERS, obj="plan")
access.register("GET", "/plans/{plan_id}/xlsx", READERS, obj="plan")
access.register("POST", "/plans/{plan_id}/cancel", PLANNERS, obj="plan")


@router.post(
    "", response_model=PlanPublic, status_code=202, summary="Solve a scenario version",
    responses={200: {"model": PlanPublic, "description": "The same version and options were solved before: the stored plan"},
               202: {"description": "Queued (or still being solved): poll the Location"},
               404: _resp("No such scenario or version (the detail names the field)")},
)
def create_plan(body: PlanSubmit, user: AuthorizedUser, session: SessionDep, settings: SettingsDep,
                request: Request, response: Response):
    plan, _created = submit_plan(request, session, user, settings, body)
    response.headers["Location"] = f"/plans/{plan.id}"
    if plan.status == "done":
        response.status_code = 200
    return plan_public(session, plan)


@router.get("", response_model=PageOf[PlanSummary], summary="List plans (newest first)")
def list_plans(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    scenario_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only plans of this scenario")] = None,
    status: Annotated[Literal["queued", "running", "done", "failed", "cancelled"] | None,
                      Query(description="Only plans in this status")] = None,
    review: Annotated[Literal["waiting", "decided"] | None, Query(
        description="The finance inbox: each scenario's newest finished plan (the only one that can be reviewed; a "
                    "newer plan voids the reviews of older ones) without a live review (waiting) or with one "
                    "(decided; its latest live review comes as review)")] = None,
):
    from api.routes.reviews import inbox_filter, latest_live_reviews, void_all_superseded

    q = (select(PlanRecord, ScenarioVersion, ScenarioRecord.name)
         .join(ScenarioVersion, ScenarioVersion.id == PlanRecord.scenario_version_id)
         .join(ScenarioRecord, ScenarioRecord.id == ScenarioVersion.scenario_id))
    if scenario_id is not None:
        q = q.where(ScenarioVersion.scenario_id == scenario_id)
    if status is not None:
        q = q.where(PlanRecord.status == status)
    if review is not None:
        if void_all_superseded(session):  # as the review routes answer: superseded reviews are void
            session.commit()
        q = inbox_filter(q, review)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.execute(q.options(defer(PlanRecord.result)).order_by(PlanRecord.id.desc())
                           .limit(page.limit).offset(page.offset)).all()
    reviews = latest_live_reviews(session, [p.id for p, _v, _n in rows]) if review == "decided" else {}
    items = [PlanSummary(id=p.id, scenario_id=v.scenario_id, scenario_name=name, version=v.version,
                         scenario_version_id=v.id, options=p.options, status=p.status, job_id=p.job_id,
                         created_at=p.created_at, finished_at=p.finished_at, review=reviews.get(p.id))
             for p, v, name in rows]
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{plan_id}", response_model=PlanPublic, summary="A plan: status, progress and result", responses=NOT_FOUND)
def get_plan(plan_id: PlanId, user: AuthorizedUser, session: SessionDep):
    # serialised once, by pydantic-core, from the validated model (the response_model documents it)
    return Response(read_plan_public(session, plan_id).model_dump_json(), media_type="application/json")


def _done_plan_table(session: Session, plan_id: int, table: str):
    from api.plan_tables import plan_table

    plan = get_plan_or_404(session, plan_id, with_result=False)
    if plan.status != "done":
        raise HTTPException(409, detail=f"plan {plan.id} has no result: its job is {plan.status} (poll /plans/{plan.id})")
    found, names = plan_table(session, plan, table)
    if found is None:
        if not names and plan.result is None:
            result_or_409(plan)
        raise HTTPException(404, detail=f"plan {plan_id} has no table {table!r}; tables: {', '.join(names)}")
    return found


@router.get("/{plan_id}/tables/{table}", response_model=TablePage, summary="One result table, paged",
            responses={**NOT_FOUND, **NOT_READY})
def get_table(plan_id: PlanId, table: TableName, user: AuthorizedUser, session: SessionDep, page: PageDep):
    found = _done_plan_table(session, plan_id, table)
    return TablePage(plan_id=plan_id, table=table, columns=found.columns, items=found.page(page.offset, page.limit),
                     total=found.total, limit=page.limit, offset=page.offset)


MAX_COLUMN_ROWS = 200_000


class TableColumns(BaseModel):
    """Rows of a result table, column by column (compact: the browser pages and sorts them itself)."""

    plan_id: int = Field(description="Plan id")
    table: str = Field(description="Table name")
    columns: list[str] = Field(description="Column names")
    data: list[list[Any]] = Field(description="One array per column, in the order of columns: the values of rows "
                                              "offset to offset + limit (dates as ISO text, null where a row has none)")
    total: int = Field(description="Rows in the table")
    limit: int = Field(description="Most rows sent")
    offset: int = Field(description="Rows skipped")


@router.get("/{plan_id}/tables/{table}/columns", response_model=TableColumns,
            summary="A result table, column by column (whole, or a large slice)",
            description=f"Up to {MAX_COLUMN_ROWS:,} rows at once (the default), as one array per column: what the "
                        "workbench reads to show, chart and sort a table in the browser.",
            responses={**NOT_FOUND, **NOT_READY})
def get_table_columns(
    plan_id: PlanId, table: TableName, user: AuthorizedUser, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_COLUMN_ROWS, description="Most rows to send")] = MAX_COLUMN_ROWS,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Rows to skip")] = 0,
):
    found = _done_plan_table(session, plan_id, table)
    head = json.dumps({"plan_id": plan_id, "table": table, "columns": found.columns, "total": found.total,
                       "limit": limit, "offset": offset}, separators=(",", ":"))
    if found.text is not None and offset == 0 and found.total <= limit:
        data = found.text  # the stored text as it is: nothing parsed
    else:
        data = json.dumps([a[offset: offset + limit] for a in found.column_arrays()], separators=(",", ":"))
    return Response(head[:-1] + ',"data":' + data + "}", media_type="application/json")


# Workbooks of done plans, by the summaries' key (a stored result and its funding never change):
# built on a plan's first download in this process (seconds for a large plan), then served from
# here; the least recently downloaded are dropped beyond _WORKBOOKS_MAX_BYTES.
_WORKBOOKS: OrderedDict[tuple, bytes] = OrderedDict()
_WORKBOOKS_MAX_BYTES = 256 * 2**20
_WORKBOOKS_LOCK = threading.Lock()
_WORKBOOK_BUILDS: dict[tuple, threading.Lock] = {}  # one build of a workbook at a time


def cached_workbook(key: tuple, build) -> bytes:
    """The workbook of ``key`` from the cache, or ``build()``'s (kept). Requests for a workbook
    being built wait for that build rather than making it again."""
    with _WORKBOOKS_LOCK:
        data = _WORKBOOKS.get(key)
        if data is not None:
            _WORKBOOKS.move_to_end(key)
            return data
        building = _WORKBOOK_BUILDS.setdefault(key, threading.Lock())
    with building:
        with _WORKBOOKS_LOCK:
            data = _WORKBOOKS.get(key)
        if data is not None:
            return data
        try:
            data = build()
        except BaseException:
            with _WORKBOOKS_LOCK:
                _WORKBOOK_BUILDS.pop(key, None)
            raise
        with _WORKBOOKS_LOCK:
            _WORKBOOKS[key] = data
            _WORKBOOK_BUILDS.pop(key, None)
            total = sum(len(b) for b in _WORKBOOKS.values())
            while total > _WORKBOOKS_MAX_BYTES and len(_WORKBOOKS) > 1:
                total -= len(_WORKBOOKS.popitem(last=False)[1])
    return data


def plan_workbook(result: dict[str, Any], funding: dict[str, Any] | None = None, currency: str | None = None) -> bytes:
    """The plan's Excel workbook from the stored result (and its funding), by the same function as
    ``jointplan plan --xlsx`` (:func:`planning.workbook.build_workbook`)."""
    from planning.workbook import workbook_bytes

    return workbook_bytes(result, funding, currency=currency)


def scenario_currency(content: dict[str, Any] | None) -> str:
    """A stored scenario's currency (the schema's default when the content leaves it out); plans
    stored before the plan result recorded its currency get it from here."""
    from scenarios.schema import Scenario as ScenarioModel

    return (content or {}).get("currency") or ScenarioModel.model_fields["currency"].default


def stored_funding(session: Session, plan: PlanRecord) -> dict[str, Any] | None:
    """A plan's funding as one ``FundingResult.to_dict()``-shaped dict: the per-partner rows the
    plan job stored (``funding_results``) with the chain summary kept in the result. None when
    the plan has no funding."""
    summary = (plan.result or {}).get("funding_summary") or {}
    parts = [r.result for r in session.scalars(
        select(FundingResultRecord).where(FundingResultRecord.plan_id == plan.id).order_by(FundingResultRecord.id))]
    if not parts and not summary:
        return None
    first = parts[0] if parts else {}
    tables: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for name, rows in (part.get("tables") or {}).items():
            tables.setdefault(name, []).extend(rows)
    return {
        "mode": summary.get("mode") or first.get("mode"),
        "status": summary.get("status") or first.get("status"),
        "termination": summary.get("termination"),
        "objective_name": summary.get("objective_name"),
        "objective": summary.get("objective"),
        "currency": summary.get("currency") or first.get("currency"),
        "periods_per_year": summary.get("periods_per_year") or first.get("periods_per_year"),
        "kpis": {"partners": {part["partner"]: part.get("kpis") or {} for part in parts},
                 **({"total": summary["total"]} if summary.get("total") else {})},
        "tables": tables,
        "diagnosis": summary.get("diagnosis"),
        "problems": summary.get("problems"),
    }


@router.get("/{plan_id}/xlsx", summary="The plan as an Excel workbook", response_class=Response,
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "A workbook: a summary (KPIs per partner, charts of cash, inventory "
                                            "and capacity), the funding sheets when the plan has funding, then "
                                            "one sheet per result table"},
                       **NOT_FOUND, **NOT_READY})
def get_workbook(plan_id: PlanId, user: AuthorizedUser, session: SessionDep):
    plan = get_plan_or_404(session, plan_id, with_result=False)
    if plan.status != "done":
        result_or_409(plan)

    def build() -> bytes:
        result = result_or_409(plan)  # the stored result is read only to build the workbook
        version = session.get(ScenarioVersion, plan.scenario_version_id)
        currency = result.get("currency") or (scenario_currency(version.content) if version else None)
        return plan_workbook(result, stored_funding(session, plan), currency)

    data = cached_workbook((str(session.get_bind().url), plan.id, plan.created_at, plan.finished_at), build)
    # the bytes in one body (a StreamingResponse of a BytesIO sends it line by line: 70,000 pieces,
    # each through the thread pool, for a 15 MB workbook)
    return Response(content=data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'})


@router.post("/{plan_id}/cancel", response_model=PlanPublic, summary="Cancel the plan's solve",
             responses={**NOT_FOUND, 409: _resp("The plan's job has already ended")})
def cancel_plan(plan_id: PlanId, user: AuthorizedUser, session: SessionDep, request: Request):
    plan = get_plan_or_404(session, plan_id)
    job = session.get(Job, plan.job_id) if plan.job_id else None
    if job is None:
        raise HTTPException(409, detail=f"plan {plan_id} has no job to cancel")
    cancel_job(request, session, job)
    session.refresh(plan)
    return plan_public(session, plan)
