"""A financing request decided at once: every rule evaluated with its reason; all pass →
``approved`` and the advance is made, otherwise → ``in_review`` for finance, who approves
(the hard rules checked again) or declines.

Rules, per invoice: ``confirmed`` (its buyer confirmed it and something is open), ``currency``
(the programme's), ``buyer`` (the programme's buyer, when it has one), ``not_past_due`` (due on or
after the advance date), ``not_financed`` (no other request or advance holds it), ``days_to_due``
(at least the programme's minimum), ``age`` (issued at most ``max_invoice_age_days`` before).
Per request: ``supplier_limit`` (outstanding advances of the supplier in the programme + this
request's ≤ the effective limit: finance's override, else min(credit rule, programme's default
supplier limit)), ``programme_limit`` (the programme's outstanding + this request's ≤ its limit),
``concentration`` (each buyer's share of the supplier's outstanding advances in the programme,
this request included, ≤ the limit), ``auto_ceiling`` (the request's advance ≤ the ceiling of
automatic decisions). The first five and the two limits are *hard*: finance cannot approve a
request that fails them (a limit can be overridden first, ``PUT .../limit``); the others are
finance's judgement.

Concurrency: a decision holds the programme's row lock (PostgreSQL ``SELECT ... FOR NO KEY UPDATE``;
SQLite: a write to the row first, which takes the database's single writer lock) and the
invoices' row locks, so two decisions of one programme run one after the other and a payment of
an invoice waits for (or is seen by) a decision on it; ``financing_items.claim_invoice_id`` is
unique, so two live claims of one invoice cannot both be stored whatever the programme.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from fastapi import HTTPException
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import access
from api.currencies import format_minor
from api.financing import credit_facts, credit_rule, ledger, terms
from api.financing.models import FinancingItem, FinancingProgramme, FinancingRequest, SupplierLimit
from api.models import Invoice, User, utcnow

HARD = ("confirmed", "currency", "buyer", "not_past_due", "not_financed", "supplier_limit", "programme_limit")
ATTEMPTS = 20


def today() -> date:
    return utcnow().date()


# ----------------------------------------------------------------------------- visibility


def visible_programme(session: Session, user: User, programme_id: int) -> FinancingProgramme:
    """The programme if the user may see it (404 otherwise): staff every one; a partner one
    without a buyer, the one it offers as the buyer, or one whose buyer it has invoiced."""
    prog = session.get(FinancingProgramme, programme_id)
    scope = access.partner_scope(user)
    if prog is None or (scope is not None and not partner_sees(session, scope, prog.buyer_id)):
        raise access.not_found("financing programme", programme_id)
    return prog


def partner_sees(session: Session, partner_id: str, buyer_id: str | None) -> bool:
    return buyer_id is None or buyer_id == partner_id or bool(session.scalar(select(exists().where(
        Invoice.seller_id == partner_id, Invoice.buyer_id == buyer_id))))


def programme_visibility(partner_id: str) -> Any:
    """The SQL condition of :func:`partner_sees` on ``financing_programmes``."""
    return (FinancingProgramme.buyer_id.is_(None) | (FinancingProgramme.buyer_id == partner_id)
            | exists().where(Invoice.seller_id == partner_id, Invoice.buyer_id == FinancingProgramme.buyer_id))


# ----------------------------------------------------------------------------- limits


def override_of(session: Session, programme_id: int, partner_id: str) -> SupplierLimit | None:
    return session.scalar(select(SupplierLimit).where(SupplierLimit.programme_id == programme_id,
                                                      SupplierLimit.partner_id == partner_id)
                          .order_by(SupplierLimit.id.desc()).limit(1))


def supplier_limit(session: Session, prog: FinancingProgramme, supplier_id: str, as_of: date) -> dict[str, Any]:
    """The effective limit of a supplier in a programme with how it was found: the credit rule's
    amount and steps, the programme's default, finance's override."""
    fmt = lambda m: f"{format_minor(m, prog.currency)} {prog.currency}"  # noqa: E731
    params = {**credit_rule.DEFAULTS, **(prog.credit_rule or {})}
    facts = credit_facts.supplier_facts(session, supplier_id, prog.currency, as_of, int(params["months"]))
    rule = credit_rule.credit_limit(facts, params, fmt)
    override = override_of(session, prog.id, supplier_id)
    if override is not None:
        amount, basis = override.amount_minor, (f"finance's override {fmt(override.amount_minor)} "
                                                 f"({override.comment!r}, {override.set_at:%Y-%m-%d %H:%M} UTC)")
    elif prog.default_supplier_limit_minor is not None and prog.default_supplier_limit_minor < rule.amount_minor:
        amount = prog.default_supplier_limit_minor
        basis = f"the programme's supplier limit {fmt(amount)} (below the credit rule's)"
    else:
        amount, basis = rule.amount_minor, "the credit rule" + (
            f" (below the programme's supplier limit {fmt(prog.default_supplier_limit_minor)})"
            if prog.default_supplier_limit_minor is not None else "")
    return {"amount_minor": amount, "basis": basis, "rule": rule.as_dict(),
            "override": None if override is None else {"amount_minor": override.amount_minor,
                                                       "comment": override.comment, "set_at": override.set_at.isoformat()}}


def drawn(session: Session, prog: FinancingProgramme, supplier_id: str) -> tuple[int, int, dict[str, int]]:
    """Outstanding advances: the programme's (0 when it has no limit: not needed), the supplier's
    in it, and the supplier's by buyer."""
    total = 0 if prog.programme_limit_minor is None else int(
        ledger.outstanding_by(session, where=(FinancingItem.programme_id == prog.id,))[0][0])
    by_buyer = {b: int(v) for b, v in ledger.outstanding_by(
        session, FinancingItem.buyer_id, where=(FinancingItem.programme_id == prog.id,
                                                FinancingItem.supplier_id == supplier_id))}
    return total, sum(by_buyer.values()), by_buyer


# ----------------------------------------------------------------------------- the rules


def _check(rule: str, passed: bool, reason: str, invoice_id: int | None = None) -> dict[str, Any]:
    return {"rule": rule, "invoice_id": invoice_id, "passed": bool(passed), "hard": rule in HARD, "reason": reason}


def evaluate(session: Session, prog: FinancingProgramme, supplier_id: str, invoices: list[Invoice], as_of: date,
             own_request_id: int | None = None, limit: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every rule on ``invoices`` (the supplier's own) and the amounts they would be advanced."""
    fmt = lambda m: f"{format_minor(m, prog.currency)} {prog.currency}"  # noqa: E731
    checks: list[dict[str, Any]] = []
    amounts: dict[int, dict[str, int]] = {}
    claims = dict(session.execute(select(FinancingItem.claim_invoice_id, FinancingItem.request_id).where(
        FinancingItem.claim_invoice_id.in_([i.id for i in invoices]))).all())
    for inv in invoices:
        open_minor = inv.total_minor - inv.settled_minor
        a = terms.amounts(prog.kind, max(open_minor, 0), prog.advance_rate_micro, prog.rate_micro, prog.fee_micro,
                          prog.day_count, as_of, inv.due_date)
        amounts[inv.id] = {"open": open_minor, **a}
        i = inv.id
        checks.append(_check("confirmed", inv.status == "confirmed" and open_minor > 0,
                             f"invoice {inv.number!r} is {inv.status}" + (f", {fmt(open_minor)} open" if inv.status == "confirmed" else
                                                                          ": only a confirmed invoice with an amount open is financed"), i))
        checks.append(_check("currency", inv.currency == prog.currency,
                             f"in {inv.currency}; the programme lends {prog.currency}", i))
        if prog.buyer_id is not None:
            checks.append(_check("buyer", inv.buyer_id == prog.buyer_id,
                                 f"owed by {inv.buyer_id}; the programme finances invoices to {prog.buyer_id}", i))
        days = (inv.due_date - as_of).days
        checks.append(_check("not_past_due", days >= 0, f"due {inv.due_date}, {days} days after the advance date {as_of}", i))
        holder = claims.get(inv.id)
        checks.append(_check("not_financed", holder is None or holder == own_request_id,
                             "no other request or advance holds it" if holder is None or holder == own_request_id
                             else f"request {holder} already holds it", i))
        checks.append(_check("days_to_due", days >= prog.min_days_to_due,
                             f"{days} days to its due date; the programme asks for at least {prog.min_days_to_due}", i))
        if prog.max_invoice_age_days is not None:
            age = (as_of - inv.issue_date).days
            checks.append(_check("age", age <= prog.max_invoice_age_days,
                                 f"issued {inv.issue_date}, {age} days ago; the cut-off is {prog.max_invoice_age_days} days", i))
    new_total = sum(a["advance"] for a in amounts.values())
    prog_drawn, sup_drawn, by_buyer = drawn(session, prog, supplier_id)
    limit = limit or supplier_limit(session, prog, supplier_id, as_of)
    checks.append(_check("supplier_limit", sup_drawn + new_total <= limit["amount_minor"],
                         f"outstanding {fmt(sup_drawn)} + this request {fmt(new_total)} = {fmt(sup_drawn + new_total)}; "
                         f"limit {fmt(limit['amount_minor'])} ({limit['basis']})"))
    if prog.programme_limit_minor is not None:
        checks.append(_check("programme_limit", prog_drawn + new_total <= prog.programme_limit_minor,
                             f"the programme's outstanding {fmt(prog_drawn)} + this request {fmt(new_total)} = "
                             f"{fmt(prog_drawn + new_total)}; programme limit {fmt(prog.programme_limit_minor)}"))
    if prog.concentration_micro is not None:
        new_by_buyer: dict[str, int] = defaultdict(int)
        for inv in invoices:
            new_by_buyer[inv.buyer_id] += amounts[inv.id]["advance"]
        whole = sup_drawn + new_total
        for buyer, new in sorted(new_by_buyer.items()):
            share = by_buyer.get(buyer, 0) + new
            ok = whole == 0 or share * terms.MICRO <= prog.concentration_micro * whole
            pct = f"{100 * share / whole:.1f} %" if whole else "0 %"
            checks.append(_check("concentration", ok,
                                 f"buyer {buyer}: {fmt(share)} of the supplier's {fmt(whole)} outstanding in the "
                                 f"programme with this request = {pct}; the limit is "
                                 f"{100 * prog.concentration_micro / terms.MICRO:g} %"))
    if prog.auto_ceiling_minor is not None:
        checks.append(_check("auto_ceiling", new_total <= prog.auto_ceiling_minor,
                             f"advance {fmt(new_total)}; automatic decisions up to {fmt(prog.auto_ceiling_minor)}"))
    return {"checks": checks, "amounts": amounts, "limit": limit, "advance_total": new_total}


# ----------------------------------------------------------------------------- locking and writing


def lock_programme(session: Session, programme_id: int) -> FinancingProgramme:
    """Hold the programme for this transaction: PostgreSQL ``SELECT ... FOR NO KEY UPDATE`` (two
    decisions wait for each other; a payment inserting ledger rows that reference the programme
    takes only ``KEY SHARE`` on it and is not blocked, so a payment holding an invoice a decision
    waits for cannot deadlock with it); SQLite a write to its row (the first write of the
    transaction takes the database's writer lock, so the reads after it see every committed
    decision)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(FinancingProgramme).where(FinancingProgramme.id == programme_id)
                        .values(decisions=FinancingProgramme.decisions + 1))
        return session.get(FinancingProgramme, programme_id, populate_existing=True)
    return session.scalars(select(FinancingProgramme).where(FinancingProgramme.id == programme_id)
                           .with_for_update(key_share=True).execution_options(populate_existing=True)).one()


def lock_invoices(session: Session, ids: list[int]) -> list[Invoice]:
    q = select(Invoice).where(Invoice.id.in_(sorted(ids))).order_by(Invoice.id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update(key_share=True)  # FOR NO KEY UPDATE, as the payment's UPDATE of the row takes
    return list(session.scalars(q))


def _advance(session: Session, item: FinancingItem, a: dict[str, int], on: date) -> None:
    item.status, item.advance_date = "advanced", on
    item.face_minor, item.advance_minor, item.discount_minor, item.fee_minor = a["open"], a["advance"], a["discount"], a["fee"]
    item.interest_from = on
    session.flush()
    ledger.post_advance(session, item, on)


def retried(session: Session, work):
    """Run ``work`` and commit; a unique claim taken meanwhile by another transaction rolls it
    back and runs it again (it then sees that claim)."""
    for _ in range(ATTEMPTS):
        try:
            result = work()
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
    raise HTTPException(503, detail="too many concurrent financing decisions: retry the request")


def create_request(session: Session, user: User, programme_id: int, invoice_ids: list[int]) -> FinancingRequest:
    """The supplier's request, decided at once (404 for a programme it cannot see or an invoice
    that is not its own, as for a missing one)."""
    supplier = user.partner_id
    prog = visible_programme(session, user, programme_id)
    found = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))}
    for iid in invoice_ids:
        if iid not in found or found[iid].seller_id != supplier:
            raise access.not_found("invoice", iid)
    as_of = today()
    limit = supplier_limit(session, prog, supplier, as_of)  # read before the lock: the rule reads history only

    def work() -> FinancingRequest:
        locked = lock_programme(session, prog.id)
        invoices = lock_invoices(session, invoice_ids)
        result = evaluate(session, locked, supplier, invoices, as_of, limit=limit)
        passed = all(c["passed"] for c in result["checks"])
        held = {c["invoice_id"] for c in result["checks"] if c["rule"] == "not_financed" and not c["passed"]}
        req = FinancingRequest(programme_id=prog.id, supplier_id=supplier, status="approved" if passed else "in_review",
                               checks=result["checks"], credit=result["limit"], advance_date=as_of,
                               requested_by_id=user.id, decided_at=utcnow() if passed else None)
        session.add(req)
        session.flush()
        for inv in invoices:
            a = result["amounts"][inv.id]
            item = FinancingItem(request_id=req.id, programme_id=prog.id, supplier_id=supplier, buyer_id=inv.buyer_id,
                                 invoice_id=inv.id, claim_invoice_id=None if inv.id in held else inv.id,
                                 currency=inv.currency, status="requested", face_minor=a["open"],
                                 advance_minor=a["advance"], discount_minor=a["discount"], fee_minor=a["fee"],
                                 due_date=inv.due_date)
            session.add(item)
            session.flush()
            if passed:
                _advance(session, item, a, as_of)
        return req

    return retried(session, work)


def decide(session: Session, user: User, request_id: int, approve: bool, comment: str) -> FinancingRequest:
    """Finance approves (the hard rules evaluated again today: 409 naming those that fail) or
    declines an ``in_review`` request (409 for any other status)."""
    def work() -> FinancingRequest:
        req = session.get(FinancingRequest, request_id, populate_existing=True)
        if req is None:
            raise access.not_found("financing request", request_id)
        lock_programme(session, req.programme_id)
        req = session.get(FinancingRequest, request_id, populate_existing=True)
        if req.status != "in_review":
            raise HTTPException(409, detail=f"financing request {request_id} is {req.status}: only a request in review "
                                            "can be approved or declined")
        items = list(session.scalars(select(FinancingItem).where(FinancingItem.request_id == req.id)
                                     .order_by(FinancingItem.id).execution_options(populate_existing=True)))
        now = utcnow()
        req.decided_by_id, req.decided_at, req.comment = user.id, now, comment
        if not approve:
            req.status = "declined"
            for item in items:
                item.status, item.claim_invoice_id = "declined", None
            return req
        prog = session.get(FinancingProgramme, req.programme_id)
        as_of = today()
        invoices = lock_invoices(session, [i.invoice_id for i in items])
        result = evaluate(session, prog, req.supplier_id, invoices, as_of, own_request_id=req.id)
        failing = [c for c in result["checks"] if c["hard"] and not c["passed"]]
        if failing:
            raise HTTPException(409, detail="cannot approve: " + "; ".join(
                f"{c['rule']}{'' if c['invoice_id'] is None else ' (invoice ' + str(c['invoice_id']) + ')'}: {c['reason']}"
                for c in failing))
        req.status, req.checks, req.credit, req.advance_date = "approved", result["checks"], result["limit"], as_of
        for item in items:
            item.claim_invoice_id = item.invoice_id
            _advance(session, item, result["amounts"][item.invoice_id], as_of)
        return req

    try:
        return retried(session, work)
    except HTTPException:
        session.rollback()
        raise
