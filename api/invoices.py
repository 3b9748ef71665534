"""Invoices between partners: money, recording, the buyer's decisions, payments and the hash chain.

**Lifecycle.** A seller records an invoice to a buyer (``recorded``). The buyer confirms it
(``confirmed``) or disputes it with a reason (``disputed``, final: the seller records a corrected
invoice under a new number); both only from ``recorded``. The buyer records payments of a
confirmed invoice: each is at most what is open (total − paid so far); the invoice stays
``confirmed`` while partly paid and becomes ``settled`` when the payments reach its total.
Later states (financed ...) extend :data:`TRANSITIONS`.

**Money.** Exact integers: amounts in minor units of the invoice's ISO 4217 currency
(:mod:`api.currencies`), quantities and unit prices in millionths. A line's amount is
quantity × unit price rounded half up to a minor unit; the total is the sum of the line amounts.
Amounts are bounded by :data:`MAX_AMOUNT` currency units (10^12), quantities and unit prices by
10^9 with at most 6 decimals.

**The chain.** Every change is an :class:`~api.models.InvoiceEvent` inserted in the transaction
that changes the invoice row; its ``hash`` is SHA-256 over the canonical JSON (sorted keys, no
spaces, UTF-8) of ``{seq, invoice_id, kind, actor_user_id, actor_partner_id, at, payload,
prev_hash}``, and ``prev_hash`` is the hash of the event before it. There is ONE chain over
all invoices (``seq`` 1, 2, 3 ... unique), not one per invoice: a per-invoice chain cannot tell
that a whole invoice was deleted with its events, one chain shows the gap in ``seq`` and the
broken link after it. The price is that every writer extends the same chain: a writer reads the
head (the last event) before it reads the invoice it changes, and two writers extending the same
head collide on the unique ``seq``; the loser's transaction is rolled back and run again
(:func:`chained`), and then sees the winner's change (so two confirmations, or two payments
of what is open, cannot both pass). :func:`verify_chain` recomputes every hash and link and
replays the events into the state each invoice row must hold, reporting the first break.

What the chain cannot show on its own: events removed from its END together with the invoices
they changed, or the whole chain rewritten with new hashes. Note the head (``seq`` and ``hash``,
printed by every verification) somewhere else and pass it as ``anchor`` to detect that too.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, TypeVar

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api import access
from api.currencies import EXPONENT, format_minor
from api.models import Invoice, InvoiceEvent, InvoiceLine, PartnerRecord, User, utcnow

GENESIS = "0" * 64
"""``prev_hash`` of the first event."""
MICRO = 10**6
MAX_AMOUNT = 10**12
"""Largest line amount and invoice total, in currency units."""
MAX_QUANTITY = 10**9
MAX_LINES = 1000
CHAIN_ATTEMPTS = 30
TRANSITIONS: dict[str, tuple[str, ...]] = {"confirmed": ("recorded",), "disputed": ("recorded",),
                                           "settlement": ("confirmed",)}
"""Event kind → the statuses it may start from (``recorded`` starts an invoice)."""

T = TypeVar("T")


# ----------------------------------------------------------------------------- money and content


@dataclass(frozen=True)
class LineIn:
    product: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class InvoiceIn:
    """An invoice as sent (the seller is the caller's partner)."""

    number: str
    buyer_id: str
    issue_date: date
    due_date: date
    currency: str
    lines: tuple[LineIn, ...]


def to_micro(value: Decimal) -> int:
    """Millionths of ``value``, rounded half up (exact for the at most 6 decimals accepted)."""
    return int(value.scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micro_text(micro: int) -> str:
    """Millionths as the shortest decimal string (``100_000_000`` → ``"100"``, ``1_500_000`` → ``"1.5"``)."""
    whole, frac = divmod(abs(micro), MICRO)
    text = f"{whole}.{frac:06d}".rstrip("0").rstrip(".")
    return f"-{text}" if micro < 0 else text


def line_amount(quantity_micro: int, unit_price_micro: int, currency: str) -> int:
    """quantity × unit price in minor units of ``currency``, rounded half up (exact integers)."""
    scaled = quantity_micro * unit_price_micro * 10 ** EXPONENT[currency]
    return (scaled + MICRO * MICRO // 2) // (MICRO * MICRO)


def content_of(seller_id: str, inv: InvoiceIn) -> dict[str, Any]:
    """The invoice's content as the chain records it (and as rows are compared with it)."""
    lines = []
    for ln in inv.lines:
        q, p = to_micro(ln.quantity), to_micro(ln.unit_price)
        lines.append({"product": ln.product, "quantity": micro_text(q), "unit_price": micro_text(p),
                      "amount_minor": line_amount(q, p, inv.currency)})
    return {"seller_id": seller_id, "buyer_id": inv.buyer_id, "number": inv.number,
            "issue_date": inv.issue_date.isoformat(), "due_date": inv.due_date.isoformat(), "currency": inv.currency,
            "lines": lines, "total_minor": sum(ln["amount_minor"] for ln in lines)}


def stored_content(invoice: Any, lines: Iterable[Any] | None = None) -> dict[str, Any]:
    """:func:`content_of` read back from an invoice and its lines (ORM objects or rows of the same columns)."""
    rows = sorted(invoice.lines if lines is None else lines, key=lambda ln: ln.position)
    return {"seller_id": invoice.seller_id, "buyer_id": invoice.buyer_id, "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
            "currency": invoice.currency,
            "lines": [{"product": ln.product, "quantity": micro_text(ln.quantity_micro),
                       "unit_price": micro_text(ln.unit_price_micro), "amount_minor": ln.amount_minor} for ln in rows],
            "total_minor": invoice.total_minor}


CONTENT_FIELDS = ("seller_id", "buyer_id", "number", "issue_date", "due_date", "currency", "lines", "total_minor")


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The content fields in which ``a`` and ``b`` differ."""
    return [k for k in CONTENT_FIELDS if a.get(k) != b.get(k)]


def invoice_problems(inv: InvoiceIn) -> list[tuple[str, str]]:
    """What the field constraints cannot say: ``(field, reason)`` for a due date before the
    issue date, a code outside ISO 4217, a line amount or a total over :data:`MAX_AMOUNT`, a
    total of zero."""
    out: list[tuple[str, str]] = []
    if inv.due_date < inv.issue_date:
        out.append(("due_date", f"{inv.due_date} is before the issue date {inv.issue_date}"))
    if inv.currency not in EXPONENT:
        out.append(("currency", f"{inv.currency!r} is not an ISO 4217 currency code"))
        return out
    total = 0
    limit = MAX_AMOUNT * 10 ** EXPONENT[inv.currency]
    for i, ln in enumerate(inv.lines):
        amount = line_amount(to_micro(ln.quantity), to_micro(ln.unit_price), inv.currency)
        if amount > limit:
            out.append((f"lines.{i}", f"quantity × unit price = {format_minor(amount, inv.currency)} {inv.currency}: "
                                      f"at most {MAX_AMOUNT:,} per line"))
        total += amount
    if total > limit:
        out.append(("lines", f"the total {format_minor(total, inv.currency)} {inv.currency} is over {MAX_AMOUNT:,}"))
    elif total == 0:
        out.append(("lines", "the total is 0: an invoice must charge something"))
    return out


def field_problems(problems: list[tuple[str, str]], prefix: str = "body") -> list[dict[str, Any]]:
    """``(field, reason)`` pairs as 422 detail entries."""
    out = []
    for name, msg in problems:
        loc = [prefix, *(int(p) if p.isdigit() else p for p in name.split("."))]
        out.append({"field": ".".join(map(str, loc)), "loc": loc, "msg": msg, "type": "value_error"})
    return out


# ----------------------------------------------------------------------------- the chain


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8; no floats (every number of an event is an integer)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def event_hash(*, prev_hash: str, seq: int, invoice_id: int, kind: str, actor_user_id: int,
               actor_partner_id: str | None, at: datetime, payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the event and the previous event's hash."""
    body = {"seq": seq, "invoice_id": invoice_id, "kind": kind, "actor_user_id": actor_user_id,
            "actor_partner_id": actor_partner_id, "at": at.isoformat(), "payload": payload, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def chain_head(session: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the last event, ``(0, GENESIS)`` before the first."""
    row = session.execute(select(InvoiceEvent.seq, InvoiceEvent.hash).order_by(InvoiceEvent.seq.desc()).limit(1)).first()
    return (int(row[0]), row[1]) if row else (0, GENESIS)


class ChainWriter:
    """Appends events after the head read when it is made (read it before the invoices it changes)."""

    def __init__(self, session: Session):
        self.session = session
        self.seq, self.hash = chain_head(session)

    def append(self, invoice: Invoice, kind: str, actor: User, payload: dict[str, Any],
               at: datetime | None = None) -> InvoiceEvent:
        at = at or utcnow()
        seq = self.seq + 1
        digest = event_hash(prev_hash=self.hash, seq=seq, invoice_id=invoice.id, kind=kind, actor_user_id=actor.id,
                            actor_partner_id=actor.partner_id, at=at, payload=payload)
        event = InvoiceEvent(seq=seq, invoice_id=invoice.id, kind=kind, actor_user_id=actor.id,
                             actor_partner_id=actor.partner_id, at=at, payload=payload, prev_hash=self.hash, hash=digest)
        self.session.add(event)
        self.seq, self.hash = seq, digest
        return event


def chained(session: Session, work: Callable[[ChainWriter], T], attempts: int = CHAIN_ATTEMPTS) -> T:
    """Run ``work`` (which changes invoices and appends their events) and commit; when another
    writer extended the chain first (a unique ``seq`` or invoice number collides), roll back and
    run it again on what that writer committed. 503 after ``attempts`` collisions in a row."""
    for attempt in range(attempts):
        try:
            result = work(ChainWriter(session))
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
    raise HTTPException(503, detail="too many concurrent invoice changes: retry the request")


# ----------------------------------------------------------------------------- writing


def visible_invoice(session: Session, user: User, invoice_id: int, fresh: bool = False) -> Invoice:
    """The invoice, if the user may see it: staff all, a partner user those it sells or buys (404
    otherwise, as for a missing one). ``fresh``: re-read, not the session's copy."""
    inv = session.get(Invoice, invoice_id, populate_existing=fresh)
    scope = access.partner_scope(user)
    if inv is None or (scope is not None and scope not in (inv.seller_id, inv.buyer_id)):
        raise access.not_found("invoice", invoice_id)
    return inv


def known_buyer_problem(session: Session, seller_id: str, buyer_id: str) -> str | None:
    """Why ``buyer_id`` cannot be invoiced by ``seller_id`` (None: it can)."""
    if buyer_id == seller_id:
        return "the buyer must be another partner than the seller"
    if session.get(PartnerRecord, buyer_id) is None:
        return f"no partner {buyer_id!r}: the buyer must be a registered partner of the chain"
    return None


def _conflict(seller_id: str, number: str, existing: Invoice, differ: list[str]) -> str:
    return (f"invoice number {number!r} of {seller_id} is already recorded (invoice {existing.id}) with other "
            f"content: {', '.join(differ)} differ; record a corrected invoice under a new number")


def conflicting(session: Session, seller_id: str, invoices: list[InvoiceIn], chunk: int = 500) -> list[str]:
    """Why each of ``invoices`` whose number the seller already used for other content cannot be recorded."""
    out = []
    for start in range(0, len(invoices), chunk):
        part = {inv.number: inv for inv in invoices[start:start + chunk]}
        for existing in session.scalars(select(Invoice).options(selectinload(Invoice.lines))
                                        .where(Invoice.seller_id == seller_id, Invoice.number.in_(list(part)))):
            differ = differences(stored_content(existing), content_of(seller_id, part[existing.number]))
            if differ:
                out.append(_conflict(seller_id, existing.number, existing, differ))
    return out


def record(writer: ChainWriter, actor: User, seller_id: str, inv: InvoiceIn, source: str,
           plan_id: int | None = None) -> tuple[Invoice, bool]:
    """Record ``inv`` as sold by ``seller_id`` (checked beforehand: :func:`invoice_problems`,
    :func:`known_buyer_problem`). The same number of the same seller again: the stored invoice
    when the content is the same (``created`` False), else 409 naming what differs."""
    session = writer.session
    content = content_of(seller_id, inv)
    existing = session.scalar(select(Invoice).where(Invoice.seller_id == seller_id, Invoice.number == inv.number)
                              .execution_options(populate_existing=True))
    if existing is not None:
        differ = differences(stored_content(existing), content)
        if differ:
            raise HTTPException(409, detail=_conflict(seller_id, inv.number, existing, differ))
        return existing, False
    now = utcnow()
    invoice = Invoice(seller_id=seller_id, buyer_id=inv.buyer_id, number=inv.number, issue_date=inv.issue_date,
                      due_date=inv.due_date, currency=inv.currency, total_minor=content["total_minor"], settled_minor=0,
                      status="recorded", source=source, plan_id=plan_id, created_by_id=actor.id, created_at=now,
                      updated_at=now)
    session.add(invoice)
    session.flush()
    for position, ln in enumerate(content["lines"], start=1):
        session.add(InvoiceLine(invoice_id=invoice.id, position=position, product=ln["product"],
                                quantity_micro=to_micro(Decimal(ln["quantity"])),
                                unit_price_micro=to_micro(Decimal(ln["unit_price"])), amount_minor=ln["amount_minor"]))
    writer.append(invoice, "recorded", actor, {**content, "source": source, "plan_id": plan_id, "status": "recorded"},
                  at=now)
    return invoice, True


VERBS = {"confirmed": ("confirm", "confirmed"), "disputed": ("dispute", "disputed"), "settlement": ("pay", "paid")}


def _acting_buyer(writer: ChainWriter, user: User, invoice_id: int, kind: str) -> Invoice:
    """The invoice (re-read after the chain's head), if ``user`` is its buyer (403 otherwise) and
    its status allows ``kind`` (409 otherwise)."""
    verb, done = VERBS[kind]
    inv = visible_invoice(writer.session, user, invoice_id, fresh=True)
    if user.partner_id != inv.buyer_id:
        raise access.forbid(f"only the buyer ({inv.buyer_id}) may {verb} invoice {invoice_id}")
    if inv.status not in TRANSITIONS[kind]:
        raise HTTPException(409, detail=f"invoice {invoice_id} is {inv.status}: only a "
                                        f"{' or '.join(TRANSITIONS[kind])} invoice can be {done}")
    return inv


def decide(writer: ChainWriter, user: User, invoice_id: int, kind: str, reason: str | None = None) -> Invoice:
    """The buyer confirms (``kind`` ``confirmed``) or disputes (``disputed``, with a reason) a
    recorded invoice."""
    inv = _acting_buyer(writer, user, invoice_id, kind)
    now = utcnow()
    inv.status, inv.updated_at = kind, now
    writer.append(inv, kind, user, {"status": kind, **({"reason": reason} if reason is not None else {})}, at=now)
    return inv


def settle(writer: ChainWriter, user: User, invoice_id: int, amount: Decimal, paid_on: date,
        reference: str = "") -> Invoice:
    """The buyer records a payment of a confirmed invoice: 0 < amount ≤ open (409 above what is
    open), in the currency's decimals (422), not before the issue date (422). On a financed
    invoice the payment repays the advance first, in the same transaction
    (:func:`api.financing.ledger.repay_from_payment`)."""
    inv = _acting_buyer(writer, user, invoice_id, "settlement")
    cur = inv.currency
    scaled = amount.scaleb(EXPONENT[cur])
    if scaled != scaled.to_integral_value():
        raise HTTPException(422, detail=field_problems([("amount", f"{cur} amounts have at most {EXPONENT[cur]} decimals")]))
    if paid_on < inv.issue_date:
        raise HTTPException(422, detail=field_problems([("paid_on", f"{paid_on} is before the invoice's issue date "
                                                                    f"{inv.issue_date}")]))
    minor = int(scaled)
    open_minor = inv.total_minor - inv.settled_minor
    if minor > open_minor:
        raise HTTPException(409, detail=f"amount {format_minor(minor, cur)} {cur} is more than the "
                                        f"{format_minor(open_minor, cur)} {cur} open on invoice {invoice_id}")
    now = utcnow()
    inv.settled_minor += minor
    inv.status = "settled" if inv.settled_minor == inv.total_minor else "confirmed"
    inv.updated_at = now
    writer.append(inv, "settlement", user, {"amount_minor": minor, "paid_on": paid_on.isoformat(), "reference": reference,
                                         "settled_minor": inv.settled_minor, "status": inv.status}, at=now)
    from api.financing.ledger import repay_from_payment

    writer.session.flush()  # the invoice row first: a decision on it (holding its row lock) is waited for
    repay_from_payment(writer.session, inv.id, minor, paid_on)  # a financed invoice: the advance repaid first
    return inv


# ----------------------------------------------------------------------------- from a plan


def plan_invoices(scenario: Any, shipments: list[dict[str, Any]], seller_id: str, plan_id: int) -> list[InvoiceIn]:
    """The invoices ``seller_id`` would send for its shipments to other partners in a plan: one
    per buyer and period with a line per product, priced as the plan's cash streams price them
    (``transfer_revenue``: the scenario's transfer price of the seller, buyer and product in
    that period). Issued on the first day of the shipment's period, due on the first day of the
    period the plan settles it in (the trade terms' lag of the pair, else the seller's
    collection lag, in periods); numbered ``PLAN<plan>-<buyer>-<issue date>``. Quantities are
    rounded half up to millionths; lines of no quantity or no price are left out."""
    from planning.data import compile_data

    priced: dict[tuple[str, str], tuple[str, Any, int]] = {}
    for st in compile_data(scenario).streams:
        if st.kind == "transfer_revenue" and st.partner == seller_id:
            priced[tuple(st.key)] = (st.counterparty, st.coef, st.lag)
    lines: dict[tuple[str, int], dict[tuple[str, int], int]] = {}
    lags: dict[str, int] = {}
    for row in shipments:
        key = (str(row["lane"]), str(row["product"]))
        if key not in priced:
            continue
        buyer, coef, lag = priced[key]
        t = int(row["period"])
        q = to_micro(Decimal(repr(float(row["quantity"]))))
        p = to_micro(Decimal(repr(float(coef[t]))))
        if q <= 0 or p <= 0:
            continue
        per = lines.setdefault((buyer, t), {})
        per[key[1], p] = per.get((key[1], p), 0) + q
        lags[buyer] = lag
    out = []
    for (buyer, t), products in sorted(lines.items()):
        issue = period_start(scenario, t)
        out.append(InvoiceIn(number=f"PLAN{plan_id}-{buyer}-{issue.isoformat()}", buyer_id=buyer, issue_date=issue,
                             due_date=period_start(scenario, t + lags[buyer]), currency=scenario.currency,
                             lines=tuple(LineIn(product, Decimal(q).scaleb(-6), Decimal(p).scaleb(-6))
                                         for (product, p), q in sorted(products.items()))))
    return out


def period_start(scenario: Any, t: int) -> date:
    """First day of period ``t`` of the scenario's time buckets (also past the horizon)."""
    import pandas as pd

    from scenarios.schema import Frequency

    start = pd.Timestamp(scenario.time.start)
    if scenario.time.freq == Frequency.weekly:
        return (start + timedelta(weeks=t)).date()
    return (start + pd.DateOffset(months=t)).date()


# ----------------------------------------------------------------------------- verifying


@dataclass
class Break:
    """The first broken link: the event (or invoice row) where the stored data stops agreeing."""

    what: str
    seq: int | None = None
    event_id: int | None = None
    invoice_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "event_id": self.event_id, "invoice_id": self.invoice_id, "what": self.what}


@dataclass
class Verification:
    events: int = 0
    invoices: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    first_break: Break | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def message(self) -> str:
        if self.first_break is None:
            return f"intact, {self.events} events"
        b = self.first_break
        where = ", ".join(x for x in (f"event seq {b.seq}" if b.seq is not None else "",
                                      f"id {b.event_id}" if b.event_id is not None else "",
                                      f"invoice {b.invoice_id}" if b.invoice_id is not None else "") if x)
        return f"broken at {where}: {b.what}"

    def as_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "events": self.events, "invoices": self.invoices,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
                "first_break": None if self.first_break is None else self.first_break.as_dict(),
                "message": self.message()}


@dataclass
class _Replayed:
    """An invoice as its events leave it."""

    digest: str
    status: str
    settled_minor: int
    created_by_id: int
    recorded_seq: int
    last_seq: int
    last_event_id: int
    total_minor: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: content.get(k) for k in CONTENT_FIELDS})).hexdigest()


def _replay(state: dict[int, _Replayed], ev: Any) -> str | None:
    """Apply event ``ev`` to ``state``; why it cannot follow the events before it, or None."""
    p = ev.payload if isinstance(ev.payload, dict) else {}
    cur = state.get(ev.invoice_id)
    if ev.kind == "recorded":
        if cur is not None:
            return f"a second 'recorded' event for invoice {ev.invoice_id} (the first is seq {cur.recorded_seq})"
        state[ev.invoice_id] = _Replayed(_content_digest(p), "recorded", 0, ev.actor_user_id, ev.seq, ev.seq, ev.id,
                                         int(p.get("total_minor") or 0))
        return None if p.get("status") == "recorded" else "its payload's status is not 'recorded'"
    if cur is None:
        return f"'{ev.kind}' event of invoice {ev.invoice_id} before any 'recorded' event of it"
    if ev.kind not in TRANSITIONS:
        return f"unknown event kind {ev.kind!r}"
    if cur.status not in TRANSITIONS[ev.kind]:
        return f"'{ev.kind}' event of invoice {ev.invoice_id} while it is {cur.status}"
    if ev.kind == "settlement":
        amount = p.get("amount_minor")
        if not isinstance(amount, int) or not 0 < amount <= cur.total_minor - cur.settled_minor:
            return f"payment of {amount!r} minor units with {cur.total_minor - cur.settled_minor} open"
        cur.settled_minor += amount
        status = "settled" if cur.settled_minor == cur.total_minor else "confirmed"
        if p.get("settled_minor") != cur.settled_minor:
            return f"its payload's settled_minor {p.get('settled_minor')!r} is not the payments' sum {cur.settled_minor}"
    else:
        status = ev.kind
    if p.get("status") != status:
        return f"its payload's status {p.get('status')!r} is not {status!r}"
    cur.status, cur.last_seq, cur.last_event_id = status, ev.seq, ev.id
    return None


def verify_chain(session: Session, anchor: tuple[int, str] | None = None, batch: int = 2000) -> Verification:
    """Recompute the chain and replay it against the invoice rows; the first break, if any.

    In ``seq`` order each event must follow the one before (no gap in ``seq``), carry its hash as
    ``prev_hash``, hash to its stored ``hash``, and be a legal step of its invoice
    (:data:`TRANSITIONS`, payments within what is open). Then each invoice row and its lines must
    equal what its events recorded (content, status, amount paid, author), and every invoice must
    have events. ``anchor`` ``(seq, hash)``: a head noted earlier, which must still be in the chain."""
    rep = Verification()
    state: dict[int, _Replayed] = {}
    prev_seq, prev_hash = 0, GENESIS
    cols = (InvoiceEvent.id, InvoiceEvent.seq, InvoiceEvent.invoice_id, InvoiceEvent.kind, InvoiceEvent.actor_user_id,
            InvoiceEvent.actor_partner_id, InvoiceEvent.at, InvoiceEvent.payload, InvoiceEvent.prev_hash,
            InvoiceEvent.hash)
    for ev in session.execute(select(*cols).order_by(InvoiceEvent.seq).execution_options(yield_per=batch)):
        rep.events += 1
        if rep.first_break is not None:
            continue
        where = {"seq": ev.seq, "event_id": ev.id, "invoice_id": ev.invoice_id}
        if ev.seq != prev_seq + 1:
            missing = f"{prev_seq + 1}" if ev.seq == prev_seq + 2 else f"{prev_seq + 1}..{ev.seq - 1}"
            rep.first_break = Break(f"event(s) seq {missing} missing: this event follows seq {prev_seq}"
                                    if ev.seq > prev_seq else f"seq {ev.seq} does not follow seq {prev_seq}", **where)
            continue
        if ev.prev_hash != prev_hash:
            rep.first_break = Break(f"prev_hash {ev.prev_hash[:12]}… is not the hash {prev_hash[:12]}… of event seq "
                                    f"{prev_seq}", **where)
            continue
        digest = event_hash(prev_hash=ev.prev_hash, seq=ev.seq, invoice_id=ev.invoice_id, kind=ev.kind,
                            actor_user_id=ev.actor_user_id, actor_partner_id=ev.actor_partner_id, at=ev.at,
                            payload=ev.payload)
        if digest != ev.hash:
            rep.first_break = Break(f"the event was changed after it was written: its stored hash {ev.hash[:12]}… "
                                    f"is not the hash of its content {digest[:12]}…{_changed_fields(session, ev)}",
                                    **where)
            continue
        why = _replay(state, ev)
        if why is not None:
            rep.first_break = Break(why, **where)
            continue
        if anchor is not None and ev.seq == anchor[0] and ev.hash != anchor[1]:
            rep.first_break = Break(f"the anchor's hash {anchor[1][:12]}… is not this event's {ev.hash[:12]}…: "
                                    "the chain was rewritten", **where)
            continue
        prev_seq, prev_hash = ev.seq, ev.hash
    rep.head_seq, rep.head_hash = prev_seq, prev_hash
    if rep.first_break is None and anchor is not None and prev_seq < anchor[0]:
        rep.first_break = Break(f"the chain ends at seq {prev_seq}, before the anchor seq {anchor[0]}: "
                                "events were removed from its end")
    rep.invoices = _check_rows(session, state, rep, batch)
    return rep


def _changed_fields(session: Session, ev: Any) -> str:
    """For a changed 'recorded' event: which of its content fields no longer match the invoice row."""
    if ev.kind != "recorded" or not isinstance(ev.payload, dict):
        return ""
    inv = session.get(Invoice, ev.invoice_id)
    if inv is None:
        return ""
    differ = differences(ev.payload, stored_content(inv))
    return f"; its payload's {', '.join(differ)} differ from the invoice row" if differ else ""


INVOICE_COLUMNS = (Invoice.id, Invoice.seller_id, Invoice.buyer_id, Invoice.number, Invoice.issue_date,
                   Invoice.due_date, Invoice.currency, Invoice.total_minor, Invoice.settled_minor, Invoice.status,
                   Invoice.created_by_id)
LINE_COLUMNS = (InvoiceLine.invoice_id, InvoiceLine.position, InvoiceLine.product, InvoiceLine.quantity_micro,
                InvoiceLine.unit_price_micro, InvoiceLine.amount_minor)


def _check_rows(session: Session, state: dict[int, _Replayed], rep: Verification, batch: int) -> int:
    """Compare every invoice row (and its lines) with its replayed state, a batch of rows at a
    time; count the rows."""
    seen = 0
    last_id = 0
    while True:
        invoices = session.execute(select(*INVOICE_COLUMNS).where(Invoice.id > last_id).order_by(Invoice.id)
                                   .limit(batch)).all()
        if not invoices:
            break
        lines: dict[int, list[Any]] = {}
        for ln in session.execute(select(*LINE_COLUMNS).where(InvoiceLine.invoice_id.between(invoices[0].id,
                                                                                             invoices[-1].id))):
            lines.setdefault(ln.invoice_id, []).append(ln)
        for inv in invoices:
            seen += 1
            replayed = state.pop(inv.id, None)
            if rep.first_break is None:
                rep.first_break = _row_break(session, inv, lines.get(inv.id, []), replayed)
        last_id = invoices[-1].id
    if rep.first_break is None and state:
        gone = min(state, key=lambda i: state[i].recorded_seq)
        r = state[gone]
        rep.first_break = Break(f"invoice {gone} has events in the chain but no row in invoices (deleted)",
                                r.last_seq, r.last_event_id, gone)
    return seen


def _row_break(session: Session, inv: Any, lines: list[Any], replayed: _Replayed | None) -> Break | None:
    """Why an invoice row (``INVOICE_COLUMNS``) and its lines are not what its events recorded, or None."""
    label = f"invoice {inv.id} ({inv.number!r} of {inv.seller_id})"
    if replayed is None:
        return Break(f"{label} has no 'recorded' event in the chain: it was written around it", invoice_id=inv.id)
    where = {"seq": replayed.last_seq, "event_id": replayed.last_event_id, "invoice_id": inv.id}
    content = stored_content(inv, lines)
    if _content_digest(content) != replayed.digest:
        recorded = session.scalar(select(InvoiceEvent.payload).where(InvoiceEvent.seq == replayed.recorded_seq))
        differ = differences(content, recorded or {})
        detail = "; ".join(_difference(name, content, recorded or {}) for name in differ)
        return Break(f"{label}: the stored row differs from its 'recorded' event (seq {replayed.recorded_seq}): {detail}",
                     **where)
    for name, stored, chained_ in (("status", inv.status, replayed.status),
                                   ("settled_minor", inv.settled_minor, replayed.settled_minor),
                                   ("created_by_id", inv.created_by_id, replayed.created_by_id)):
        if stored != chained_:
            return Break(f"{label}: invoices.{name} is {stored!r} but its events leave it at {chained_!r}", **where)
    return None


def _difference(name: str, row: dict[str, Any], recorded: dict[str, Any]) -> str:
    a, b = row.get(name), recorded.get(name)
    if name == "lines" and isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b), start=1):
            for k in x:
                if x.get(k) != (y or {}).get(k):
                    return f"invoice_lines position {i} {k} is {x.get(k)!r}, recorded {(y or {}).get(k)!r}"
        return f"{len(a)} invoice_lines, {len(b)} recorded"
    table = "invoices"
    return f"{table}.{name} is {a!r}, recorded {b!r}"
