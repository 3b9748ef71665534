"""Scenario comparison: the KPIs and funding of several plans side by side, in one call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, SessionDep
from api.errors import NOT_FOUND
from api.models import FundingResultRecord, PlanRecord, ScenarioVersion

router = APIRouter(prefix="/compare", tags=["compare"], route_class=StrictJSONRoute)

MAX_PLANS = 10
PARTNER_KPIS = ("revenue", "profit", "closing_cash", "peak_working_capital", "peak_funding_gap")
FUNDING_KPIS = ("peak_funding_need", "peak_debt", "financing_cost", "net_financing_cost", "effective_annual_rate",
                "min_cash_headroom", "cash_conversion_cycle_days", "peak_shortfall")
CHAIN_KPIS = ("revenue", "total_cost", "profit", "fill_rate", "unmet_demand", "average_inventory_value")


class PlanColumn(BaseModel):
    """One plan's column of the comparison."""

    plan_id: int = Field(description="Plan id")
    scenario_id: int = Field(description="Scenario")
    scenario_name: str = Field(description="Scenario name")
    version: int = Field(description="Scenario version")
    options: dict[str, Any] = Field(description="Solve options")
    status: str = Field(description="Job status (queued, running, done, failed, cancelled)")
    plan_status: str | None = Field(description="Solver status of the result (optimal, infeasible ...), when done")
    objective: float | None = Field(description="Objective value [currency]")
    chain: dict[str, Any] = Field(description="Chain KPIs: revenue, total_cost, profit, fill_rate, unmet_demand, "
                                                   "average_inventory_value (as in the plan's kpis.chain)")
    partners: dict[str, dict[str, Any]] = Field(description="Per partner: revenue, profit, closing_cash, peak_working_capital, "
                                                            "peak_funding_gap")
    funding: dict[str, Any] | None = Field(description="Funding: status, mode, net financing cost of the chain, and per partner "
                                                       "peak need, peak debt, financing cost, EAR, headroom, CCC, shortfall")


class Comparison(BaseModel):
    """Plans side by side, with each plan's differences to the first (the baseline)."""

    plans: list[PlanColumn] = Field(description="One column per plan, in the order asked")
    differences: list[dict[str, Any]] = Field(
        description="For each plan after the first: plan_id and (plan - baseline) of objective, chain profit, fill rate "
                    "and net financing cost (null where either side has no value)")


access.register("GET", "/compare/plans", {"admin", "planner", "finance"},
                note="staff only: a comparison shows every partner's numbers")


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _diff(a: Any, b: Any) -> float | None:
    a, b = _num(a), _num(b)
    return None if a is None or b is None else a - b


def column(session, plan: PlanRecord) -> PlanColumn:
    version = session.get(ScenarioVersion, plan.scenario_version_id)
    r = plan.result if plan.status == "done" and plan.result else {}
    kpis = r.get("kpis") or {}
    chain = {k: (kpis.get("chain") or {}).get(k) for k in CHAIN_KPIS} if kpis else {}
    partners = {a: {k: v.get(k) for k in PARTNER_KPIS} for a, v in (kpis.get("partners") or {}).items()}
    funding = None
    summary = r.get("funding_summary")
    if summary:
        rows = session.scalars(select(FundingResultRecord).where(FundingResultRecord.plan_id == plan.id)).all()
        funding = {
            "status": summary.get("status"), "mode": summary.get("mode"),
            "net_financing_cost": (summary.get("total") or {}).get("net_financing_cost"),
            "partners": {f.partner: {k: (f.result.get("kpis") or {}).get(k) for k in FUNDING_KPIS} for f in rows},
        }
    return PlanColumn(plan_id=plan.id, scenario_id=version.scenario_id, scenario_name=version.scenario.name,
                      version=version.version, options=plan.options, status=plan.status, plan_status=r.get("status"),
                      objective=r.get("objective"), chain=chain, partners=partners, funding=funding)


@router.get("/plans", response_model=Comparison, summary="Compare plans side by side", responses=NOT_FOUND,
            description=f"KPIs and funding of 2 to {MAX_PLANS} plans (e.g. `?plan_id=3&plan_id=7`); plans without a result "
                        "yet are shown with their status and empty KPIs.")
def compare_plans(
    user: AuthorizedUser, session: SessionDep,
    plan_id: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]],
                       Query(min_length=2, max_length=MAX_PLANS, description="Plans to compare, baseline first")],
):
    plans = []
    for pid in plan_id:
        plan = session.get(PlanRecord, pid)
        if plan is None:
            raise access.not_found("plan", pid)
        plans.append(column(session, plan))
    base = plans[0]
    diffs = []
    for p in plans[1:]:
        diffs.append({
            "plan_id": p.plan_id,
            "objective": _diff(p.objective, base.objective),
            "profit": _diff(p.chain.get("profit"), base.chain.get("profit")),
            "fill_rate": _diff(p.chain.get("fill_rate"), base.chain.get("fill_rate")),
            "net_financing_cost": _diff((p.funding or {}).get("net_financing_cost"),
                                        (base.funding or {}).get("net_financing_cost")),
        })
    return Comparison(plans=plans, differences=diffs)
