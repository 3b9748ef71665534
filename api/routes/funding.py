"""Funding of a plan, per partner: peak need, instrument mix, cost, cash curve.

Stored by the plan job when the scenario has finance instruments: sized after the plan
(``finance.sizing.size_plan_funding``), or chosen with it (``options.finance``: joint planning).
A partner user sees only its own partner's funding, never another's (404 for the others) and not
the chain totals.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, SessionDep
from api.errors import NOT_FOUND
from api.models import FundingResultRecord, PlanRecord
from api.routes.plans import NOT_READY, PlanId

router = APIRouter(prefix="/plans", tags=["funding"], route_class=StrictJSONRoute)

PartnerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                description="Partner id (as in the scenario)")]


class PartnerFunding(BaseModel):
    """One partner's funding of a plan: only that partner's numbers."""

    partner: str = Field(description="Partner id")
    mode: str | None = Field(description="joint (chosen with the plan) or sized (after the plan)")
    status: str = Field(description="optimal or feasible (funded), infeasible (cannot be funded), time_limit, error")
    currency: str = Field(description="Currency of every amount")
    periods_per_year: int = Field(description="Periods per year (rates per period; EAR over a year)")
    kpis: dict[str, Any] = Field(description="Peak funding need and debt (with their periods), financing cost, "
                                             "effective annual rate, headroom, DSO/DIO/DPO, cash conversion cycle, instruments")
    tables: dict[str, list[dict[str, Any]]] = Field(description="The partner's rows of the funding tables: partners (summary), "
                                                                "cash (per period) and instruments (per instrument and period)")
    diagnosis: dict[str, Any] | None = Field(description="When the plan cannot be funded: how short the partner is and when")


class PlanFunding(BaseModel):
    """A plan's funding: per partner (a partner user gets only its own) and, for staff, the chain summary."""

    plan_id: int = Field(description="Plan id")
    summary: dict[str, Any] | None = Field(description="Chain totals and status (not shown to partner users); null when "
                                                       "the scenario has no finance instruments")
    partners: list[PartnerFunding] = Field(description="Funding per partner")


access.register("GET", "/plans/{plan_id}/funding", access.ALL_ROLES, obj="plan", partner_filtered=True,
                note="a partner user sees only its own partner's funding")
access.register("GET", "/plans/{plan_id}/funding/{partner_id}", access.ALL_ROLES, obj="partner", partner_owned=True,
                note="a partner user reaching another partner's funding gets 404")


def _done_plan(session, plan_id: int, user) -> PlanRecord:
    """The plan, done. Partner users never see plans themselves, only their own funding of one:
    for them a plan without it (not done yet, or not funding them) is absent, 404 as a missing
    one, never 409 with the job's state (the access check comes before any state check)."""
    plan = session.get(PlanRecord, plan_id)
    scope = access.partner_scope(user)
    if plan is not None and scope is not None:
        funded = plan.status == "done" and session.scalar(
            select(FundingResultRecord.id).where(FundingResultRecord.plan_id == plan.id, FundingResultRecord.partner == scope).limit(1))
        if not funded:
            plan = None
    if plan is None:
        raise access.not_found("plan", plan_id)
    if plan.status != "done":
        raise HTTPException(409, detail=f"plan {plan_id} has no result: its job is {plan.status} (poll /plans/{plan_id})")
    return plan


@router.get("/{plan_id}/funding", response_model=PlanFunding, summary="A plan's funding, per partner",
            responses={**NOT_FOUND, **NOT_READY})
def plan_funding(plan_id: PlanId, user: AuthorizedUser, session: SessionDep):
    plan = _done_plan(session, plan_id, user)
    q = select(FundingResultRecord).where(FundingResultRecord.plan_id == plan.id).order_by(FundingResultRecord.id)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(FundingResultRecord.partner == scope)
    rows = session.scalars(q).all()
    summary = None if scope is not None else (plan.result or {}).get("funding_summary")
    return PlanFunding(plan_id=plan.id, summary=summary, partners=[PartnerFunding(**r.result) for r in rows])


@router.get("/{plan_id}/funding/{partner_id}", response_model=PartnerFunding, summary="One partner's funding of a plan",
            responses={**NOT_FOUND, **NOT_READY})
def partner_funding(plan_id: PlanId, partner_id: PartnerId, user: AuthorizedUser, session: SessionDep):
    access.own_partner_or_404(user, partner_id, "funding of partner", partner_id)
    plan = _done_plan(session, plan_id, user)
    row = session.scalar(select(FundingResultRecord).where(FundingResultRecord.plan_id == plan.id, FundingResultRecord.partner == partner_id))
    if row is None:
        raise access.not_found(f"funding of plan {plan_id} for partner", partner_id)
    return PartnerFunding(**row.result)
