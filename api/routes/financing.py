"""Financing programmes and requests against confirmed invoices (issue 18 part 2): finance and
admin create programmes (or copy a scenario's instrument), finance overrides a supplier's limit
with a comment, a supplier partner requests an advance on its confirmed invoices and gets the
decision at once (:mod:`api.financing.decisions`), finance approves or declines what is left in
review. The book, advances and ledger are read in :mod:`api.routes.financing_book`.

A partner sees the programmes open to it (no buyer, the one it offers as the buyer, or one whose
buyer it has invoiced), its own requests and its own limit; another partner's request is 404,
lists never count it. Planners have no access (403).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import access
from api.bodies import StrictJSONRoute
from api.currencies import EXPONENT, format_minor
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import CONFLICT, NOT_FOUND, _resp
from api.financing import credit_rule, decisions, terms
from api.financing.models import (DAY_COUNTS, PROGRAMME_KINDS, REQUEST_STATUSES, FinancingItem, FinancingProgramme,
                                  FinancingRequest, SupplierLimit)
from api.invoices import field_problems
from api.models import PartnerRecord, ScenarioRecord, ScenarioVersion, User, utcnow
from api.routes.invoices import Currency
from api.schemas import Ident, PageOf

router = APIRouter(tags=["financing"], route_class=StrictJSONRoute)


def _not_bool(value):
    """JSON true/false is not an integer (pydantic's lax int would read it as 1/0); 3.0 is one."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]


ProgrammeId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Financing programme id")]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Financing request id")]
PartnerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                description="Partner id (the supplier)")]
MAX_AMOUNT = 10**12
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=4, description="Amount in the programme's currency "
                                  "(a decimal string keeps every digit): 0 to 10^12, in its decimals")]
Rate = Annotated[Decimal, Field(ge=0, le=10, decimal_places=6, description="A rate (0.05 = 5 %), at most 6 decimals")]
Fraction = Annotated[Decimal, Field(gt=0, le=1, decimal_places=6, description="A fraction above 0 and at most 1, 6 decimals")]
Comment = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
                               description="Why (required)")]

FIN_STAFF = frozenset({"admin", "finance"})
FIN_READERS = frozenset({"admin", "finance", "partner"})


class FromScenario(BaseModel):
    """A scenario instrument whose terms the programme copies."""

    model_config = ConfigDict(extra="forbid")
    scenario_id: Whole = Field(ge=1, le=2**31 - 1, description="Scenario")
    version: Whole | None = Field(None, ge=1, le=2**31 - 1, description="Its version (default: the latest)")
    partner: Ident = Field(description="The partner of the scenario's finance section holding the instrument")
    instrument_id: Ident = Field(description="The instrument: factoring, reverse_factoring or an asset_based line "
                                             "lending on receivables")


class ProgrammeCreate(BaseModel):
    """A financing programme: its terms given here, or copied from a scenario's instrument (then
    kind, currency, buyer, rates and fee come from it and may not be given)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Receivables factoring 2027", "kind": "factoring", "currency": "EUR", "advance_rate": "0.9",
        "rate": "0.06", "day_count": "actual/360", "fee_rate": "0.002", "max_invoice_age_days": 90,
        "min_days_to_due": 5, "buyer_concentration_limit": "1", "programme_limit": "5000000",
        "default_supplier_limit": "250000", "auto_decision_ceiling": "100000"}]})
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$",
                               description="Unique name")]
    kind: Literal[PROGRAMME_KINDS] | None = Field(None, description="factoring, reverse_factoring or receivables_line")  # type: ignore[valid-type]
    currency: Currency | None = Field(None, description="ISO 4217 code; only invoices in it are financed (from_scenario: the scenario's)")
    buyer_id: Ident | None = Field(None, description="reverse_factoring: the buyer offering it (required); otherwise "
                                                     "an optional restriction to invoices owed by this buyer")
    advance_rate: Fraction | None = Field(None, description="Share of the open amount advanced (0 < r ≤ 1)")
    rate: Rate | None = Field(None, description="Annual discount (factoring, reverse factoring) or interest (line) rate")
    day_count: Literal[DAY_COUNTS] = Field("actual/360", description="actual/360 or actual/365")  # type: ignore[valid-type]
    fee_rate: Annotated[Decimal, Field(ge=0, le=1, decimal_places=6)] | None = Field(
        None, description="Fee once, on the face value financed (default 0)")
    max_invoice_age_days: Whole | None = Field(None, ge=1, le=3650, description="Cut-off: days from the issue date")
    min_days_to_due: Whole = Field(0, ge=0, le=3650, description="Days at least from the advance date to the due date")
    buyer_concentration_limit: Fraction | None = Field(
        None, description="Largest share of a supplier's outstanding advances in the programme one buyer may be")
    programme_limit: Amount | None = Field(None, description="Outstanding advances of the whole programme at most "
                                                             "(reverse factoring: the buyer's programme limit)")
    default_supplier_limit: Amount | None = Field(None, description="A supplier's limit at most (the credit rule may give less)")
    auto_decision_ceiling: Amount | None = Field(None, description="Requests advancing more go to review")
    credit_rule: dict[str, float] | None = Field(None, max_length=10, description=(
        "Parameters of the credit limit rule (defaults: months 6, cover_months 2, cv_weight 0.5, stability_floor "
        "0.25, dispute_weight 2, accuracy_floor 0.5)"))
    from_scenario: FromScenario | None = Field(None, description="Copy the terms of a scenario's instrument")

    @field_validator("credit_rule")
    @classmethod
    def _rule(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        problems = credit_rule.check_params(value or {})
        if problems:
            raise ValueError("; ".join(f"{k}: {msg}" for k, msg in problems))
        return value


class ProgrammePublic(BaseModel):
    """A financing programme (rates as decimal strings, amounts in its currency)."""

    id: int = Field(description="Programme id")
    name: str = Field(description="Name")
    kind: str = Field(description="factoring, reverse_factoring or receivables_line")
    currency: str = Field(description="ISO 4217 code")
    buyer_id: str | None = Field(description="The buyer (offering it, or the only one financed)")
    advance_rate: str = Field(description="Share of the open amount advanced")
    rate: str = Field(description="Annual discount or interest rate")
    day_count: str = Field(description="actual/360 or actual/365")
    fee_rate: str = Field(description="Fee on the face value financed")
    max_invoice_age_days: int | None = Field(description="Cut-off from the issue date [days]")
    min_days_to_due: int = Field(description="Days at least to the due date")
    buyer_concentration_limit: str | None = Field(description="Largest share of one buyer")
    programme_limit: str | None = Field(description="Limit of the programme [currency]")
    default_supplier_limit: str | None = Field(description="A supplier's limit at most [currency]")
    auto_decision_ceiling: str | None = Field(description="Largest automatic advance [currency]")
    credit_rule: dict[str, float] = Field(description="The credit rule's parameters (defaults filled in)")
    source: dict[str, Any] | None = Field(description="The scenario instrument copied, with the conversion notes")
    created_at: datetime = Field(description="When [UTC]")


class LimitSet(BaseModel):
    """Finance's limit for a supplier in a programme, replacing the computed one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": "150000", "comment": "audited accounts 2026 received; limit raised"}]})
    amount: Amount
    comment: Comment


class LimitChange(BaseModel):
    """One override of a supplier's limit by finance, with its reason."""

    amount: str = Field(description="The limit set [currency]")
    comment: str = Field(description="Why")
    set_by: str | None = Field(description="Finance user who set it (shown to staff)")
    set_at: datetime = Field(description="When [UTC]")


class SupplierLimitPublic(BaseModel):
    """A supplier's effective limit in a programme and how it was found."""

    programme_id: int = Field(description="Programme")
    partner_id: str = Field(description="Supplier")
    currency: str = Field(description="ISO 4217 code")
    limit: str = Field(description="The effective limit [currency]")
    basis: str = Field(description="Where it comes from: the credit rule, the programme's limit or finance's override")
    credit_rule: dict[str, Any] = Field(description="The rule's amount (minor units) and its explained steps")
    drawn: str = Field(description="Outstanding advances of the supplier in the programme [currency]")
    overrides: list[LimitChange] = Field(description="Finance's overrides, newest first (the first is in force)")


class RequestCreate(BaseModel):
    """Invoices the caller's partner sold, to be financed under a programme."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"programme_id": 1, "invoice_ids": [5]}]})
    programme_id: Whole = Field(ge=1, le=2**31 - 1, description="Programme")
    invoice_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_not_bool)]] = Field(
        min_length=1, max_length=100, description="1 to 100 of its own confirmed invoices, each once",
        json_schema_extra={"uniqueItems": True})

    @field_validator("invoice_ids")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("an invoice is listed more than once")
        return value


class DecisionCreate(BaseModel):
    """Finance's decision on a request in review."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"comment": "buyer concentration accepted"}]})
    comment: Comment


class CheckPublic(BaseModel):
    """One rule of a financing decision, evaluated with its reason and figures."""

    rule: str = Field(description="The rule (confirmed, currency, buyer, not_past_due, not_financed, days_to_due, age, "
                                  "supplier_limit, programme_limit, concentration, auto_ceiling)")
    invoice_id: int | None = Field(description="The invoice it is about (None: the request)")
    passed: bool = Field(description="Whether it passed")
    hard: bool = Field(description="A hard rule: finance cannot approve while it fails")
    reason: str = Field(description="Why, with the figures")


class ItemPublic(BaseModel):
    """One invoice of a financing request: its amounts under the programme's terms."""

    invoice_id: int = Field(description="Invoice")
    buyer_id: str = Field(description="Its buyer")
    due_date: date = Field(description="Its due date = the repayment date")
    status: str = Field(description="requested, advanced, repaid or declined")
    face: str = Field(description="Open amount financed [currency]")
    advance: str = Field(description="Advance = advance rate × open, rounded down [currency]")
    discount: str = Field(description="Discount deducted upfront (factoring) [currency]")
    fee: str = Field(description="Fee deducted upfront [currency]")
    net: str = Field(description="Paid to the supplier: advance − discount − fee [currency]")
    repaid: str = Field(description="Advance repaid from the buyer's payments [currency]")
    interest: str = Field(description="Interest charged (receivables line) [currency]")
    outstanding: str = Field(description="advance − repaid [currency]")


class RequestPublic(BaseModel):
    """A financing request with its decision and every rule's reason."""

    id: int = Field(description="Request id")
    programme_id: int = Field(description="Programme")
    supplier_id: str = Field(description="Supplier (the invoices' seller)")
    status: str = Field(description="approved, in_review or declined")
    currency: str = Field(description="ISO 4217 code")
    advance_date: date = Field(description="Date of the advance (of the decision)")
    created_at: datetime = Field(description="When requested [UTC]")
    decided_at: datetime | None = Field(description="When decided (automatically at once, or by finance)")
    decided_by: str | None = Field(description="Finance user who decided (None: automatic; shown to staff)")
    comment: str = Field(description="Finance's comment")
    advance: str = Field(description="Σ advances [currency]")
    net: str = Field(description="Σ paid to the supplier [currency]")
    checks: list[CheckPublic] = Field(description="Every rule evaluated, with its reason")
    credit_limit: dict[str, Any] = Field(description="The effective supplier limit: amount_minor, basis, the credit rule's steps")
    items: list[ItemPublic] = Field(description="One per invoice")


for _m, _p, _roles, _kw in (
        ("POST", "/financing-programmes", FIN_STAFF, {}),
        ("GET", "/financing-programmes", FIN_READERS, {"partner_filtered": True,
                                                        "note": "a partner: the programmes open to it"}),
        ("GET", "/financing-programmes/{programme_id}", FIN_READERS, {"obj": "programme", "partner_owned": True}),
        ("PUT", "/financing-programmes/{programme_id}/suppliers/{partner_id}/limit", {"finance"}, {"obj": "programme"}),
        ("GET", "/financing-programmes/{programme_id}/suppliers/{partner_id}/limit", FIN_READERS,
         {"obj": "partner", "partner_owned": True, "note": "a partner: its own limit"}),
        ("POST", "/financing-requests", {"partner"}, {"note": "a supplier partner, on its own confirmed invoices"}),
        ("GET", "/financing-requests", FIN_READERS, {"partner_filtered": True, "note": "a partner: its own requests"}),
        ("GET", "/financing-requests/{request_id}", FIN_READERS, {"obj": "financing_request", "partner_owned": True}),
        ("POST", "/financing-requests/{request_id}/approve", FIN_STAFF, {"obj": "financing_request"}),
        ("POST", "/financing-requests/{request_id}/decline", FIN_STAFF, {"obj": "financing_request"})):
    access.register(_m, _p, _roles, **_kw)


# ----------------------------------------------------------------------------- programmes


def _amount(value: Decimal | None, currency: str, name: str, problems: list[tuple[str, str]]) -> int | None:
    if value is None:
        return None
    scaled = value.scaleb(EXPONENT[currency])
    if scaled != scaled.to_integral_value():
        problems.append((name, f"{currency} amounts have at most {EXPONENT[currency]} decimals"))
        return None
    return int(scaled)


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def programme_public(p: FinancingProgramme) -> dict[str, Any]:
    cur = p.currency
    return {"id": p.id, "name": p.name, "kind": p.kind, "currency": cur, "buyer_id": p.buyer_id,
            "advance_rate": terms.micro_text(p.advance_rate_micro), "rate": terms.micro_text(p.rate_micro),
            "day_count": p.day_count, "fee_rate": terms.micro_text(p.fee_micro),
            "max_invoice_age_days": p.max_invoice_age_days, "min_days_to_due": p.min_days_to_due,
            "buyer_concentration_limit": None if p.concentration_micro is None else terms.micro_text(p.concentration_micro),
            "programme_limit": _money(p.programme_limit_minor, cur),
            "default_supplier_limit": _money(p.default_supplier_limit_minor, cur),
            "auto_decision_ceiling": _money(p.auto_ceiling_minor, cur),
            "credit_rule": {**credit_rule.DEFAULTS, **(p.credit_rule or {})}, "source": p.source, "created_at": p.created_at}


def _from_scenario(session: Session, src: FromScenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """The terms of the instrument and the programme's ``source`` (with the conversion notes);
    404 for a missing scenario or version, 422 naming ``body.from_scenario.*`` otherwise."""
    from scenarios.fields import periods_per_year
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    rec = session.get(ScenarioRecord, src.scenario_id)
    if rec is None:
        raise access.not_found("scenario", src.scenario_id)
    version = src.version or rec.latest_version
    sv = session.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == rec.id,
                                                      ScenarioVersion.version == version))
    if sv is None:
        raise access.not_found(f"version {version} of scenario", src.scenario_id)
    try:
        scenario, _ = parse_scenario(sv.content)
    except ScenarioError:
        raise HTTPException(409, detail=f"scenario {rec.id} version {version} no longer reads as a valid scenario") from None
    fin = scenario.finance
    pf = fin.partner(src.partner) if fin is not None else None
    if pf is None:
        raise HTTPException(422, detail=field_problems([("from_scenario.partner", f"the scenario's finance section has "
                                                                                  f"no partner {src.partner!r}")]))
    inst = next((i for i in pf.instruments if i.id == src.instrument_id), None)
    if inst is None:
        raise HTTPException(422, detail=field_problems([("from_scenario.instrument_id", f"{src.partner} has no instrument "
                                                         f"{src.instrument_id!r} (it has {', '.join(i.id for i in pf.instruments) or 'none'})")]))
    try:
        got, notes = terms.terms_from_instrument(inst, periods_per_year(scenario.time.freq))
    except ValueError as exc:
        raise HTTPException(422, detail=field_problems([("from_scenario.instrument_id", str(exc))])) from None
    got["currency"] = scenario.currency
    source = {"scenario_id": rec.id, "version": version, "partner": src.partner, "instrument_id": inst.id,
              "instrument_type": inst.type, "notes": notes}
    return got, source


@router.post("/financing-programmes", response_model=ProgrammePublic, status_code=201,
             summary="Create a financing programme (or copy a scenario instrument's terms)",
             responses={**NOT_FOUND, **CONFLICT})
def create_programme(body: ProgrammeCreate, response: Response, user: AuthorizedUser, session: SessionDep):
    problems: list[tuple[str, str]] = []
    source = None
    scenario_limit = None
    if body.from_scenario is not None:
        given = [f for f in ("kind", "currency", "buyer_id", "advance_rate", "rate", "fee_rate") if getattr(body, f) is not None]
        if given:
            raise HTTPException(422, detail=field_problems([(f, "comes from the scenario's instrument: leave it out")
                                                            for f in given]))
        got, source = _from_scenario(session, body.from_scenario)
        kind, currency, buyer_id = got["kind"], got["currency"], got.get("buyer_id")
        adv, rate, fee, day_count = got["advance_rate_micro"], got["rate_micro"], got["fee_micro"], got["day_count"]
        max_age = body.max_invoice_age_days if body.max_invoice_age_days is not None else got.get("max_invoice_age_days")
        scenario_limit = got.get("limit")
        if currency not in EXPONENT:
            raise HTTPException(422, detail=field_problems([("from_scenario", f"the scenario's currency {currency!r} "
                                                                              "is not ISO 4217")]))
    else:
        for f in ("kind", "currency", "advance_rate", "rate"):
            if getattr(body, f) is None:
                problems.append((f, "required (or give from_scenario)"))
        if problems:
            raise HTTPException(422, detail=field_problems(problems))
        kind, currency, buyer_id, day_count = body.kind, body.currency, body.buyer_id, body.day_count
        adv, rate = terms.to_micro(body.advance_rate), terms.to_micro(body.rate)
        fee = terms.to_micro(body.fee_rate) if body.fee_rate is not None else 0
        max_age = body.max_invoice_age_days
    if kind == "reverse_factoring" and buyer_id is None:
        problems.append(("buyer_id", "a reverse factoring programme is offered by a buyer: name it"))
    if buyer_id is not None and session.get(PartnerRecord, buyer_id) is None:
        problems.append(("from_scenario.instrument_id" if source else "buyer_id", f"no partner {buyer_id!r}"))
    limits = {name: _amount(getattr(body, name), currency, name, problems)
              for name in ("programme_limit", "default_supplier_limit", "auto_decision_ceiling")}
    if scenario_limit is not None:
        key = "programme_limit" if kind == "reverse_factoring" else "default_supplier_limit"
        if limits[key] is None:
            limits[key] = int(Decimal(repr(scenario_limit)).scaleb(EXPONENT[currency]).to_integral_value())
    if problems:
        raise HTTPException(422, detail=field_problems(problems))
    if session.scalar(select(FinancingProgramme.id).where(FinancingProgramme.name == body.name)) is not None:
        raise HTTPException(409, detail=f"a programme is already named {body.name!r}")
    prog = FinancingProgramme(
        name=body.name, kind=kind, currency=currency, buyer_id=buyer_id, advance_rate_micro=adv, rate_micro=rate,
        day_count=day_count, fee_micro=fee, max_invoice_age_days=max_age, min_days_to_due=body.min_days_to_due,
        concentration_micro=None if body.buyer_concentration_limit is None else terms.to_micro(body.buyer_concentration_limit),
        programme_limit_minor=limits["programme_limit"], default_supplier_limit_minor=limits["default_supplier_limit"],
        auto_ceiling_minor=limits["auto_decision_ceiling"], credit_rule=dict(body.credit_rule or {}), source=source,
        decisions=0, created_by_id=user.id, created_at=utcnow())
    session.add(prog)
    from api.errors import commit_or_conflict

    commit_or_conflict(session, f"a programme is already named {body.name!r}")
    response.headers["Location"] = f"/financing-programmes/{prog.id}"
    return programme_public(prog)


@router.get("/financing-programmes", response_model=PageOf[ProgrammePublic],
            summary="List financing programmes (a partner: those open to it)")
def list_programmes(user: AuthorizedUser, session: SessionDep, page: PageDep):
    from api.schemas import page_of

    q = select(FinancingProgramme)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(decisions.programme_visibility(scope))
    return page_of(session, q, page, FinancingProgramme.id, programme_public)


@router.get("/financing-programmes/{programme_id}", response_model=ProgrammePublic, summary="One financing programme",
            responses=NOT_FOUND)
def get_programme(programme_id: ProgrammeId, user: AuthorizedUser, session: SessionDep):
    return programme_public(decisions.visible_programme(session, user, programme_id))


def limit_public(session: Session, user: User, prog: FinancingProgramme, partner_id: str) -> dict[str, Any]:
    lim = decisions.supplier_limit(session, prog, partner_id, decisions.today())
    _, drawn, _ = decisions.drawn(session, prog, partner_id)
    rows = session.scalars(select(SupplierLimit).where(SupplierLimit.programme_id == prog.id,
                                                       SupplierLimit.partner_id == partner_id)
                           .order_by(SupplierLimit.id.desc()).limit(100)).all()
    staff = access.partner_scope(user) is None
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_({r.set_by_id for r in rows}))).all()) if staff else {}
    return {"programme_id": prog.id, "partner_id": partner_id, "currency": prog.currency,
            "limit": format_minor(lim["amount_minor"], prog.currency), "basis": lim["basis"], "credit_rule": lim["rule"],
            "drawn": format_minor(drawn, prog.currency),
            "overrides": [{"amount": format_minor(r.amount_minor, prog.currency), "comment": r.comment,
                           "set_by": names.get(r.set_by_id), "set_at": r.set_at} for r in rows]}


def _supplier(session: Session, user: User, partner_id: str) -> None:
    access.own_partner_or_404(user, partner_id, "partner", partner_id)
    if session.get(PartnerRecord, partner_id) is None:
        raise access.not_found("partner", partner_id)


@router.get("/financing-programmes/{programme_id}/suppliers/{partner_id}/limit", response_model=SupplierLimitPublic,
            summary="A supplier's limit in a programme, explained", responses=NOT_FOUND)
def get_limit(programme_id: ProgrammeId, partner_id: PartnerId, user: AuthorizedUser, session: SessionDep):
    _supplier(session, user, partner_id)
    return limit_public(session, user, decisions.visible_programme(session, user, programme_id), partner_id)


@router.put("/financing-programmes/{programme_id}/suppliers/{partner_id}/limit", response_model=SupplierLimitPublic,
            summary="Finance overrides a supplier's limit (a comment required; the history is kept)", responses=NOT_FOUND)
def set_limit(programme_id: ProgrammeId, partner_id: PartnerId, body: LimitSet, user: AuthorizedUser, session: SessionDep):
    _supplier(session, user, partner_id)
    prog = decisions.visible_programme(session, user, programme_id)
    problems: list[tuple[str, str]] = []
    amount = _amount(body.amount, prog.currency, "amount", problems)
    if problems:
        raise HTTPException(422, detail=field_problems(problems))
    session.add(SupplierLimit(programme_id=prog.id, partner_id=partner_id, amount_minor=amount, comment=body.comment,
                              set_by_id=user.id, set_at=utcnow()))
    session.commit()
    return limit_public(session, user, prog, partner_id)


# ----------------------------------------------------------------------------- requests


def request_public(session: Session, req: FinancingRequest, user: User, items: list[FinancingItem] | None = None,
                   names: dict[int, str] | None = None) -> dict[str, Any]:
    prog = session.get(FinancingProgramme, req.programme_id)
    cur = prog.currency
    if items is None:
        items = list(session.scalars(select(FinancingItem).where(FinancingItem.request_id == req.id).order_by(FinancingItem.id)))
    m = lambda v: format_minor(v, cur)  # noqa: E731
    staff = access.partner_scope(user) is None
    if staff and names is None and req.decided_by_id is not None:
        names = {req.decided_by_id: session.get(User, req.decided_by_id).name}
    return {"id": req.id, "programme_id": req.programme_id, "supplier_id": req.supplier_id, "status": req.status,
            "currency": cur, "advance_date": req.advance_date, "created_at": req.created_at, "decided_at": req.decided_at,
            "decided_by": (names or {}).get(req.decided_by_id) if staff else None, "comment": req.comment,
            "advance": m(sum(i.advance_minor for i in items)),
            "net": m(sum(i.advance_minor - i.discount_minor - i.fee_minor for i in items)),
            "checks": req.checks, "credit_limit": req.credit,
            "items": [{"invoice_id": i.invoice_id, "buyer_id": i.buyer_id, "due_date": i.due_date, "status": i.status,
                       "face": m(i.face_minor), "advance": m(i.advance_minor), "discount": m(i.discount_minor),
                       "fee": m(i.fee_minor), "net": m(i.advance_minor - i.discount_minor - i.fee_minor),
                       "repaid": m(i.repaid_minor), "interest": m(i.interest_minor),
                       "outstanding": m(i.advance_minor - i.repaid_minor if i.status in ("advanced", "repaid") else 0)}
                      for i in items]}


def visible_request(session: Session, user: User, request_id: int) -> FinancingRequest:
    req = session.get(FinancingRequest, request_id)
    if req is None:
        raise access.not_found("financing request", request_id)
    access.own_partner_or_404(user, req.supplier_id, "financing request", request_id)
    return req


DECIDE = {**NOT_FOUND, 409: _resp("Not in review, or a hard rule fails (named)"),
          503: _resp("Too many concurrent decisions: retry")}


@router.post("/financing-requests", response_model=RequestPublic, status_code=201,
             summary="Request an advance on the caller's confirmed invoices: decided at once", responses=DECIDE)
def create_request(body: RequestCreate, response: Response, user: AuthorizedUser, session: SessionDep):
    """``approved`` (and advanced) when every rule passes, else ``in_review`` for finance; every
    rule's reason either way. An invoice that is not the caller's is 404 like a missing one."""
    req = decisions.create_request(session, user, body.programme_id, body.invoice_ids)
    response.headers["Location"] = f"/financing-requests/{req.id}"
    return request_public(session, req, user)


@router.get("/financing-requests", response_model=PageOf[RequestPublic],
            summary="List financing requests (finance's inbox: status=in_review; a partner: its own)")
def list_requests(user: AuthorizedUser, session: SessionDep, page: PageDep,
                  status: Annotated[Literal[REQUEST_STATUSES] | None, Query(description="Only this status")] = None,  # type: ignore[valid-type]
                  programme_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this programme")] = None,
                  supplier_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                                           description="Only this supplier")] = None):
    """Oldest first (the inbox's order)."""
    from sqlalchemy import func

    q = select(FinancingRequest)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(FinancingRequest.supplier_id == scope)
    for col, value in ((FinancingRequest.status, status), (FinancingRequest.programme_id, programme_id),
                       (FinancingRequest.supplier_id, supplier_id)):
        if value is not None:
            q = q.where(col == value)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = list(session.scalars(q.order_by(FinancingRequest.id).limit(page.limit).offset(page.offset)))
    items: dict[int, list[FinancingItem]] = {}
    for it in session.scalars(select(FinancingItem).where(FinancingItem.request_id.in_([r.id for r in rows]))
                              .order_by(FinancingItem.id)):
        items.setdefault(it.request_id, []).append(it)
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_({r.decided_by_id for r in rows} - {None}))).all())
    return {"items": [request_public(session, r, user, items.get(r.id, []), names) for r in rows], "total": total,
            "limit": page.limit, "offset": page.offset}


@router.get("/financing-requests/{request_id}", response_model=RequestPublic, summary="One financing request",
            responses=NOT_FOUND)
def get_request(request_id: RequestId, user: AuthorizedUser, session: SessionDep):
    return request_public(session, visible_request(session, user, request_id), user)


@router.post("/financing-requests/{request_id}/approve", response_model=RequestPublic,
             summary="Finance approves a request in review (hard rules checked again)", responses=DECIDE)
def approve_request(request_id: RequestId, body: DecisionCreate, user: AuthorizedUser, session: SessionDep):
    return request_public(session, decisions.decide(session, user, request_id, True, body.comment), user)


@router.post("/financing-requests/{request_id}/decline", response_model=RequestPublic,
             summary="Finance declines a request in review", responses=DECIDE)
def decline_request(request_id: RequestId, body: DecisionCreate, user: AuthorizedUser, session: SessionDep):
    return request_public(session, decisions.decide(session, user, request_id, False, body.comment), user)
