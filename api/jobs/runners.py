"""What a job does, in two halves:

- **execution** (:func:`execute`): a pure function of plain data (``inputs`` built by
  :func:`load_inputs`) returning a JSON-safe result. It needs no database, so a worker can run it
  in a child process or on a Dask worker. ``report(fraction, message)`` is called between steps.
  - plan: ``scenarios.io.parse_scenario`` -> ``planning.plan.plan_scenario`` (or, with
    ``options.finance``, ``finance.extension.plan_with_finance``: operations and funding chosen
    together, as ``jointplan plan --finance``); when the scenario has finance instruments the
    plan's funding is sized per partner with ``finance.sizing.size_plan_funding``. Each solve gets
    the time left of the job's limit. An infeasible plan is a result (with its diagnosis). The
    solve starts from the basis of an earlier plan of the scenario when there is one
    (:func:`warm_source`: the parent version's latest, else the same version's with other options,
    else the nearest version's); the result's ``warm_start`` says which and what it did, and the
    plan keeps its own basis for the next one.
  - forecast: the stored uploads -> ``forecasting.history.prepare_history`` ->
    ``forecasting.engine.forecast_panel`` (progress = series done / total).
  - at_risk: ``finance.at_risk.funding_at_risk`` on a finished plan and its scenario version
    (progress = demand scenarios done / asked for).
  - integration: ``finance.integration_value.value_of_integration`` on a scenario version
    (progress = grid points done / the grid's; each point's seconds in the message).
- **storage** (:func:`store_result`, :func:`mirror_status`): writes the result rows (``plans`` +
  ``funding_results``, ``forecast_runs``, ``funding_at_risk`` or ``integration_studies``) inside the queue's completion transaction, keyed by
  the job's record so a second write of the same job changes nothing.

Bad input found while executing (an invalid scenario or history, unusable instruments) raises
:class:`JobInputError`: the job fails at once, without retries, with the problems as the reason.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.jobs.model import Job, JobKind, JobStatus
from api.settings import get_settings
from api.models import (AtRiskRun, ConsensusVersion, ForecastRun, FundingResultRecord, IntegrationStudyRecord, PlanRecord,
                        ScenarioVersion, utcnow)
from planning.status import has_solution

Report = Callable[[float, str], None]
PartnerRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                  description="Partner id")]
LOG_LINES = 60  # solver log lines kept on the job


class JobInputError(ValueError):
    """The job's input cannot be used; retrying would not help."""

    def __init__(self, reason: str, problems: list[dict[str, Any]] | None = None):
        self.problems = problems or []
        detail = "; ".join(f"{p.get('path') or p.get('field')}: {p.get('message')}" for p in self.problems[:20])
        super().__init__(reason + (f" ({detail})" if detail else ""))


class JobCancelled(Exception):
    """Raised by a progress report when the job was cancelled (cooperative cancellation)."""


# ---------------------------------------------------------------------------------------------
# Options (shared by the routes and the runners)
# ---------------------------------------------------------------------------------------------


class PlanOptions(BaseModel):
    """How to solve a scenario version. Identical options on the same version return the stored plan."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"finance": False, "time_limit": 120}]})

    finance: StrictBool = Field(
        False,
        description="Plan operations and funding together with the scenario's finance instruments "
        "(as `jointplan plan --finance`); the scenario must have a finance section",
    )
    size_funding: StrictBool = Field(
        True,
        description="When the scenario has finance instruments and `finance` is false: size each partner's "
        "funding of the plan afterwards (as `jointplan fund`)",
    )
    time_limit: StrictFloat | None = Field(
        None, gt=0, le=86_400,
        description="Solver time limit for the whole job, seconds (default: the service's "
        "`JOINTPLAN_SOLVER_TIME_LIMIT`); each solve gets the time left",
    )
    mip_gap: StrictFloat | None = Field(None, ge=0, le=1, description="Relative MIP gap (default: the scenario's solver options)")


class ForecastRunOptions(BaseModel):
    """A statistical forecast of the shared sales history."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"horizon": 12, "freq": "M", "fast": True}]})

    horizon: StrictInt = Field(gt=0, le=get_settings().max_horizon_periods, description="Periods to forecast (weeks for W, months for M); at most the service's "
                                           "`JOINTPLAN_MAX_HORIZON_PERIODS`")
    freq: Literal["W", "M"] = Field("M", description="Planning bucket: W (weeks from Monday) or M (calendar months)")
    fast: StrictBool = Field(False, description="Skip the model competition (one method per series class, no backtest)")
    pool: StrictInt = Field(5, ge=1, le=10, description="Forecast with the mean of the best `pool` candidates on the backtest")
    n_windows: StrictInt = Field(3, ge=1, le=12, description="Rolling-origin backtest windows per series")
    gaps: Literal["zero", "interpolate", "error"] = Field(
        "zero", description="Buckets missing inside a series: filled with 0, interpolated, or refused"
    )
    partner_ids: list[PartnerRef] | None = Field(
        None, max_length=100,
        description="Forecast the history uploaded by these partners (default: every upload). Where two uploads "
        "hold the same series and date, the later upload wins",
    )
    reselect: StrictBool = Field(
        False,
        description="Run the model competition for every series. Otherwise the latest finished run with the same "
        "horizon, bucket, windows, pool and partners lends its model selection to the series whose history is "
        "unchanged since (a history that gained periods competes again: reuse across periods lost more than 1 % "
        "of accuracy on the validation tails); the summary's `selection` counts what happened",
    )


class AtRiskOptions(BaseModel):
    """How to compute a plan's funding at risk (``finance.at_risk``, as ``jointplan fund --at-risk``):
    demand from a consensus version's P10/P50/P90 or a coefficient of variation around the
    scenario's demand (exactly one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"scenarios": 20, "seed": 0, "cv": 0.2}]})

    scenarios: StrictInt = Field(200, ge=1, le=10_000, description="Demand scenarios to simulate")
    seed: StrictInt = Field(0, ge=0, le=2**53, description="Random seed: the same seed gives the same scenarios")
    cv: StrictFloat | None = Field(None, ge=0, le=10, allow_inf_nan=False,
                                   description="Coefficient of variation of demand around the scenario's (normal)")
    consensus_version: StrictInt | None = Field(
        None, ge=1, le=2**31 - 1,
        description="Take P10/P50/P90 from this consensus version (its rows of the scenario's demand series and "
                    "periods; every one needed)")
    correlation: StrictFloat = Field(0.0, ge=0, le=1, allow_inf_nan=False,
                                     description="Correlation of a series' demand across periods (0: independent)")
    frozen_periods: StrictInt | None = Field(
        None, ge=1, le=10_000,
        description="Periods whose decisions stay as planned (default: the whole horizon); after them the plan is "
                    "re-made for each scenario")
    time_limit: StrictFloat | None = Field(
        None, gt=0, le=86_400,
        description="Time limit of the whole job [s] (default: the service's `JOINTPLAN_SOLVER_TIME_LIMIT` plus 5 s a "
                    "scenario, 10 s with a re-plan); reached, the job fails saying how many scenarios were done")


MAX_AXIS = 20  # values per grid axis in a request (the grid's points are capped by finance.integration_value)
LimitShare = Annotated[StrictFloat, Field(ge=0, le=100, allow_inf_nan=False)]
YearRate = Annotated[StrictFloat, Field(ge=0, le=10, allow_inf_nan=False)]
Terms = Annotated[StrictInt, Field(ge=0, le=10_000)]
DemandScale = Annotated[StrictFloat, Field(gt=0, le=100, allow_inf_nan=False)]


class IntegrationOptions(BaseModel):
    """The grid of a value-of-integration study (``finance.integration_value``, as ``jointplan
    value-of-integration``): per point the scenario's credit lines, rate, the largest buyer's
    terms and demand set as said, then planned first and funded after (sequential) and planned
    with its funding (joint). ``null`` in an axis: as in the scenario."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"limit_share": [0.5, 1.0], "rate": [None, 0.2]}]})

    version: StrictInt | None = Field(None, ge=1, le=2**31 - 1,
                                      description="Scenario version to study (default: the latest)")
    limit_share: list[LimitShare | None] = Field(
        [0.25, 0.5, 0.75, 1.0, 1.5], min_length=1, max_length=MAX_AXIS,
        description="Credit limits to try, as shares of each partner's peak funding need under plan-then-fund "
                    "(0 .. 100; null: the limits as written)")
    rate: list[YearRate | None] = Field(
        [None], min_length=1, max_length=MAX_AXIS,
        description="Credit-line interest rates to try, a year (0.08 = 8 %; 0 .. 10; null: as written)")
    buyer_terms: list[Terms | None] = Field(
        [None], min_length=1, max_length=MAX_AXIS,
        description="Payment terms of the largest buyer to try, periods from invoice to payment (0 .. the horizon; "
                    "null: as written)")
    demand: list[DemandScale] = Field([1.0], min_length=1, max_length=MAX_AXIS,
                                      description="Demand levels to try, multiples of the scenario's (above 0, at most 100)")
    buyer: PartnerRef | None = Field(None, description="With buyer_terms: this partner instead of the largest buyer")
    time_limit: StrictFloat | None = Field(
        None, gt=0, le=86_400, allow_inf_nan=False,
        description="Time limit of the whole job [s] (default: the service's `JOINTPLAN_SOLVER_TIME_LIMIT` plus 10 s a "
                    "grid point); reached, the job fails saying how many points were done")

    def grid_points(self) -> int:
        return len(self.limit_share) * len(self.rate) * len(self.buyer_terms) * len(self.demand)


# ---------------------------------------------------------------------------------------------
# JSON safety
# ---------------------------------------------------------------------------------------------


def _default(o: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.date().isoformat() if o == o.normalize() else o.isoformat()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def jsonable(data: Any) -> Any:
    """``data`` as plain JSON values: numpy scalars unwrapped, dates as ISO text, NaN/inf as null
    (PostgreSQL's JSON refuses NaN)."""
    text = json.dumps(data, default=_default, allow_nan=True)
    return json.loads(text, parse_constant=lambda _c: None)


def run_records(forecasts, accuracy) -> dict[str, list[dict[str, Any]]]:
    """A statistical run's ``forecasts`` and backtest ``accuracy`` tables as the JSON records a
    ``forecast_runs`` row keeps (dates as ISO days)."""
    import pandas as pd

    forecasts = forecasts.copy()
    forecasts["ds"] = pd.to_datetime(forecasts["ds"]).dt.strftime("%Y-%m-%d")
    return jsonable({"forecasts": forecasts.to_dict(orient="records"),
                     "accuracy": [] if accuracy is None else accuracy.to_dict(orient="records")})


def _tail(text: str, lines: int = LOG_LINES) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Execution (no database)
# ---------------------------------------------------------------------------------------------

_PLAN_STEPS = {
    "compiling data": 0.10,
    "building model": 0.18,
    "planning operations alone (collection rates for factoring)": 0.12,
    "solving with HiGHS": 0.30,
    "reading the solution": 0.80,
    "diagnosing the funding shortfall": 0.70,
}


def execute(kind: str, inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """Run one job's work on its inputs; returns the JSON-safe result."""
    if kind == JobKind.plan.value:
        return execute_plan(inputs, report)
    if kind == JobKind.forecast.value:
        return execute_forecast(inputs, report)
    if kind == JobKind.at_risk.value:
        return execute_at_risk(inputs, report)
    if kind == JobKind.integration.value:
        return execute_integration(inputs, report)
    raise JobInputError(f"unknown job kind {kind!r}")


def at_risk_time_limit(options: AtRiskOptions, solver_time_limit: float) -> float:
    """The whole at-risk job's time limit: the options', else the service's solver limit plus 5 s
    a scenario (10 s when each scenario is re-planned)."""
    if options.time_limit is not None:
        return float(options.time_limit)
    return float(solver_time_limit) + options.scenarios * (10.0 if options.frozen_periods is not None else 5.0)


def execute_at_risk(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """A finished plan's funding at risk (:func:`finance.at_risk.funding_at_risk`), with the
    scenario version's finance instruments; progress = scenarios done / asked for."""
    import pandas as pd

    from finance.at_risk import funding_at_risk, uncertainty_from_cv, uncertainty_from_quantiles
    from scenarios.finance import FinanceError
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    started = time.perf_counter()
    options = AtRiskOptions.model_validate(inputs.get("options") or {})
    limit = float(inputs.get("time_limit") or at_risk_time_limit(options, get_settings().solver_time_limit))
    deadline = started + limit
    report(0.02, "checking the scenario and the plan")
    try:
        scenario, _ = parse_scenario(inputs["scenario"])
    except ScenarioError as exc:
        raise JobInputError("the plan's scenario version is not valid", [p.as_dict() for p in exc.problems]) from None

    def progress(done: int, total: int) -> None:
        if done < total and time.perf_counter() > deadline:
            raise JobInputError(f"the job's time limit of {limit:g} s was reached after {done} of {total} demand "
                                "scenarios: ask for fewer scenarios or a longer time_limit")
        report(0.05 + 0.9 * done / max(total, 1), f"{done} of {total} demand scenarios")

    try:
        if options.consensus_version is not None:
            u = uncertainty_from_quantiles(scenario, pd.DataFrame(inputs["quantiles"]), correlation=options.correlation,
                                           source=f"consensus version {options.consensus_version}", only_scenario=True)
        else:
            u = uncertainty_from_cv(scenario, options.cv, correlation=options.correlation)
        risk = funding_at_risk(scenario, inputs["plan"], u, scenarios=options.scenarios, seed=options.seed,
                               frozen_periods=options.frozen_periods, time_limit=max(1.0, limit), progress=progress)
    except FinanceError as exc:
        raise JobInputError("the funding at risk cannot be computed", [p.as_dict() for p in exc.problems]) from None
    report(0.97, "storing the result")
    return jsonable({"at_risk": risk.to_dict(), "log_excerpt": "",
                     "timings": {**risk.timings, "job_total": time.perf_counter() - started}})


def integration_time_limit(options: IntegrationOptions, solver_time_limit: float) -> float:
    """The whole study job's time limit: the options', else the service's solver limit plus 10 s a
    grid point."""
    if options.time_limit is not None:
        return float(options.time_limit)
    return float(solver_time_limit) + 10.0 * options.grid_points()


def execute_integration(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """A scenario version's value-of-integration study
    (:func:`finance.integration_value.value_of_integration`) with its finance section; progress =
    grid points done / the grid's."""
    from finance.integration_value import Grid, value_of_integration
    from scenarios.finance import FinanceError
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    started = time.perf_counter()
    options = IntegrationOptions.model_validate(inputs.get("options") or {})
    limit = float(inputs.get("time_limit") or integration_time_limit(options, get_settings().solver_time_limit))
    deadline = started + limit
    report(0.02, "checking the scenario")
    try:
        scenario, _ = parse_scenario(inputs["scenario"])
    except ScenarioError as exc:
        raise JobInputError("the scenario version is not valid", [p.as_dict() for p in exc.problems]) from None
    grid = Grid(limit_share=tuple(options.limit_share), rate=tuple(options.rate), buyer_terms=tuple(options.buyer_terms),
                demand=tuple(options.demand), buyer=options.buyer)

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        if done < total and time.perf_counter() > deadline:
            raise JobInputError(f"the job's time limit of {limit:g} s was reached after {done} of {total} grid points: "
                                "ask for fewer points or a longer time_limit")
        report(0.05 + 0.9 * done / max(total, 1), f"{done} of {total} grid points ({row.get('seconds', 0.0):.2f} s the last)")

    try:
        study = value_of_integration(scenario, grid, time_limit=max(1.0, limit), progress=progress)
    except FinanceError as exc:
        raise JobInputError("the value-of-integration study cannot be run", [p.as_dict() for p in exc.problems]) from None
    report(0.97, "storing the result")
    return jsonable({"study": study.to_dict(), "log_excerpt": "",
                     "timings": {**study.timings, "job_total": time.perf_counter() - started}})


def execute_plan(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """Solve a scenario version: the plan (``Plan.to_dict()``), per-partner funding, log and timings."""
    from planning.plan import plan_scenario
    from scenarios.finance import FinanceError, finance_spec_from_scenario
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    started = time.perf_counter()
    options = PlanOptions.model_validate(inputs.get("options") or {})
    warm, warm_label, warm_error = _warm_input(inputs.get("warm"))
    limit = float(inputs["time_limit"])
    deadline = started + limit

    def remaining() -> float:
        return max(1.0, deadline - time.perf_counter())

    report(0.02, "checking the scenario")
    try:
        scenario, warnings = parse_scenario(inputs["scenario"])
    except ScenarioError as exc:
        raise JobInputError("the scenario version is not valid", [p.as_dict() for p in exc.problems]) from None
    steps_seen: list[str] = []

    def say(message: str) -> None:
        steps_seen.append(message)
        report(_PLAN_STEPS.get(message, 0.5), message)

    spec = finance_spec_from_scenario(scenario)
    mode = None
    funding = None
    try:
        if options.finance:
            from finance.extension import funding_result_of, plan_with_finance

            plan = plan_with_finance(scenario, time_limit=remaining(), mip_gap=options.mip_gap, warnings=warnings,
                                     progress=say, warm=warm, warm_label=warm_label)
            mode = "joint"
            if plan.kpis.get("finance") or plan.status == "infeasible":
                funding = funding_result_of(plan)
        else:
            plan = plan_scenario(scenario, time_limit=remaining(), mip_gap=options.mip_gap, warnings=warnings,
                                 progress=say, warm=warm, warm_label=warm_label)
            if spec is not None and options.size_funding and has_solution(plan.status):
                from finance.sizing import size_plan_funding

                report(0.88, "sizing each partner's funding")
                mode = "sized"
                funding = size_plan_funding(plan, spec, time_limit=remaining())
    except FinanceError as exc:
        problems = [p.as_dict() for p in exc.problems]
        if options.finance:
            raise JobInputError("the scenario's finance instruments cannot be used", problems) from None
        funding_error = {"status": "error", "problems": problems}
    else:
        funding_error = None
    report(0.95, "storing the result")
    if warm_error is not None:  # the stored basis could not even be read: say so, as a cold solve
        from scenarios.fields import Problem

        plan.warm_start = warm_error
        plan.warnings.append(Problem("warm_start", f"not warm-started from {warm_label}: {warm_error['reason']}",
                                     "warning"))
    if plan.warm_start is not None and isinstance(inputs.get("warm"), dict):
        plan.warm_start["plan_id"] = inputs["warm"].get("plan_id")
    result = plan.to_dict()
    result["funding_summary"] = _funding_summary(funding, mode, funding_error)
    partners = [a.id for a in scenario.partners]
    out = jsonable({
        "plan": result,
        "funding": _funding_by_partner(funding, mode, partners) if funding is not None else {},
        "log_excerpt": _tail(plan.solver_log),
        "timings": {**{k: float(v) for k, v in plan.timings.items()}, "job_total": time.perf_counter() - started},
        "time_limit": limit,
    })
    if plan.basis is not None:  # kept beside the result (plans.basis), never in it
        out["basis"] = base64.b64encode(plan.basis.to_bytes()).decode("ascii")
    return out


def _warm_input(warm: Any) -> tuple[Any, str, dict[str, Any] | None]:
    """(SavedBasis or None, label, warm_start record when the stored basis cannot be read)."""
    if not isinstance(warm, dict) or warm.get("basis") is None:
        return None, "", None
    from planning.warm import BasisError, SavedBasis

    label = f"plan {warm.get('plan_id')}"
    try:
        return SavedBasis.from_bytes(warm["basis"]), label, None
    except BasisError as exc:
        return None, label, {"from": label, "used": False, "reason": f"its stored basis cannot be read ({exc}); cold solve"}


def _funding_summary(funding: Any, mode: str | None, error: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chain-level funding facts (for staff): status, objective, totals, the diagnosis message."""
    if error is not None:
        return {"mode": "sized", **error}
    if funding is None:
        return None
    d = funding.to_dict()
    return {
        "mode": mode,
        "status": d["status"],
        "termination": d["termination"],
        "objective_name": d["objective_name"],
        "objective": d["objective"],
        "currency": d["currency"],
        "periods_per_year": d["periods_per_year"],
        "total": (d.get("kpis") or {}).get("total"),
        "diagnosis": d.get("diagnosis"),
        "warnings": d.get("warnings"),
    }


def _funding_by_partner(funding: Any, mode: str | None, partners: list[str]) -> dict[str, dict[str, Any]]:
    """One entry per partner holding only that partner's numbers (what a partner user may see)."""
    d = funding.to_dict()
    kp = (d.get("kpis") or {}).get("partners") or {}
    diag = d.get("diagnosis") or {}
    out: dict[str, dict[str, Any]] = {}
    for a in partners:
        if a not in kp:
            continue
        tables = {name: [r for r in rows if r.get("partner") == a] for name, rows in (d.get("tables") or {}).items()}
        shortfalls = [r for r in diag.get("shortfalls", []) if r.get("partner") == a]
        short = (diag.get("partners") or {}).get(a)
        if short:
            message = (f"{a} is short from period {short['first_period']} to {short['last_period']}, "
                       f"by up to {short['peak']:,.2f} (period {short['peak_period']})")
        else:
            message = "funded" if has_solution(d["status"]) else f"funding status {d['status']}"
        out[a] = {
            "partner": a,
            "mode": mode,
            "status": d["status"],
            "currency": d["currency"],
            "periods_per_year": d["periods_per_year"],
            "kpis": kp[a],
            "tables": tables,
            "diagnosis": {"message": message, "shortfall": short, "shortfalls": shortfalls} if diag else None,
        }
    return out


def _history_frame(inputs: dict[str, Any]):
    import pandas as pd

    rows = inputs["history"]  # columns (key columns, date, quantity -> lists), or records
    if not rows or (isinstance(rows, dict) and not rows.get("date")):
        raise JobInputError("no sales history: upload history first", [{"path": "partner_ids", "message": "no rows"}])
    return pd.DataFrame(rows)


def execute_forecast(inputs: dict[str, Any], report: Report) -> dict[str, Any]:
    """Forecast every series of the uploaded history: forecasts, backtest accuracy, summary."""
    from forecasting.engine import forecast_panel
    from forecasting.history import HistoryError, HistorySpec, prepare_history

    started = time.perf_counter()
    options = ForecastRunOptions.model_validate(inputs.get("options") or {})
    report(0.02, "checking the history")
    keys = list(inputs["keys"])
    try:
        history, cleaning = prepare_history(_history_frame(inputs), HistorySpec(keys=keys), freq=options.freq,
                                            gaps=options.gaps)
    except HistoryError as exc:
        raise JobInputError("the uploaded history is not usable",
                            [{"path": p.column, "message": str(p)} for p in exc.problems]) from None
    report(0.05, f"forecasting {history['unique_id'].nunique()} series")

    def hook(done: int, total: int) -> None:
        if total:
            report(0.05 + 0.9 * done / total, f"forecast {done} of {total} series")

    kept = None
    if inputs.get("selection") and not options.fast and not options.reselect:
        from forecasting.selection import SelectionError, parse_selection

        try:
            kept = parse_selection(inputs["selection"])
        except SelectionError:
            pass  # a selection from an older format: every series competes
    result = forecast_panel(history, options.horizon, options.freq, select=not options.fast, n_windows=options.n_windows,
                            pool=options.pool, backend="serial", progress=hook, keys=keys, selection=kept)
    report(0.97, "storing the result")
    summary = dict(result.summary)
    summary["cleaning"] = list(inputs.get("notes") or []) + cleaning.lines()
    summary["series_methods"] = result.series.to_dict(orient="records")
    return jsonable({
        **run_records(result.forecasts, result.accuracy),
        "summary": summary,
        "log_excerpt": "\n".join(summary["cleaning"]),
        "timings": {**result.timings, "job_total": time.perf_counter() - started},
        "selection": result.selection.model_dump(mode="json") if result.selection is not None else None,
    })


# ---------------------------------------------------------------------------------------------
# Inputs and results (database side, run by the worker)
# ---------------------------------------------------------------------------------------------


def load_inputs(session: Session, job: Job, default_time_limit: float) -> dict[str, Any]:
    """The plain data a job's execution needs, read from the database."""
    payload = job.payload or {}
    if job.kind == JobKind.plan.value:
        version = session.get(ScenarioVersion, payload.get("scenario_version_id"))
        if version is None:
            raise JobInputError(f"scenario version {payload.get('scenario_version_id')} no longer exists")
        inputs = {
            "scenario": version.content,
            "options": payload.get("options") or {},
            "time_limit": job.time_limit or default_time_limit,
        }
        source = warm_source(session, version, payload.get("plan_id"), (payload.get("options") or {}).get("finance"))
        if source is not None:
            inputs["warm"] = {"plan_id": source[0], "basis": source[1]}
        return inputs
    if job.kind == JobKind.at_risk.value:
        run = session.get(AtRiskRun, payload.get("at_risk_id"))
        plan = session.get(PlanRecord, run.plan_id) if run is not None else None
        if plan is None or plan.result is None:
            raise JobInputError(f"the plan of funding-at-risk run {payload.get('at_risk_id')} no longer has a result")
        version = session.get(ScenarioVersion, plan.scenario_version_id)
        options = AtRiskOptions.model_validate(payload.get("options") or {})
        inputs = {"scenario": version.content, "plan": plan.result, "options": options.model_dump(mode="json"),
                  "time_limit": job.time_limit or at_risk_time_limit(options, default_time_limit)}
        if options.consensus_version is not None:
            cv = session.scalar(select(ConsensusVersion).where(ConsensusVersion.version == options.consensus_version))
            if cv is None:
                raise JobInputError(f"consensus version {options.consensus_version} no longer exists")
            inputs["quantiles"] = [{k: r.get(k) for k in ("unique_id", "ds", "p10", "p50", "p90")} for r in cv.rows]
        return inputs
    if job.kind == JobKind.integration.value:
        study = session.get(IntegrationStudyRecord, payload.get("study_id"))
        version = session.get(ScenarioVersion, study.scenario_version_id) if study is not None else None
        if version is None:
            raise JobInputError(f"the scenario version of value-of-integration study {payload.get('study_id')} no longer exists")
        options = IntegrationOptions.model_validate(payload.get("options") or {})
        return {"scenario": version.content, "options": options.model_dump(mode="json"),
                "time_limit": job.time_limit or integration_time_limit(options, default_time_limit)}
    if job.kind == JobKind.forecast.value:
        options = ForecastRunOptions.model_validate(payload.get("options") or {})
        history, keys, notes = shared_history(session, options.partner_ids)
        inputs = {"history": history, "keys": keys, "notes": notes, "options": options.model_dump()}
        if not options.fast and not options.reselect:
            inputs["selection"] = kept_selection(session, options, payload.get("forecast_run_id"))
        return inputs
    raise JobInputError(f"unknown job kind {job.kind!r}")


def kept_selection(session: Session, options: ForecastRunOptions, run_id: Any) -> dict[str, Any] | None:
    """The model selection of the latest finished forecast run (other than ``run_id``) made with the
    same horizon, bucket, windows, pool and partners; None when there is none."""
    same = ("horizon", "freq", "n_windows", "pool", "partner_ids")
    wanted = options.model_dump(mode="json")
    rows = session.execute(
        select(ForecastRun.id, ForecastRun.params).where(
            ForecastRun.status == JobStatus.done.value, ForecastRun.id != (run_id if isinstance(run_id, int) else -1))
        .order_by(ForecastRun.finished_at.desc(), ForecastRun.id.desc())
    ).all()
    for run_id_, params in rows:
        try:
            theirs = ForecastRunOptions.model_validate(params or {}).model_dump(mode="json")
        except ValueError:
            continue
        if not theirs["fast"] and all(theirs[k] == wanted[k] for k in same):
            return session.scalar(select(ForecastRun.selection).where(ForecastRun.id == run_id_))
    return None


def warm_source(session: Session, version: ScenarioVersion, plan_id: Any, finance: Any = None) -> tuple[int, bytes] | None:
    """The earlier plan a plan of ``version`` starts from: a finished plan of the same scenario
    with a stored basis, other than ``plan_id``. Preferred: the parent version (``version - 1``),
    then the same version (solved with other options), then the nearest other version (earlier
    first); among those, one solved with the same ``finance`` option, then the latest finished.
    Returns (plan id, basis bytes), or None."""
    rows = session.execute(
        select(PlanRecord.id, ScenarioVersion.version, PlanRecord.options, PlanRecord.finished_at)
        .join(ScenarioVersion, ScenarioVersion.id == PlanRecord.scenario_version_id)
        .where(ScenarioVersion.scenario_id == version.scenario_id, PlanRecord.status == JobStatus.done.value,
               PlanRecord.basis.is_not(None), PlanRecord.id != (plan_id if isinstance(plan_id, int) else -1))
    ).all()
    if not rows:
        return None
    v = version.version

    def rank(row) -> tuple:
        pid, ver, options, finished = row
        place = 0 if ver == v - 1 else 1 if ver == v else 2
        same_finance = bool((options or {}).get("finance")) == bool(finance)
        stamp = finished.timestamp() if finished is not None else 0.0
        return place, abs(ver - v), ver > v, not same_finance, -stamp, -pid

    best = min(rows, key=rank)[0]
    blob = session.scalar(select(PlanRecord.basis).where(PlanRecord.id == best))
    return (best, bytes(blob)) if blob is not None else None


def shared_history(session: Session, partner_ids: list[str] | None) -> tuple[dict[str, list[Any]], list[str], list[str]]:
    """The shared sales history (:func:`api.tables.history_frame`: per series and date the latest
    value of the series' owner from a non-retracted upload; ``partner_ids``: the series they own)
    as columns (name -> list: the key and date lists refer to one string per distinct value, so a
    large history costs a few dozen bytes a point, not a dict per row), its key columns (fixed by
    the collaboration), and notes on what was left out."""
    from api.tables import history_frame

    hist = history_frame(session, partner_ids)
    if hist.empty:
        raise JobInputError("no sales history: upload history first",
                            [{"path": "partner_ids", "message": "no uploads" + (f" from {partner_ids}" if partner_ids else "")}])
    keys = [c for c in hist.columns if c not in ("date", "quantity")]
    notes = []
    complete = hist.dropna(subset=keys)
    if len(complete) < len(hist):  # uploads with different key columns: a row must have every key
        notes.append(f"{len(hist) - len(complete)} uploaded rows lack one of the key columns {keys} and were left out")
    if complete.empty:
        raise JobInputError("the uploads share no key columns", [{"path": "partner_ids", "message": f"keys {keys}"}])
    return {c: complete[c].tolist() for c in complete.columns}, keys, notes


def record_of(session: Session, job: Job) -> PlanRecord | ForecastRun | AtRiskRun | IntegrationStudyRecord | None:
    """The plan, forecast run, funding-at-risk run or value-of-integration study a job fills."""
    payload = job.payload or {}
    if job.kind == JobKind.integration.value:
        return session.get(IntegrationStudyRecord, payload.get("study_id"))
    if job.kind == JobKind.at_risk.value:
        return session.get(AtRiskRun, payload.get("at_risk_id"))
    if job.kind == JobKind.plan.value:
        return session.get(PlanRecord, payload.get("plan_id"))
    if job.kind == JobKind.forecast.value:
        return session.get(ForecastRun, payload.get("forecast_run_id"))
    return None


def store_result(session: Session, job: Job, result: dict[str, Any]) -> str:
    """Write a finished job's result; idempotent (a record already filled by this job is kept)."""
    record = record_of(session, job)
    if record is None:
        raise JobInputError(f"the {job.kind} record of job {job.id} no longer exists")
    now = utcnow()
    if isinstance(record, AtRiskRun):
        ref = f"at_risk:{record.plan_id}:{record.id}"
        if record.status == JobStatus.done.value and record.result is not None and record.job_id == job.id:
            return ref
        record.result = result["at_risk"]
        record.status = JobStatus.done.value
        record.job_id = job.id
        record.finished_at = now
        session.flush()
        return ref
    if isinstance(record, IntegrationStudyRecord):
        version = session.get(ScenarioVersion, record.scenario_version_id)
        ref = f"integration:{version.scenario_id if version else 0}:{record.id}"
        if record.status == JobStatus.done.value and record.result is not None and record.job_id == job.id:
            return ref
        record.result = result["study"]
        record.status = JobStatus.done.value
        record.job_id = job.id
        record.finished_at = now
        session.flush()
        return ref
    if isinstance(record, PlanRecord):
        ref = f"plan:{record.id}"
        if record.status == JobStatus.done.value and record.result is not None and record.job_id == job.id:
            return ref
        record.result = result["plan"]
        basis = result.get("basis")
        if isinstance(basis, str):
            try:
                record.basis = base64.b64decode(basis, validate=True)
            except ValueError:
                record.basis = None  # never worth failing a finished plan over
        record.status = JobStatus.done.value
        record.job_id = job.id
        record.finished_at = now
        from api.plan_tables import store_plan_tables

        store_plan_tables(session, record.id, record.result)  # each table on its own, for the table routes
        have = set(session.scalars(select(FundingResultRecord.partner).where(FundingResultRecord.plan_id == record.id)))
        for partner, data in (result.get("funding") or {}).items():
            if partner not in have:
                session.add(FundingResultRecord(plan_id=record.id, partner=partner, result=data))
        session.flush()
        from api.routes.reviews import scenario_of, void_superseded_reviews

        void_superseded_reviews(session, scenario_of(session, record))  # a newer plan voids earlier reviews
        return ref
    ref = f"forecast_run:{record.id}"
    if record.status == JobStatus.done.value and record.forecasts is not None and record.job_id == job.id:
        return ref
    record.forecasts = result["forecasts"]
    record.accuracy = result["accuracy"]
    record.summary = result["summary"]
    record.selection = result.get("selection")
    record.status = JobStatus.done.value
    record.job_id = job.id
    record.finished_at = now
    session.flush()
    return ref


def mirror_status(session: Session, job: Job) -> None:
    """Copy a job's status (other than done, which :func:`store_result` writes) onto its record."""
    if job.status == JobStatus.done.value:
        return
    record = record_of(session, job)
    if record is None or record.job_id != job.id or record.status == JobStatus.done.value:
        return
    record.status = job.status
    record.finished_at = job.finished_at if job.final else None
