"""The ledger of a (supplier, programme): every movement of money is a transfer of a positive
amount of minor units from one account (``credit``) to another (``debit``), so the accounts of a
ledger always sum to exactly 0.

Accounts: ``financier`` (the programme's funder's cash), ``supplier`` (what the supplier
received), ``buyer`` (what the buyer paid), ``collection`` (a buyer's payment on its way; back to 0
after each payment) and ``income`` (the financier's discount, fees and interest).

| kind | from → to | when |
|---|---|---|
| ``advance`` | financier → supplier | the advance ``A`` is made |
| ``discount``, ``fee`` | supplier → income | deducted from the advance at once (factoring) |
| ``settlement`` | buyer → collection | the buyer pays ``P`` of a financed invoice |
| ``interest`` | collection → income | a line's interest accrued to the payment date, paid first |
| ``repayment`` | collection → financier | then the outstanding advance, up to what is left |
| ``remittance`` | collection → supplier | what remains of the payment |

The outstanding advance of an item is ``A − Σ repayments``; it is repaid when that and the unpaid
interest are 0 (status ``repaid``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.financing import terms
from api.financing.models import FinancingItem, FinancingProgramme, LedgerEntry

ACCOUNTS = ("financier", "supplier", "buyer", "collection", "income")
FLOWS = {"advance": ("financier", "supplier"), "discount": ("supplier", "income"), "fee": ("supplier", "income"),
         "settlement": ("buyer", "collection"), "interest": ("collection", "income"),
         "repayment": ("collection", "financier"), "remittance": ("collection", "supplier")}
"""Entry kind → (account it comes from, account it goes to)."""


def post(session: Session, item: FinancingItem, kind: str, amount: int, on_date: date) -> None:
    """Add a transfer of ``amount`` (nothing for 0)."""
    if amount < 0:
        raise ValueError(f"a ledger amount is positive: {kind} {amount}")
    if amount == 0:
        return
    source, target = FLOWS[kind]
    session.add(LedgerEntry(programme_id=item.programme_id, supplier_id=item.supplier_id, item_id=item.id,
                            invoice_id=item.invoice_id, kind=kind, debit=target, credit=source, amount_minor=amount,
                            currency=item.currency, on_date=on_date))


def post_advance(session: Session, item: FinancingItem, on_date: date) -> None:
    post(session, item, "advance", item.advance_minor, on_date)
    post(session, item, "discount", item.discount_minor, on_date)
    post(session, item, "fee", item.fee_minor, on_date)


def repay_from_payment(session: Session, invoice_id: int, amount: int, paid_on: date) -> dict[str, int] | None:
    """A buyer's payment of ``amount`` on a financed invoice, split (in the caller's transaction):
    the line's interest accrued to ``paid_on`` first, then the outstanding advance, the rest to the
    supplier (also once the advance is repaid: every payment of a financed invoice passes through
    its ledger). None when the invoice was never advanced (the payment is the supplier's)."""
    item = session.scalar(select(FinancingItem).where(FinancingItem.claim_invoice_id == invoice_id,
                                                      FinancingItem.status.in_(("advanced", "repaid")))
                          .execution_options(populate_existing=True))
    if item is None:
        return None
    programme = session.get(FinancingProgramme, item.programme_id)
    outstanding = item.advance_minor - item.repaid_minor
    if programme.kind == "receivables_line" and item.interest_from is not None:
        accrued = terms.interest(outstanding, programme.rate_micro, (paid_on - item.interest_from).days,
                                 programme.day_count)
        item.interest_minor += accrued
        item.interest_due_minor += accrued
        item.interest_from = max(item.interest_from, paid_on)
    post(session, item, "settlement", amount, paid_on)
    interest_paid = min(amount, item.interest_due_minor)
    post(session, item, "interest", interest_paid, paid_on)
    item.interest_due_minor -= interest_paid
    repaid = min(amount - interest_paid, outstanding)
    post(session, item, "repayment", repaid, paid_on)
    item.repaid_minor += repaid
    rest = amount - interest_paid - repaid
    post(session, item, "remittance", rest, paid_on)
    if item.repaid_minor == item.advance_minor and item.interest_due_minor == 0:
        item.status = "repaid"
    return {"interest": interest_paid, "repayment": repaid, "remittance": rest}


def balances(session: Session, *, supplier_id: str | None = None, programme_id: int | None = None) -> dict[str, int]:
    """Σ received − Σ given of each account over the ledger entries (of a supplier, a programme)."""
    def total(column: Any) -> dict[str, int]:
        q = select(column, func.sum(LedgerEntry.amount_minor)).group_by(column)
        if supplier_id is not None:
            q = q.where(LedgerEntry.supplier_id == supplier_id)
        if programme_id is not None:
            q = q.where(LedgerEntry.programme_id == programme_id)
        return {a: int(s) for a, s in session.execute(q)}

    gets, gives = total(LedgerEntry.debit), total(LedgerEntry.credit)
    return {a: gets.get(a, 0) - gives.get(a, 0) for a in ACCOUNTS}


def outstanding_by(session: Session, *columns: Any, where: Any = ()) -> list[Any]:
    """Σ outstanding advance (advance − repaid) of the advanced items, grouped by ``columns``."""
    out = func.coalesce(func.sum(case((FinancingItem.status == "advanced",
                                       FinancingItem.advance_minor - FinancingItem.repaid_minor), else_=0)), 0)
    q = select(*columns, out).where(FinancingItem.status == "advanced", *where)
    return session.execute(q.group_by(*columns) if columns else q).all()
