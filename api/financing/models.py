"""Tables of financing (migration ``0011_financing``); registered on the service's metadata by
:mod:`api.models`. Money is in integer minor units of the programme's currency, rates in integer
millionths (``advance_rate_micro`` 800000 = 0.8), so every amount is computed without a float.

- ``financing_programmes``: a programme's kind, currency, terms and eligibility, the credit
  rule's parameters (JSON of numbers), where its terms came from (a scenario's instrument).
- ``financing_supplier_limits``: finance's overrides of a supplier's limit in a programme,
  append-only (the latest row is in force; its history is who, when and why).
- ``financing_requests``: a supplier's request (status ``approved``, ``in_review``, ``declined``)
  with every rule's outcome (``checks``) as decided.
- ``financing_items``: one per invoice of a request; ``claim_invoice_id`` holds the invoice id
  while the item is requested or advanced (unique: never two live claims, so never two advances,
  on one invoice), NULL once declined.
- ``financing_ledger``: transfers between the accounts of a (supplier, programme), each a
  positive amount from one account to another (money is conserved by construction).
"""

from __future__ import annotations

from datetime import date as Day, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.models import UTC, utcnow

PROGRAMME_KINDS = ("factoring", "reverse_factoring", "receivables_line")
DAY_COUNTS = ("actual/360", "actual/365")
REQUEST_STATUSES = ("approved", "in_review", "declined")
ITEM_STATUSES = ("requested", "advanced", "repaid", "declined")


class FinancingProgramme(Base):
    __tablename__ = "financing_programmes"
    __table_args__ = (UniqueConstraint("name", name="uq_financing_programme_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    buyer_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    advance_rate_micro: Mapped[int] = mapped_column(BigInteger)
    rate_micro: Mapped[int] = mapped_column(BigInteger)  # annual discount (factoring) or interest (line)
    day_count: Mapped[str] = mapped_column(String(16))
    fee_micro: Mapped[int] = mapped_column(BigInteger)
    max_invoice_age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_days_to_due: Mapped[int] = mapped_column(Integer)
    concentration_micro: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    programme_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    default_supplier_limit_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    auto_ceiling_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    credit_rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decisions: Mapped[int] = mapped_column(BigInteger, default=0)  # bumped by each decision (SQLite's write lock)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC, default=utcnow)


class SupplierLimit(Base):
    __tablename__ = "financing_supplier_limits"
    __table_args__ = (Index("ix_financing_limits_prog_partner", "programme_id", "partner_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("financing_programmes.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    comment: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTC, default=utcnow)


class FinancingRequest(Base):
    __tablename__ = "financing_requests"
    __table_args__ = (Index("ix_financing_requests_supplier", "supplier_id", "id"),
                      Index("ix_financing_requests_status", "status", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("financing_programmes.id"), index=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    status: Mapped[str] = mapped_column(String(16))
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    credit: Mapped[dict[str, Any]] = mapped_column(JSON)  # the credit rule's amount and steps
    advance_date: Mapped[Day] = mapped_column(Date)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None: automatic
    decided_at: Mapped[datetime | None] = mapped_column(UTC, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


class FinancingItem(Base):
    __tablename__ = "financing_items"
    __table_args__ = (UniqueConstraint("claim_invoice_id", name="uq_financing_item_claim"),
                      Index("ix_financing_items_prog_supplier", "programme_id", "supplier_id", "status"),
                      Index("ix_financing_items_prog_status", "programme_id", "status"),
                      Index("ix_financing_items_invoice", "invoice_id"),
                      Index("ix_financing_items_buyer", "buyer_id", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("financing_requests.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("financing_programmes.id"))
    supplier_id: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    claim_invoice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    face_minor: Mapped[int] = mapped_column(BigInteger)  # open amount of the invoice when decided
    advance_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    repaid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # charged so far (line)
    interest_due_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # charged, not yet paid
    interest_from: Mapped[Day | None] = mapped_column(Date, nullable=True)  # accrued up to this date
    advance_date: Mapped[Day | None] = mapped_column(Date, nullable=True)
    due_date: Mapped[Day] = mapped_column(Date)


class LedgerEntry(Base):
    __tablename__ = "financing_ledger"
    __table_args__ = (Index("ix_financing_ledger_supplier_prog", "supplier_id", "programme_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("financing_programmes.id"))
    supplier_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int] = mapped_column(ForeignKey("financing_items.id"))
    invoice_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    debit: Mapped[str] = mapped_column(String(16))  # the account the amount goes to
    credit: Mapped[str] = mapped_column(String(16))  # the account it comes from
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    on_date: Mapped[Day] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTC, default=utcnow)


# the credit rule's facts: a supplier's invoices by issue date, covering what the rule sums (an
# index-only scan: no lookup of the invoice rows) (migration 0011_financing)
from api.models import Invoice  # noqa: E402

Index("ix_invoices_seller_issue", Invoice.seller_id, Invoice.issue_date, Invoice.currency, Invoice.status,
      Invoice.total_minor)
