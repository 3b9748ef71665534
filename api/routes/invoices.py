"""Invoices between partners (issue 18): recorded by the seller (JSON, a CSV upload, or from a
plan's shipments), confirmed or disputed by the buyer, paid by the buyer, every change a link of
one hash chain (:mod:`api.invoices`), verified by ``GET /invoices/verify`` and ``jointplan
invoices verify``.

A partner user sees and acts on the invoices it sells or buys (another partner's invoice is 404,
and lists never show it); admin and finance read every invoice and verify the chain; planners
have no access (403). Recording is idempotent per (seller, number).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api import access
from api import invoices as inv_
from api.bodies import StrictJSONRoute
from api.currencies import format_minor, is_currency
from api.deps import AuthorizedUser, PageDep, RawBody, SessionDep, SettingsDep
from api.errors import CONFLICT, NOT_FOUND, _resp
from api.models import INVOICE_STATUSES, Invoice, InvoiceEvent, InvoiceLine, PlanRecord, ScenarioVersion, User
from api.schemas import Ident, PageOf

router = APIRouter(tags=["invoices"], route_class=StrictJSONRoute)

InvoiceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Invoice id")]
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Plan id")]
PartnerFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                            description="Partner id")]
Number = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$",
                              description="Invoice number, unique per seller: 1 to 100 characters, no control "
                                          "characters, no leading or trailing space")]
Product = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
                               description="Product (as in the scenarios)")]
Quantity = Annotated[Decimal, Field(gt=0, le=inv_.MAX_QUANTITY, decimal_places=6,
                                    description="Units delivered: positive, at most 10^9, at most 6 decimals "
                                                "(a decimal string keeps every digit)")]
UnitPrice = Annotated[Decimal, Field(ge=0, lt=inv_.MAX_QUANTITY, decimal_places=6,
                                     description="Price of one unit [currency/unit]: 0 or more, below 10^9, at most "
                                                 "6 decimals")]


def _iso_4217(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$",
                                description="ISO 4217 code of the invoice's currency (EUR, USD, JPY ...)"),
                     AfterValidator(_iso_4217)]


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic alone would read 0 or "0" as 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("expected an ISO date, YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
UNPROCESSABLE_OR_CONFLICT = {**CONFLICT, 503: _resp("Too many concurrent changes of invoices: retry")}


class LineCreate(BaseModel):
    """A line of an invoice; its amount is quantity × unit price, rounded half up to a minor unit."""

    model_config = ConfigDict(extra="forbid")
    product: Product
    quantity: Quantity
    unit_price: UnitPrice


class InvoiceCreate(BaseModel):
    """An invoice of the caller's partner (the seller) to another partner (the buyer)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "number": "INV-2027-0001", "buyer_id": "wholesale", "issue_date": "2027-01-31", "due_date": "2027-03-02",
        "currency": "EUR", "lines": [{"product": "widget", "quantity": "100", "unit_price": "35.00"},
                                     {"product": "gadget", "quantity": "20", "unit_price": "50"}]}]})
    number: Number
    buyer_id: Ident = Field(description="The partner invoiced (not the seller)")
    issue_date: IsoDate = Field(description="Date of issue (ISO date)")
    due_date: IsoDate = Field(description="Date payment is due (ISO date, not before the issue date)")
    currency: Currency
    lines: list[LineCreate] = Field(min_length=1, max_length=inv_.MAX_LINES, description="1 to 1000 lines")

    def as_input(self) -> inv_.InvoiceIn:
        return inv_.InvoiceIn(self.number, self.buyer_id, self.issue_date, self.due_date, self.currency,
                              tuple(inv_.LineIn(ln.product, ln.quantity, ln.unit_price) for ln in self.lines))


class DisputeCreate(BaseModel):
    """Why the buyer disputes the invoice."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "20 gadgets invoiced, 18 delivered"}]})
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
                        description="The reason (required, shown to the seller)")


class SettlementCreate(BaseModel):
    """A payment of a confirmed invoice by its buyer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": "1000.00", "paid_on": "2027-03-01", "reference": "bank transfer 2027-03-01/17"}]})
    amount: Decimal = Field(gt=0, le=inv_.MAX_AMOUNT, decimal_places=4,
                            description="Amount paid in the invoice's currency: positive, in its decimals, at most "
                                        "what is open (a decimal string keeps every digit)")
    paid_on: IsoDate = Field(description="Date of payment (ISO date, not before the issue date)")
    reference: str = Field("", max_length=200, pattern=r"^[^\x00]*$", description="Payment reference (optional)")


class PlanInvoicesCreate(BaseModel):
    """Which periods of the plan to invoice."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"periods": [0, 1]}, {}]})
    periods: list[Annotated[int, Strict(), Field(ge=0, le=10_000)]] | None = Field(
        None, max_length=10_000, description="Periods (0 = the first of the plan) whose shipments to invoice; default all")


class LinePublic(BaseModel):
    """A line of an invoice."""

    position: int = Field(description="1, 2, ... in the order sent")
    product: str = Field(description="Product")
    quantity: str = Field(description="Units (decimal string)")
    unit_price: str = Field(description="Price of one unit (decimal string) [currency/unit]")
    amount: str = Field(description="quantity × unit price, rounded half up to a minor unit (decimal string) [currency]")


class EventPublic(BaseModel):
    """A link of the invoices' hash chain."""

    id: int = Field(description="Event id")
    seq: int = Field(description="Position in the chain of every invoice's events (1, 2, ...)")
    kind: str = Field(description="recorded, confirmed, disputed or settlement (a payment)")
    actor: str | None = Field(description="Name of the user who did it (shown to staff and to that user's partner)")
    actor_partner_id: str | None = Field(description="That user's partner")
    at: datetime = Field(description="When [UTC]")
    payload: dict[str, Any] = Field(description="What changed (recorded: the whole content, amounts in minor units)")
    prev_hash: str = Field(description="The hash of the event before it in the chain")
    hash: str = Field(description="SHA-256 of the canonical JSON of this event with prev_hash")


class InvoicePublic(BaseModel):
    """An invoice (amounts as decimal strings in its currency)."""

    id: int = Field(description="Invoice id")
    number: str = Field(description="Invoice number (unique per seller)")
    seller_id: str = Field(description="Partner selling")
    buyer_id: str = Field(description="Partner buying")
    issue_date: date = Field(description="Date of issue")
    due_date: date = Field(description="Date payment is due")
    currency: str = Field(description="ISO 4217 currency code")
    total: str = Field(description="Sum of the line amounts [currency]")
    paid: str = Field(description="Sum of the payments recorded [currency]")
    open: str = Field(description="total − paid [currency]")
    status: str = Field(description="recorded, confirmed (also while partly paid), disputed or settled")
    source: str = Field(description="How it was recorded: api, csv or plan")
    plan_id: int | None = Field(description="The plan it was drafted from (source plan)")
    created_by: str | None = Field(description="Name of the seller's user who recorded it (shown to staff and the seller)")
    created_at: datetime = Field(description="When it was recorded [UTC]")
    updated_at: datetime = Field(description="When it last changed [UTC]")


class InvoiceDetail(InvoicePublic):
    """An invoice with its lines and its events (its links of the hash chain)."""

    lines: list[LinePublic] = Field(description="The lines")
    events: list[EventPublic] = Field(description="Its history, oldest first")


class InvoiceBatch(BaseModel):
    """The invoices of an upload or of a plan, in order: recorded now or found already recorded."""

    recorded: int = Field(description="Invoices recorded by this request")
    existing: int = Field(description="Invoices found already recorded with the same content (nothing changed)")
    invoices: list[InvoicePublic] = Field(description="Every invoice of the request")


class ChainBreak(BaseModel):
    """Where the stored data stops agreeing with the chain."""

    seq: int | None = Field(description="Chain position of the event where it breaks (for a row: its invoice's last event)")
    event_id: int | None = Field(description="That event's id")
    invoice_id: int | None = Field(description="The invoice concerned")
    what: str = Field(description="What differs")


class ChainHead(BaseModel):
    """The last link the verification found intact."""

    seq: int = Field(description="Position of the last event checked (0: none)")
    hash: str = Field(description="Its hash: note it elsewhere, to check later that the chain still holds it")


class ChainVerification(BaseModel):
    """The chain recomputed and replayed against the invoice rows."""

    intact: bool = Field(description="No break found")
    events: int = Field(description="Events in the chain")
    invoices: int = Field(description="Invoice rows")
    head: ChainHead = Field(description="The last intact link")
    first_break: ChainBreak | None = Field(description="The first broken link, if any")
    message: str = Field(description="'intact, N events', or where and how it breaks")


READ = access.INVOICE_READERS
access.register("POST", "/invoices", access.INVOICE_PARTIES, note="a partner user records an invoice as the seller")
access.register("POST", "/invoices/upload", access.INVOICE_PARTIES, note="a partner user records invoices as the seller")
access.register("GET", "/invoices/upload", READ, note="the CSV format (a template): nothing stored is read")
access.register("POST", "/plans/{plan_id}/invoices", access.INVOICE_PARTIES, obj="plan",
                note="the seller's invoices for its shipments in a finished plan")
access.register("GET", "/invoices", READ, partner_filtered=True, note="a partner user: the invoices it sells or buys")
access.register("GET", "/invoices/verify", access.INVOICE_AUDITORS)
access.register("GET", "/invoices/{invoice_id}", READ, obj="invoice", partner_owned=True,
                note="a partner user: only an invoice it sells or buys (404 otherwise)")
for _action in ("confirm", "dispute", "settlements"):
    access.register("POST", f"/invoices/{{invoice_id}}/{_action}", access.INVOICE_PARTIES, obj="invoice",
                    partner_owned=True, note="the buyer only (its seller gets 403, any other partner 404)")


# ----------------------------------------------------------------------------- responses


def _sees_user_of(user: User, partner_id: str | None) -> bool:
    scope = access.partner_scope(user)
    return scope is None or scope == partner_id


def public(inv: Invoice, user: User, created_by: str | None) -> dict[str, Any]:
    cur = inv.currency
    out = {c: getattr(inv, c) for c in ("id", "number", "seller_id", "buyer_id", "issue_date", "due_date", "currency",
                                        "status", "source", "plan_id", "created_at", "updated_at")}
    out.update(total=format_minor(inv.total_minor, cur), paid=format_minor(inv.settled_minor, cur),
               open=format_minor(inv.total_minor - inv.settled_minor, cur),
               created_by=created_by if _sees_user_of(user, inv.seller_id) else None)
    return out


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def publics(session: Session, invoices: list[Invoice], user: User) -> list[dict[str, Any]]:
    names = _names(session, {i.created_by_id for i in invoices})
    return [public(i, user, names.get(i.created_by_id)) for i in invoices]


def detail(session: Session, inv: Invoice, user: User) -> dict[str, Any]:
    events = session.scalars(select(InvoiceEvent).where(InvoiceEvent.invoice_id == inv.id).order_by(InvoiceEvent.seq)).all()
    lines = session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(InvoiceLine.position)).all()
    names = _names(session, {inv.created_by_id} | {e.actor_user_id for e in events})
    out = public(inv, user, names.get(inv.created_by_id))
    out["lines"] = [{"position": ln.position, "product": ln.product, "quantity": inv_.micro_text(ln.quantity_micro),
                     "unit_price": inv_.micro_text(ln.unit_price_micro),
                     "amount": format_minor(ln.amount_minor, inv.currency)} for ln in lines]
    out["events"] = [{"id": e.id, "seq": e.seq, "kind": e.kind, "actor_partner_id": e.actor_partner_id, "at": e.at,
                      "actor": names.get(e.actor_user_id) if _sees_user_of(user, e.actor_partner_id) else None,
                      "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash} for e in events]
    return out


def batch(session: Session, results: list[tuple[Invoice, bool]], user: User, response: Response) -> dict[str, Any]:
    recorded = sum(created for _, created in results)
    response.status_code = 201 if recorded else 200
    return {"recorded": recorded, "existing": len(results) - recorded,
            "invoices": publics(session, [i for i, _ in results], user)}


def _check(session: Session, seller_id: str, inv: inv_.InvoiceIn) -> list[tuple[str, str]]:
    problems = inv_.invoice_problems(inv)
    buyer = inv_.known_buyer_problem(session, seller_id, inv.buyer_id)
    return problems + ([("buyer_id", buyer)] if buyer else [])


# ----------------------------------------------------------------------------- recording


@router.post("/invoices", response_model=InvoicePublic, status_code=201, summary="Record an invoice as the seller",
             responses={200: {"model": InvoicePublic, "description": "Already recorded with the same content"},
                        **UNPROCESSABLE_OR_CONFLICT})
def create_invoice(body: InvoiceCreate, response: Response, user: AuthorizedUser, session: SessionDep):
    seller = user.partner_id
    inv = body.as_input()
    problems = _check(session, seller, inv)
    if problems:
        raise HTTPException(422, detail=inv_.field_problems(problems))
    invoice, created = inv_.chained(session, lambda w: inv_.record(w, user, seller, inv, "api"))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/invoices/{invoice.id}"
    return publics(session, [invoice], user)[0]


HEADER_FIELDS = ("buyer_id", "issue_date", "due_date", "currency")
MAX_UPLOAD_INVOICES = 10_000
MAX_ERRORS = 1000
UPLOAD_EXAMPLE = ("number,buyer_id,issue_date,due_date,currency,product,quantity,unit_price\n"
                  "INV-2027-0002,wholesale,2027-02-28,2027-03-30,EUR,widget,120,35.00\n"
                  "INV-2027-0002,wholesale,2027-02-28,2027-03-30,EUR,gadget,15,50.00\n")
UPLOAD_BODY = {"required": True, "description": "CSV with a header row: one row per invoice line, the lines of an "
                                                "invoice sharing its number (and its buyer, dates and currency). "
                                                "Columns: number, buyer_id, issue_date, due_date, currency, product, quantity, unit_price",
               "content": {"text/csv": {"schema": {"type": "string", "description": "CSV with a header row"},
                                        "example": UPLOAD_EXAMPLE}}}


CELL = {name: TypeAdapter(kind) for name, kind in (
    ("number", Number), ("buyer_id", Ident), ("issue_date", IsoDate), ("due_date", IsoDate), ("currency", Currency),
    ("product", Product), ("quantity", Quantity), ("unit_price", UnitPrice))}
"""How each column's cells are read (as the same fields of ``POST /invoices``)."""


def _row_problem(row: int, column: str | None, msg: str) -> dict[str, Any]:
    loc: list[str | int] = ["body", "rows", row] + ([column] if column else [])
    return {"field": ".".join(map(str, loc)), "loc": loc, "msg": f"row {row} (line {row + 1}): {msg}",
            "type": "value_error"}


def _cells(i: int, record: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The row's values that are valid, each checked on its own (every bad cell named in ``errors``)."""
    out = {}
    for name, adapter in CELL.items():
        value = record.get(name)
        if not isinstance(value, str):  # an empty cell
            errors.append(_row_problem(i, name, "empty: a value is required"))
            continue
        try:
            out[name] = adapter.validate_python(value)
        except ValidationError as exc:
            errors.extend(_row_problem(i, name, e["msg"].removeprefix("Value error, ")) for e in exc.errors())
    return out


UPLOAD_COLUMNS = tuple(CELL)


def parse_upload(session: Session, seller_id: str, frame: Any) -> list[inv_.InvoiceIn]:
    """The invoices of an upload's rows, grouped by number in the order they first appear; 422
    naming every bad row and cell (at most :data:`MAX_ERRORS`), 413 above :data:`MAX_UPLOAD_INVOICES`."""
    columns = [str(c) for c in frame.columns]
    bad_columns = [_column_problem(c, "required column missing") for c in UPLOAD_COLUMNS if c not in columns]
    bad_columns += [_column_problem(c, f"unknown column (the columns are {', '.join(UPLOAD_COLUMNS)})")
                    for c in columns if c not in UPLOAD_COLUMNS]
    if bad_columns:
        raise HTTPException(422, detail=bad_columns)
    errors: list[dict[str, Any]] = []
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    buyers: dict[str, str | None] = {}
    for i, record in enumerate(frame.to_dict(orient="records"), start=1):
        row = _cells(i, record, errors)
        if "issue_date" in row and "due_date" in row and row["due_date"] < row["issue_date"]:
            errors.append(_row_problem(i, "due_date", f"{row['due_date']} is before the issue date {row['issue_date']}"))
        if "buyer_id" in row:
            if row["buyer_id"] not in buyers:
                buyers[row["buyer_id"]] = inv_.known_buyer_problem(session, seller_id, row["buyer_id"])
            if buyers[row["buyer_id"]]:
                errors.append(_row_problem(i, "buyer_id", buyers[row["buyer_id"]]))
        if "number" not in row:
            continue
        group = groups.setdefault(row["number"], [])
        if group:
            first_row, first = group[0]
            for name in HEADER_FIELDS:
                if name in row and name in first and row[name] != first[name]:
                    errors.append(_row_problem(i, name, f"{row[name]} differs from row {first_row} of invoice "
                                                        f"{row['number']!r} ({first[name]})"))
        if len(group) == inv_.MAX_LINES:
            errors.append(_row_problem(i, "number", f"invoice {row['number']!r} has more than {inv_.MAX_LINES} lines"))
        group.append((i, row))
    if len(groups) > MAX_UPLOAD_INVOICES:
        raise HTTPException(413, detail=f"{len(groups)} invoices: at most {MAX_UPLOAD_INVOICES} per upload; split the file")
    out = []
    for number, group in groups.items():
        if errors or any(len(r) != len(CELL) for _, r in group):
            continue  # refused anyway: what is left to check needs every row of the invoice whole
        first = group[0][1]
        inv = inv_.InvoiceIn(number, first["buyer_id"], first["issue_date"], first["due_date"], first["currency"],
                             tuple(inv_.LineIn(r["product"], r["quantity"], r["unit_price"]) for _, r in group))
        for name, msg in inv_.invoice_problems(inv):
            parts = name.split(".")
            if parts[0] == "lines" and len(parts) == 2:
                errors.append(_row_problem(group[int(parts[1])][0], None, msg))
            else:
                errors.append(_row_problem(group[0][0], None if parts[0] == "lines" else name, f"invoice {number!r}: {msg}"))
        out.append(inv)
    if errors:
        errors.sort(key=lambda e: e["loc"][2] if len(e["loc"]) > 2 else 0)
        more = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS] + ([{"field": "body", "loc": ["body"], "msg": f"... and {more} more problems",
                                          "type": "value_error"}] if more > 0 else [])
        raise HTTPException(422, detail=errors)
    return out


def _column_problem(column: str, msg: str) -> dict[str, Any]:
    return {"field": f"body.{column}", "loc": ["body", column], "msg": msg, "type": "value_error"}


@router.get("/invoices/upload", response_class=Response, summary="The CSV format of an upload: a template",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}, "example": UPLOAD_EXAMPLE}},
                             "description": "The header row and two example lines of one invoice"}})
def upload_template(user: AuthorizedUser):
    return Response(UPLOAD_EXAMPLE, media_type="text/csv")


@router.post("/invoices/upload", response_model=InvoiceBatch, status_code=201,
             summary="Record invoices from a CSV file, all or none",
             openapi_extra={"requestBody": UPLOAD_BODY},
             responses={200: {"model": InvoiceBatch, "description": "Every invoice already recorded with the same content"},
                        415: {"description": "Body not text/csv"}, **UNPROCESSABLE_OR_CONFLICT})
def upload_invoices(request: Request, response: Response, body: RawBody, user: AuthorizedUser, session: SessionDep,
                    settings: SettingsDep):
    from api.history import CSV_TYPES, Limits, parse_table

    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        raise HTTPException(415, detail=f"Content-Type {kind!r} not supported: send text/csv")
    table = parse_table(kind, body, Limits.of(settings))
    seller = user.partner_id
    invoices = parse_upload(session, seller, table.frame)
    conflicts = inv_.conflicting(session, seller, invoices)
    if conflicts:
        raise HTTPException(409, detail="nothing recorded: " + "; ".join(conflicts[:50])
                                        + (f"; and {len(conflicts) - 50} more" if len(conflicts) > 50 else ""))
    results = inv_.chained(session, lambda w: [inv_.record(w, user, seller, inv, "csv") for inv in invoices])
    return batch(session, results, user, response)


@router.post("/plans/{plan_id}/invoices", response_model=InvoiceBatch, status_code=201,
             summary="Record the seller's invoices for its shipments in a finished plan",
             responses={200: {"model": InvoiceBatch, "description": "Every invoice already recorded"},
                        **NOT_FOUND, **UNPROCESSABLE_OR_CONFLICT})
def invoices_from_plan(plan_id: PlanId, body: PlanInvoicesCreate, response: Response, user: AuthorizedUser,
                       session: SessionDep):
    """One invoice per buyer and period of the caller's shipments to other partners, priced at
    the scenario's transfer prices, issued on the first day of the shipment's period and due on
    the first day of the period the plan pays it in (:func:`api.invoices.plan_invoices`)."""
    from api.plan_tables import plan_table
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    seller = user.partner_id
    plan = session.get(PlanRecord, plan_id)
    if plan is None or plan.status != "done":  # a plan without a result is absent to partners, as in /funding
        raise access.not_found("plan", plan_id)
    content = session.get(ScenarioVersion, plan.scenario_version_id).content
    try:
        scenario, _ = parse_scenario(content)
    except ScenarioError:
        raise HTTPException(409, detail=f"plan {plan_id}'s scenario version no longer reads as a valid scenario") from None
    if seller not in {p.id for p in scenario.partners}:
        raise access.not_found("plan", plan_id)
    periods = body.periods
    if periods is not None:
        outside = [(f"periods.{i}", f"period {t} is outside the plan's {scenario.time.periods} periods "
                                    f"(0..{scenario.time.periods - 1})") for i, t in enumerate(periods)
                   if t >= scenario.time.periods]
        if outside:
            raise HTTPException(422, detail=inv_.field_problems(outside))
    table, _ = plan_table(session, plan, "shipments")
    rows = table.page(0, table.total) if table is not None else []
    if periods is not None:
        wanted = set(periods)
        rows = [r for r in rows if int(r["period"]) in wanted]
    drafts = inv_.plan_invoices(scenario, rows, seller, plan.id)
    problems = [f"{d.number}: {field} {msg}" for d in drafts for field, msg in _check(session, seller, d)]
    if problems:
        raise HTTPException(409, detail=f"the plan's invoices cannot be recorded: {'; '.join(problems[:20])}")
    results = inv_.chained(session, lambda w: [inv_.record(w, user, seller, d, "plan", plan.id) for d in drafts])
    return batch(session, results, user, response)


# ----------------------------------------------------------------------------- reading


@router.get("/invoices", response_model=PageOf[InvoicePublic], summary="List invoices (a partner: those it sells or buys)")
def list_invoices(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    status: Annotated[Literal[INVOICE_STATUSES] | None, Query(description="Only invoices in this status")] = None,  # type: ignore[valid-type]
    seller_id: PartnerFilter = None,
    buyer_id: PartnerFilter = None,
    counterparty: PartnerFilter = None,
    due_before: Annotated[IsoDate | None, Query(description="Only invoices due before this date (ISO)")] = None,
):
    """Newest first. ``counterparty``: invoices this partner sells or buys; ``seller_id`` and
    ``buyer_id`` narrow further (a partner user sees only its own whatever it asks)."""
    q = select(Invoice)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(or_(Invoice.seller_id == scope, Invoice.buyer_id == scope))
    if counterparty is not None:
        q = q.where(or_(Invoice.seller_id == counterparty, Invoice.buyer_id == counterparty))
    for column, value in ((Invoice.seller_id, seller_id), (Invoice.buyer_id, buyer_id), (Invoice.status, status)):
        if value is not None:
            q = q.where(column == value)
    if due_before is not None:
        q = q.where(Invoice.due_date < due_before)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Invoice.id.desc()).limit(page.limit).offset(page.offset)).all()
    return {"items": publics(session, list(rows), user), "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/invoices/verify", response_model=ChainVerification, summary="Verify the invoices' hash chain")
def verify_invoices(user: AuthorizedUser, session: SessionDep):
    """Recompute every event's hash and link and replay the events against the invoice rows;
    the first broken link (event, invoice, what differs) or "intact, N events"."""
    return inv_.verify_chain(session).as_dict()


@router.get("/invoices/{invoice_id}", response_model=InvoiceDetail, summary="One invoice with its lines and events",
            responses=NOT_FOUND)
def get_invoice(invoice_id: InvoiceId, user: AuthorizedUser, session: SessionDep):
    return detail(session, inv_.visible_invoice(session, user, invoice_id), user)


# ----------------------------------------------------------------------------- the buyer's decisions and payments

STATE = {**NOT_FOUND, 409: _resp("The invoice's status does not allow it (or the amount is more than is open)"),
         503: _resp("Too many concurrent changes of invoices: retry")}


@router.post("/invoices/{invoice_id}/confirm", response_model=InvoiceDetail, summary="The buyer confirms a recorded invoice",
             responses=STATE)
def confirm_invoice(invoice_id: InvoiceId, user: AuthorizedUser, session: SessionDep):
    inv_.visible_invoice(session, user, invoice_id)
    inv = inv_.chained(session, lambda w: inv_.decide(w, user, invoice_id, "confirmed"))
    return detail(session, inv, user)


@router.post("/invoices/{invoice_id}/dispute", response_model=InvoiceDetail, summary="The buyer disputes a recorded invoice",
             responses=STATE)
def dispute_invoice(invoice_id: InvoiceId, body: DisputeCreate, user: AuthorizedUser, session: SessionDep):
    inv_.visible_invoice(session, user, invoice_id)
    inv = inv_.chained(session, lambda w: inv_.decide(w, user, invoice_id, "disputed", body.reason))
    return detail(session, inv, user)


@router.post("/invoices/{invoice_id}/settlements", response_model=InvoiceDetail, status_code=201,
             summary="The buyer records a payment of a confirmed invoice", responses=STATE)
def settle_invoice(invoice_id: InvoiceId, body: SettlementCreate, user: AuthorizedUser, session: SessionDep):
    """Settled when the payments reach the total; a payment above what is open is refused (409)."""
    inv_.visible_invoice(session, user, invoice_id)
    inv = inv_.chained(session, lambda w: inv_.settle(w, user, invoice_id, body.amount, body.paid_on, body.reference))
    return detail(session, inv, user)
