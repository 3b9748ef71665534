"""Reading financing: finance's book (exposure by supplier, buyer and programme, limit usage,
overdue advances), the advances a partner may see, and the ledger of a (supplier, programme).

A supplier partner reads its own advances and ledger; the buyer of a reverse-factoring programme
reads the advances on the invoices it owes under it (the invoice, due date, advance and what is
outstanding: not the supplier's discount, fee or ledger). Finance and admin read everything.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func, or_, select

from api import access
from api.bodies import StrictJSONRoute
from api.currencies import format_minor
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.financing import decisions, ledger
from api.financing.models import FinancingItem, FinancingProgramme, FinancingRequest, LedgerEntry
from api.schemas import PageOf

router = APIRouter(tags=["financing"], route_class=StrictJSONRoute)

PartnerQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                           description="Only this supplier")]
ProgrammeQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this programme")]
BOOK_ROWS = 500
"""Most rows of each breakdown of the book (the largest exposures first)."""

access.register("GET", "/financing/book", {"admin", "finance"})
access.register("GET", "/financing/advances", {"admin", "finance", "partner"}, partner_filtered=True,
                note="a supplier its advances; the buyer of a reverse-factoring programme the advances on what it owes")
access.register("GET", "/financing/ledger", {"admin", "finance", "partner"}, partner_filtered=True,
                note="a supplier its own ledger")


class Exposure(BaseModel):
    """Outstanding advances of one supplier, buyer or programme, with the overdue part."""

    key: str = Field(description="Supplier, buyer or programme id")
    currency: str = Field(description="ISO 4217 code")
    outstanding: str = Field(description="Σ advance − repaid of the advances outstanding [currency]")
    advances: int = Field(description="Advances outstanding")
    overdue: str = Field(description="Of which past their due date [currency]")
    limit: str | None = Field(description="Programme: its limit; otherwise None")
    usage: float | None = Field(description="outstanding / limit")


class OverdueAdvance(BaseModel):
    """An advance past its due date and not repaid."""

    invoice_id: int = Field(description="Invoice")
    programme_id: int = Field(description="Programme")
    supplier_id: str = Field(description="Supplier")
    buyer_id: str = Field(description="Buyer")
    due_date: date = Field(description="Due (= repayment) date")
    days_overdue: int = Field(description="Days past the due date")
    currency: str = Field(description="ISO 4217 code")
    outstanding: str = Field(description="advance − repaid [currency]")


class Book(BaseModel):
    """Finance's book of advances on a date (each breakdown at most 500 rows, largest first)."""

    as_of: date = Field(description="Date of the book (today, UTC)")
    by_programme: list[Exposure] = Field(description="Exposure and limit usage per programme")
    by_supplier: list[Exposure] = Field(description="Exposure per supplier (and programme currency)")
    by_buyer: list[Exposure] = Field(description="Exposure per buyer")
    overdue: list[OverdueAdvance] = Field(description="Advances past their due date and not repaid, oldest due first")
    in_review: int = Field(description="Requests waiting in finance's inbox")


class AdvancePublic(BaseModel):
    """An advance on an invoice."""

    invoice_id: int = Field(description="Invoice")
    programme_id: int = Field(description="Programme")
    supplier_id: str = Field(description="Supplier")
    buyer_id: str = Field(description="Buyer")
    currency: str = Field(description="ISO 4217 code")
    advance_date: date | None = Field(description="When advanced")
    due_date: date = Field(description="Repayment date (the invoice's due date)")
    status: str = Field(description="advanced or repaid")
    advance: str = Field(description="Amount advanced [currency]")
    outstanding: str = Field(description="advance − repaid [currency]")
    discount: str | None = Field(description="Discount (shown to the supplier and staff)")
    fee: str | None = Field(description="Fee (shown to the supplier and staff)")
    interest: str | None = Field(description="Interest charged (shown to the supplier and staff)")


class LedgerEntryPublic(BaseModel):
    """One ledger entry: an amount moved from one account to another."""

    id: int = Field(description="Entry id")
    programme_id: int = Field(description="Programme")
    supplier_id: str = Field(description="Supplier")
    invoice_id: int = Field(description="Invoice")
    kind: str = Field(description="advance, discount, fee, settlement, interest, repayment or remittance")
    from_account: str = Field(description="Account the amount comes from")
    to_account: str = Field(description="Account it goes to")
    amount: str = Field(description="Amount [currency]")
    currency: str = Field(description="ISO 4217 code")
    on_date: date = Field(description="Value date")


class LedgerPage(PageOf[LedgerEntryPublic]):
    """A page of ledger entries (oldest first) and the balances of every account over the whole selection."""

    balances: dict[str, dict[str, str]] = Field(description="currency → account → balance (Σ received − Σ given); "
                                                            "each currency's accounts sum to 0")


@router.get("/financing/book", response_model=Book, summary="Finance's book: exposure, limit usage, overdue advances")
def book(user: AuthorizedUser, session: SessionDep):
    as_of = decisions.today()
    out = FinancingItem.advance_minor - FinancingItem.repaid_minor
    late = func.sum(case((FinancingItem.due_date < as_of, out), else_=0))
    live = FinancingItem.status == "advanced"

    def exposures(column: Any) -> list[dict[str, Any]]:
        rows = session.execute(select(column, FinancingItem.currency, func.sum(out), func.count(), late).where(live)
                               .group_by(column, FinancingItem.currency).order_by(func.sum(out).desc(), column)
                               .limit(BOOK_ROWS)).all()
        return [{"key": str(k), "currency": c, "outstanding": format_minor(int(s), c), "advances": n,
                 "overdue": format_minor(int(o or 0), c), "limit": None, "usage": None, "_minor": int(s)}
                for k, c, s, n, o in rows]

    by_programme = exposures(FinancingItem.programme_id)
    limits = dict(session.execute(select(FinancingProgramme.id, FinancingProgramme.programme_limit_minor)
                                  .where(FinancingProgramme.id.in_([int(r["key"]) for r in by_programme]))).all())
    for row in by_programme:
        lim = limits.get(int(row["key"]))
        if lim is not None:
            row["limit"] = format_minor(lim, row["currency"])
            row["usage"] = round(row["_minor"] / lim, 6) if lim else None
    overdue = session.scalars(select(FinancingItem).where(live, FinancingItem.due_date < as_of)
                              .order_by(FinancingItem.due_date, FinancingItem.id).limit(BOOK_ROWS)).all()
    return {"as_of": as_of, "by_programme": by_programme, "by_supplier": exposures(FinancingItem.supplier_id),
            "by_buyer": exposures(FinancingItem.buyer_id),
            "overdue": [{"invoice_id": i.invoice_id, "programme_id": i.programme_id, "supplier_id": i.supplier_id,
                         "buyer_id": i.buyer_id, "due_date": i.due_date, "days_overdue": (as_of - i.due_date).days,
                         "currency": i.currency, "outstanding": format_minor(i.advance_minor - i.repaid_minor, i.currency)}
                        for i in overdue],
            "in_review": session.scalar(select(func.count()).select_from(FinancingRequest)
                                        .where(FinancingRequest.status == "in_review"))}


@router.get("/financing/advances", response_model=PageOf[AdvancePublic],
            summary="Advances (a supplier: its own; a reverse-factoring buyer: those on what it owes)")
def advances(user: AuthorizedUser, session: SessionDep, page: PageDep, supplier_id: PartnerQuery = None,
             programme_id: ProgrammeQuery = None):
    scope = access.partner_scope(user)
    q = select(FinancingItem).where(FinancingItem.status.in_(("advanced", "repaid")))
    if scope is not None:
        rf = select(FinancingProgramme.id).where(FinancingProgramme.kind == "reverse_factoring",
                                                 FinancingProgramme.buyer_id == scope)
        q = q.where(or_(FinancingItem.supplier_id == scope,
                        and_(FinancingItem.buyer_id == scope, FinancingItem.programme_id.in_(rf))))
    if supplier_id is not None:
        q = q.where(FinancingItem.supplier_id == supplier_id)
    if programme_id is not None:
        q = q.where(FinancingItem.programme_id == programme_id)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(FinancingItem.id).limit(page.limit).offset(page.offset)).all()

    def public(i: FinancingItem) -> dict[str, Any]:
        m = lambda v: format_minor(v, i.currency)  # noqa: E731
        own = scope is None or scope == i.supplier_id
        return {"invoice_id": i.invoice_id, "programme_id": i.programme_id, "supplier_id": i.supplier_id,
                "buyer_id": i.buyer_id, "currency": i.currency, "advance_date": i.advance_date, "due_date": i.due_date,
                "status": i.status, "advance": m(i.advance_minor), "outstanding": m(i.advance_minor - i.repaid_minor),
                "discount": m(i.discount_minor) if own else None, "fee": m(i.fee_minor) if own else None,
                "interest": m(i.interest_minor) if own else None}

    return {"items": [public(i) for i in rows], "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/financing/ledger", response_model=LedgerPage, summary="Ledger entries and balances (a partner: its own)")
def ledger_entries(user: AuthorizedUser, session: SessionDep, page: PageDep, supplier_id: PartnerQuery = None,
                   programme_id: ProgrammeQuery = None):
    scope = access.partner_scope(user)
    conds = []
    if scope is not None:
        conds.append(LedgerEntry.supplier_id == scope)
    if supplier_id is not None:
        conds.append(LedgerEntry.supplier_id == supplier_id)
    if programme_id is not None:
        conds.append(LedgerEntry.programme_id == programme_id)
    q = select(LedgerEntry).where(*conds)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(LedgerEntry.id).limit(page.limit).offset(page.offset)).all()
    sums: dict[str, dict[str, int]] = {}
    for side, sign in ((LedgerEntry.debit, 1), (LedgerEntry.credit, -1)):
        for cur, account, s in session.execute(select(LedgerEntry.currency, side, func.sum(LedgerEntry.amount_minor))
                                               .where(*conds).group_by(LedgerEntry.currency, side)):
            acc = sums.setdefault(cur, {a: 0 for a in ledger.ACCOUNTS})
            acc[account] += sign * int(s)
    return {"items": [{"id": e.id, "programme_id": e.programme_id, "supplier_id": e.supplier_id, "invoice_id": e.invoice_id,
                       "kind": e.kind, "from_account": e.credit, "to_account": e.debit,
                       "amount": format_minor(e.amount_minor, e.currency), "currency": e.currency, "on_date": e.on_date}
                      for e in rows],
            "total": total, "limit": page.limit, "offset": page.offset,
            "balances": {cur: {a: format_minor(v, cur) for a, v in acc.items()} for cur, acc in sums.items()}}

