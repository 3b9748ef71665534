"""Finance reviews: a finance user approves or rejects a plan's funding with a comment. A newer
finished plan of the same scenario (any version) voids the reviews of the earlier plans (the plan
job runner voids them when it stores the plan; the review routes apply the same rule on read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import CONFLICT, NOT_FOUND
from api.models import FinanceReview, PlanRecord, ScenarioVersion, User, utcnow
from api.schemas import Out, PageOf, page_of

router = APIRouter(tags=["reviews"], route_class=StrictJSONRoute)

PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Plan id")]
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Review id")]


class ReviewCreate(BaseModel):
    """A finance decision on a plan's funding."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"decision": "approve", "comment": "gap covered by the reverse-factoring line"}]}}
    decision: Literal["approve", "reject"] = Field(description="approve or reject")
    comment: Annotated[str, Field(min_length=1, max_length=5000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")] = Field(
        description="Why (required)")


class ReviewPublic(Out):
    """A finance review."""

    id: int = Field(description="Review id")
    plan_id: int = Field(description="Plan reviewed")
    reviewer: str = Field(description="Who reviewed it")
    decision: str = Field(description="approve or reject")
    comment: str = Field(description="Why")
    created_at: datetime = Field(description="When [UTC]")
    voided_at: datetime | None = Field(description="When a newer plan of the scenario voided it")
    voided_by_plan_id: int | None = Field(description="The newer plan that voided it")
    active: bool = Field(description="Not voided")


FINANCE_READ = {"admin", "planner", "finance"}
access.register("POST", "/plans/{plan_id}/reviews", {"finance"}, obj="plan")
access.register("GET", "/plans/{plan_id}/reviews", FINANCE_READ, obj="plan")
access.register("GET", "/reviews", FINANCE_READ)
access.register("GET", "/reviews/{review_id}", FINANCE_READ, obj="review")


def scenario_of(session, plan: PlanRecord) -> int:
    return session.get(ScenarioVersion, plan.scenario_version_id).scenario_id


def newest_done_plan(session, scenario_id: int) -> int | None:
    """Id of the newest finished plan of a scenario (any version)."""
    return session.scalar(select(func.max(PlanRecord.id)).join(ScenarioVersion, PlanRecord.scenario_version_id == ScenarioVersion.id)
                          .where(ScenarioVersion.scenario_id == scenario_id, PlanRecord.status == "done"))


def void_superseded_reviews(session, scenario_id: int) -> int:
    """Void the live reviews of the plans of ``scenario_id`` older than its newest finished plan;
    returns how many."""
    newest = newest_done_plan(session, scenario_id)
    if newest is None:
        return 0
    older = select(PlanRecord.id).join(ScenarioVersion, PlanRecord.scenario_version_id == ScenarioVersion.id).where(
        ScenarioVersion.scenario_id == scenario_id, PlanRecord.id < newest)
    stale = session.scalars(select(FinanceReview).where(FinanceReview.plan_id.in_(older),
                                                        FinanceReview.voided_at.is_(None))).all()
    now = utcnow()
    for r in stale:
        r.voided_at, r.voided_by_plan_id = now, newest
    return len(stale)


def newest_done_plans():
    """Subquery: each scenario's newest finished plan (``scenario_id``, ``plan_id``)."""
    return (select(ScenarioVersion.scenario_id.label("scenario_id"), func.max(PlanRecord.id).label("plan_id"))
            .join(PlanRecord, PlanRecord.scenario_version_id == ScenarioVersion.id)
            .where(PlanRecord.status == "done").group_by(ScenarioVersion.scenario_id).subquery())


def void_all_superseded(session) -> int:
    """:func:`void_superseded_reviews` for every scenario at once: one query finds the live
    reviews of plans older than their scenario's newest finished plan (none, usually)."""
    newest = newest_done_plans()
    stale = session.execute(
        select(FinanceReview, newest.c.plan_id)
        .join(PlanRecord, PlanRecord.id == FinanceReview.plan_id)
        .join(ScenarioVersion, ScenarioVersion.id == PlanRecord.scenario_version_id)
        .join(newest, newest.c.scenario_id == ScenarioVersion.scenario_id)
        .where(FinanceReview.voided_at.is_(None), FinanceReview.plan_id < newest.c.plan_id)).all()
    now = utcnow()
    for r, by in stale:
        r.voided_at, r.voided_by_plan_id = now, by
    return len(stale)


def live_review():
    """EXISTS clause: the plan (``plans.id``) has a live (not voided) review."""
    return exists().where(FinanceReview.plan_id == PlanRecord.id, FinanceReview.voided_at.is_(None))


def inbox_filter(q, review: str):
    """``q`` (a select joining plans and scenario_versions) limited to the finance inbox's
    ``waiting`` or ``decided`` plans: each scenario's newest finished plan (only it can be
    reviewed), without (waiting) or with (decided) a live review. Run after
    :func:`void_all_superseded`, as the review routes answer."""
    newest = newest_done_plans()
    q = q.join(newest, (newest.c.scenario_id == ScenarioVersion.scenario_id) & (newest.c.plan_id == PlanRecord.id))
    return q.where(~live_review() if review == "waiting" else live_review())


def latest_live_reviews(session, plan_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest live review of each of ``plan_ids`` (as the API shows a review), one query."""
    if not plan_ids:
        return {}
    rows = session.execute(select(FinanceReview, User.name).join(User, User.id == FinanceReview.reviewer_id)
                           .where(FinanceReview.plan_id.in_(plan_ids), FinanceReview.voided_at.is_(None))
                           .order_by(FinanceReview.id)).all()
    out: dict[int, dict[str, Any]] = {}
    for r, name in rows:  # ordered by id: the latest wins
        out[r.plan_id] = public(r, session, reviewer=name)
    return out


def public(r: FinanceReview, session, reviewer: str | None = None) -> dict[str, Any]:
    out = {c: getattr(r, c) for c in ("id", "plan_id", "decision", "comment", "created_at", "voided_at", "voided_by_plan_id")}
    out["reviewer"] = reviewer if reviewer is not None else session.get(User, r.reviewer_id).name
    out["active"] = r.voided_at is None
    return out


def get_plan(session, plan_id: int) -> PlanRecord:
    plan = session.get(PlanRecord, plan_id)
    if plan is None:
        raise access.not_found("plan", plan_id)
    return plan


@router.post("/plans/{plan_id}/reviews", response_model=ReviewPublic, status_code=201,
             summary="Approve or reject a plan's funding", responses={**NOT_FOUND, **CONFLICT})
def create_review(plan_id: PlanId, body: ReviewCreate, user: AuthorizedUser, session: SessionDep):
    plan = get_plan(session, plan_id)
    if plan.status != "done":
        raise HTTPException(409, detail=f"plan {plan_id} is {plan.status}: only a finished plan can be reviewed")
    void_superseded_reviews(session, scenario_of(session, plan))
    newer = newest_done_plan(session, scenario_of(session, plan))
    if newer != plan.id:
        session.commit()
        raise HTTPException(409, detail=f"plan {plan_id} is superseded by plan {newer} of the same scenario: review that one")
    review = FinanceReview(plan_id=plan.id, reviewer_id=user.id, decision=body.decision, comment=body.comment)
    session.add(review)
    session.commit()
    return public(review, session)


@router.get("/plans/{plan_id}/reviews", response_model=list[ReviewPublic], summary="Reviews of a plan",
            responses=NOT_FOUND)
def plan_reviews(plan_id: PlanId, user: AuthorizedUser, session: SessionDep):
    plan = get_plan(session, plan_id)
    void_superseded_reviews(session, scenario_of(session, plan))
    session.commit()
    rows = session.scalars(select(FinanceReview).where(FinanceReview.plan_id == plan_id).order_by(FinanceReview.id)).all()
    return [public(r, session) for r in rows]


@router.get("/reviews", response_model=PageOf[ReviewPublic], summary="List finance reviews (newest first)")
def list_reviews(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    active: Annotated[bool | None, Query(description="true: only live reviews; false: only voided ones")] = None,
):
    void_all_superseded(session)
    session.commit()
    q = select(FinanceReview)
    if active is True:
        q = q.where(FinanceReview.voided_at.is_(None))
    elif active is False:
        q = q.where(FinanceReview.voided_at.is_not(None))
    return page_of(session, q, page, FinanceReview.id.desc(), lambda r: public(r, session))


@router.get("/reviews/{review_id}", response_model=ReviewPublic, summary="One finance review", responses=NOT_FOUND)
def get_review(review_id: ReviewId, user: AuthorizedUser, session: SessionDep):
    r = session.get(FinanceReview, review_id)
    if r is None:
        raise access.not_found("review", review_id)
    void_superseded_reviews(session, scenario_of(session, session.get(PlanRecord, r.plan_id)))
    session.commit()
    return public(r, session)
