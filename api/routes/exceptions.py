"""CPFR exceptions: found by applying a collaboration's rules to the latest forecasts and the
shared history; listed (a partner sees those that involve it) and resolved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field, Strict
from sqlalchemy import case, exists, func, select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import NOT_FOUND
from api.models import ExceptionPartner, ExceptionRecord, PartnerRecord, ResolutionRecord, User, utcnow
from api.schemas import Out, PageOf, Text
from api.store import DatabaseStore
from api.tables import actuals_frame, unprocessable
from forecasting import workflow
from forecasting.consensus import Resolution
from forecasting.exceptions import CollaborationRules, RulesError
from forecasting.submissions import STATISTICAL

router = APIRouter(prefix="/exceptions", tags=["exceptions"], route_class=StrictJSONRoute)
scan_router = APIRouter(prefix="/exception-scans", tags=["exceptions"], route_class=StrictJSONRoute)
facets_router = APIRouter(prefix="/exception-facets", tags=["exceptions"], route_class=StrictJSONRoute)

ExceptionId = Annotated[str, Path(pattern=r"^EX-[0-9a-f]{10}$", description="Exception id (EX- and 10 hex digits)")]
NOT_PARTNERS = {STATISTICAL, "in_stock", "fill_rate", ""}


class ScanRequest(BaseModel):
    """Apply a collaboration's rules now."""

    model_config = {"json_schema_extra": {"examples": [{
        "freq": "M",
        "rules": {"name": "small-chain CPFR", "rules": [
            {"name": "retailer-vs-statistical", "kind": "tolerance", "sources": ["shops", "statistical"],
             "relative": 0.15, "absolute": 60, "owner": "shops"},
            {"name": "forecast-error", "kind": "error", "limit": 0.12, "window": 12},
        ]},
    }]}}
    rules: dict[str, Any] = Field(description="Collaboration rules: {name, rules: [{name, kind: tolerance|error|service, ...}]}")
    freq: Literal["W", "M"] = Field("M", description="Bucket of the shared history for the forecast-error rules")


class ExceptionPublic(Out):
    """One exception: where sources disagree or a source has been wrong."""

    id: str = Field(description="Stable exception id (same rule, series, period and sources: same id)")
    unique_id: str = Field(description="Series")
    ds: str | None = Field(description="Period start date (ISO)")
    rule: str = Field(description="Rule broken")
    kind: str = Field(description="tolerance, error or service")
    sources: str = Field(description="Sources involved, e.g. 'shops vs statistical'")
    values: str = Field(description="Their values")
    measure: float | None = Field(description="Measured difference or error")
    limit: float | None = Field(description="The rule's limit")
    severity: str = Field(description="low, medium or high")
    owner: str = Field(description="Partner who owns the resolution")
    message: str = Field(description="What is wrong")
    partners: list[str] = Field(description="Partners involved (they see the exception)")
    first_seen_at: datetime = Field(description="First found [UTC]")
    last_seen_at: datetime = Field(description="Last found [UTC]")
    resolved: bool = Field(description="Whether a resolution cites it")


class ScanResult(BaseModel):
    """Result of applying the rules."""

    found: int = Field(description="Exceptions found now")
    new: int = Field(description="Of which not seen before")
    notes: list[str] = Field(description="Rules skipped and why")


class ResolveRequest(BaseModel):
    """How to resolve an exception: take one source, enter a value with a reason, or apply a rule."""

    model_config = {"json_schema_extra": {"examples": [
        {"action": "accept_source", "source": "shops", "reason": "promotion confirmed"},
        {"action": "adjust", "value": 850, "reason": "store refit in March"},
    ]}}
    action: Literal["accept_source", "adjust", "apply_rule"] = Field(description="accept_source, adjust or apply_rule")
    source: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")] | None = Field(
        None, description="accept_source: the source whose value is taken (a partner id or statistical)")
    value: Annotated[float, Strict()] | None = Field(None, ge=0, le=1e15, description="adjust: the agreed value [units per period]")
    rule: Literal["weighted", "mean", "median", "max", "min", "statistical"] | None = Field(
        None, description="apply_rule: the consensus rule to use here")
    reason: Text = Field("", description="Why; required for adjust")
    periods: list[date] | None = Field(None, max_length=520, description="Periods resolved; default: the exception's "
                                       "period for a tolerance exception, every period otherwise")


class ResolutionPublic(Out):
    """A recorded resolution."""

    id: int = Field(description="Resolution id")
    exception_id: str | None = Field(description="Exception resolved")
    unique_id: str = Field(description="Series")
    periods: list[str] | None = Field(description="Periods (ISO dates); null: every period")
    action: str = Field(description="accept_source, adjust or apply_rule")
    source: str | None = Field(description="Accepted source")
    value: float | None = Field(description="Adjusted value [units per period]")
    rule: str | None = Field(description="Rule applied")
    reason: str = Field(description="Why")
    author: str = Field(description="Who resolved it")
    created_at: datetime = Field(description="When [UTC]")


access.register("POST", "/exception-scans", {"admin", "planner"})
access.register("GET", "/exceptions", {"admin", "planner", "partner"}, partner_filtered=True,
                note="a partner sees the exceptions that involve it")
access.register("GET", "/exception-facets", {"admin", "planner", "partner"}, partner_filtered=True,
                note="counted over the exceptions the caller sees (a partner: those that involve it)")
access.register("GET", "/exceptions/{exception_id}", {"admin", "planner", "partner"}, obj="exception",
                partner_owned=True)
access.register("POST", "/exceptions/{exception_id}/resolve", {"admin", "planner", "partner"}, obj="exception",
                partner_owned=True, note="a partner resolves only exceptions that involve it")
access.register("GET", "/exceptions/{exception_id}/resolutions", {"admin", "planner", "partner"}, obj="exception",
                partner_owned=True)


def involved(row: dict[str, Any]) -> list[str]:
    names = {s.strip() for s in str(row["sources"]).split(" vs ")} | {str(row["owner"]).strip()}
    return sorted(n for n in names if n not in NOT_PARTNERS)


def public(rec: ExceptionRecord, session, resolved: bool | None = None) -> dict[str, Any]:
    """``rec`` as the API shows it; ``resolved`` when the caller knows it (a list reads it for the
    whole page in one query)."""
    out = {c: getattr(rec, c) for c in ("id", "unique_id", "ds", "rule", "kind", "sources", "values", "measure", "limit",
                                        "severity", "owner", "message", "partners", "first_seen_at", "last_seen_at")}
    out["resolved"] = resolved if resolved is not None else bool(resolved_ids(session, [rec.id]))
    return out


def resolved_ids(session, ids: list[str]) -> set[str]:
    """Which of ``ids`` have at least one resolution (one query)."""
    if not ids:
        return set()
    return set(session.scalars(select(ResolutionRecord.exception_id).where(ResolutionRecord.exception_id.in_(ids)).distinct()))


def visible(user: User, rec: ExceptionRecord | None, ident: str) -> ExceptionRecord:
    scope = access.partner_scope(user)
    if rec is None or (scope is not None and scope not in rec.partners):
        raise access.not_found("exception", ident)
    return rec


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


@scan_router.post("", response_model=ScanResult, summary="Apply the collaboration rules and record the exceptions")
def scan(body: ScanRequest, user: AuthorizedUser, session: SessionDep):
    try:
        rules = CollaborationRules.from_dict(body.rules)
    except RulesError as exc:
        raise HTTPException(422, detail=[{"field": f"body.rules.{p.split(':', 1)[0]}", "loc": ["body", "rules"],
                                          "msg": p.split(": ", 1)[-1], "type": "value_error"} for p in exc.problems]) from None
    actuals = actuals_frame(session, body.freq)
    try:
        table = workflow.run_exceptions(DatabaseStore(session), rules, actuals=actuals)
    except workflow.NoForecasts as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except ValueError as exc:
        raise unprocessable("body.rules", str(exc)) from None
    now, new = utcnow(), 0
    for row in table.to_dict(orient="records"):
        rec = session.get(ExceptionRecord, row["exception_id"])
        ds = pd.Timestamp(row["ds"]).date().isoformat() if pd.notna(row["ds"]) else None
        fields = dict(unique_id=str(row["unique_id"]), ds=ds, rule=str(row["rule"]), kind=str(row["kind"]),
                      sources=str(row["sources"]), values=str(row["values"]), measure=_num(row["measure"]),
                      limit=_num(row["limit"]), severity=str(row["severity"]), owner=str(row["owner"] or ""),
                      message=str(row["message"]), partners=involved(row), last_seen_at=now)
        if rec is None:
            session.add(ExceptionRecord(id=row["exception_id"], first_seen_at=now, **fields))
            new += 1
        else:
            for k, v in fields.items():
                setattr(rec, k, v)
    session.commit()
    return {"found": len(table), "new": new, "notes": list(table.attrs.get("notes", []))}


RuleName = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$", description="Only this rule's exceptions")]
PartnerFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                     description="Only the exceptions involving this partner (a partner user: its own "
                                                 "scope still applies)")]
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def scoped(user: User, q, partner: str | None = None):
    """``q`` (a select over cpfr_exceptions) limited to what ``user`` sees (a partner user: the
    exceptions involving it) and to ``partner`` when given; both in SQL (exception_partners)."""
    for p in (access.partner_scope(user), partner):
        if p is not None:
            q = q.where(ExceptionRecord.id.in_(select(ExceptionPartner.exception_id).where(ExceptionPartner.partner_id == p)))
    return q


def is_resolved():
    return exists().where(ResolutionRecord.exception_id == ExceptionRecord.id)


@router.get("", response_model=PageOf[ExceptionPublic],
            summary="List exceptions, most severe and open first (a partner: those involving it)")
def list_exceptions(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    severity: Annotated[Literal["low", "medium", "high"] | None, Query(description="Only this severity")] = None,
    rule: RuleName = None,
    partner: PartnerFilter = None,
    resolved: Annotated[bool | None, Query(description="true: only resolved exceptions; false: only those waiting for "
                                                       "a resolution")] = None,
):
    """Filtered, counted and paged by the database; the partner scope too (exception_partners),
    so ``total`` counts only what the caller may see."""
    q = scoped(user, select(ExceptionRecord), partner)
    if severity:
        q = q.where(ExceptionRecord.severity == severity)
    if rule is not None:
        q = q.where(ExceptionRecord.rule == rule)
    if resolved is not None:
        q = q.where(is_resolved() if resolved else ~is_resolved())
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rank = case(*((ExceptionRecord.severity == k, v) for k, v in SEVERITY_RANK.items()), else_=len(SEVERITY_RANK))
    items = session.scalars(q.order_by(rank, case((is_resolved(), 1), else_=0), ExceptionRecord.unique_id,
                                       ExceptionRecord.ds, ExceptionRecord.id).limit(page.limit).offset(page.offset)).all()
    done = resolved_ids(session, [r.id for r in items])
    return {"items": [public(r, session, r.id in done) for r in items], "total": total, "limit": page.limit,
            "offset": page.offset}


class FacetCount(BaseModel):
    """A filter's value and how many exceptions have it."""

    value: str = Field(description="The value (a rule, severity or partner)")
    count: int = Field(ge=0, description="Exceptions with it (visible to the caller)")


class ExceptionFacets(BaseModel):
    """The choices of the exceptions inbox's filters, counted over what the caller sees."""

    total: int = Field(ge=0, description="Exceptions visible to the caller")
    rules: list[FacetCount] = Field(description="Rules, by name")
    severities: list[FacetCount] = Field(description="Severities, most severe first")
    partners: list[FacetCount] = Field(description="Partners involved, by id (a partner user: only itself)")
    open: int = Field(ge=0, description="Exceptions waiting for a resolution")
    resolved: int = Field(ge=0, description="Exceptions with a resolution")


@facets_router.get("", response_model=ExceptionFacets, summary="The exceptions inbox's filter choices with counts")
def exception_facets(user: AuthorizedUser, session: SessionDep):
    """Counted by the database (a few GROUP BY queries) over the exceptions the caller sees."""
    visible_ids = scoped(user, select(ExceptionRecord.id)).subquery()
    base = select(ExceptionRecord).where(ExceptionRecord.id.in_(select(visible_ids.c.id)))

    def grouped(col):
        return [(str(v), int(n)) for v, n in session.execute(
            base.with_only_columns(col, func.count()).group_by(col).order_by(col))]

    rules = grouped(ExceptionRecord.rule)
    severities = sorted(grouped(ExceptionRecord.severity), key=lambda vn: (SEVERITY_RANK.get(vn[0], 3), vn[0]))
    pq = (select(ExceptionPartner.partner_id, func.count())
          .where(ExceptionPartner.exception_id.in_(select(visible_ids.c.id)))
          .group_by(ExceptionPartner.partner_id).order_by(ExceptionPartner.partner_id))
    scope = access.partner_scope(user)
    if scope is not None:  # another partner involved in the same exception is not named
        pq = pq.where(ExceptionPartner.partner_id == scope)
    partners = [(str(v), int(n)) for v, n in session.execute(pq)]
    total, resolved = session.execute(base.with_only_columns(
        func.count(), func.coalesce(func.sum(case((is_resolved(), 1), else_=0)), 0))).one()
    as_counts = lambda pairs: [{"value": v, "count": n} for v, n in pairs]  # noqa: E731
    return {"total": int(total), "rules": as_counts(rules), "severities": as_counts(severities),
            "partners": as_counts(partners), "open": int(total) - int(resolved), "resolved": int(resolved)}


@router.get("/{exception_id}", response_model=ExceptionPublic, summary="One exception", responses=NOT_FOUND)
def get_exception(exception_id: ExceptionId, user: AuthorizedUser, session: SessionDep):
    return public(visible(user, session.get(ExceptionRecord, exception_id), exception_id), session)


def resolution_public(res: ResolutionRecord, session) -> dict[str, Any]:
    out = {c: getattr(res, c) for c in ("id", "exception_id", "unique_id", "periods", "action", "source", "value",
                                        "rule", "reason", "created_at")}
    out["author"] = session.get(User, res.author_id).name
    return out


def known_sources(user: User, rec: ExceptionRecord, session) -> set[str]:
    """Sources an ``accept_source`` resolution may name: the statistical forecast and the
    partners (staff), or, for a partner user, the exception's own sources and itself (so the
    answer reveals nothing about other partners)."""
    scope = access.partner_scope(user)
    if scope is not None:
        return {s.strip() for s in str(rec.sources).split(" vs ") if s.strip()} | {scope, STATISTICAL}
    return set(session.scalars(select(PartnerRecord.id)).all()) | {STATISTICAL}


@router.post("/{exception_id}/resolve", response_model=ResolutionPublic, status_code=201,
             summary="Resolve an exception", responses=NOT_FOUND)
def resolve(exception_id: ExceptionId, body: ResolveRequest, user: AuthorizedUser, session: SessionDep):
    rec = visible(user, session.get(ExceptionRecord, exception_id), exception_id)
    periods = body.periods
    if periods is None and rec.kind == "tolerance" and rec.ds:
        periods = [date.fromisoformat(rec.ds)]
    if body.action == "accept_source" and body.source is not None:
        known = known_sources(user, rec, session)
        if body.source not in known:
            raise unprocessable("body.source", f"unknown source {body.source!r}; known sources: {', '.join(sorted(known))}")
    data = {"action": body.action, "unique_id": rec.unique_id, "ds": periods, "source": body.source,
            "value": body.value, "rule": body.rule, "reason": body.reason, "author": user.name,
            "exception_id": rec.id}
    try:
        res = Resolution.model_validate({k: v for k, v in data.items() if v is not None})
    except Exception as exc:  # pydantic ValidationError: the action's fields do not fit
        msgs = [e["msg"].removeprefix("Value error, ") for e in getattr(exc, "errors", lambda: [])()] or [str(exc)]
        raise HTTPException(422, detail=[{"field": "body", "loc": ["body"], "msg": m, "type": "value_error"}
                                         for m in msgs]) from None
    store = DatabaseStore(session, user)
    recorded = workflow.record_resolution(store, res)
    return resolution_public(session.get(ResolutionRecord, store.row_id(recorded)), session)


@router.get("/{exception_id}/resolutions", response_model=list[ResolutionPublic],
            summary="Resolutions of an exception", responses=NOT_FOUND)
def list_resolutions(exception_id: ExceptionId, user: AuthorizedUser, session: SessionDep):
    rec = visible(user, session.get(ExceptionRecord, exception_id), exception_id)
    rows = session.scalars(select(ResolutionRecord).where(ResolutionRecord.exception_id == rec.id).order_by(ResolutionRecord.id)).all()
    return [resolution_public(r, session) for r in rows]
