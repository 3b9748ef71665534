"""The service's tables (SQLAlchemy 2, typed ORM). Migration ``0001_core`` creates all of them;
the ``jobs`` table lives in :mod:`api.jobs.model` (migration ``0002_jobs``).

Conventions shared with the job runners:

- Partners are keyed by their scenario id (``shops``, ``maker`` ...): ``partners.id`` is that string.
- Rows of data (uploads, submissions, forecasts, consensus) are stored as JSON lists of records
  with ISO dates, so one table row is one immutable version.
- ``forecast_runs``: one per statistical forecast run (filled by the forecast job runner):
  ``forecasts`` = records ``unique_id, ds, p10, p50, p90, method`` (+ key columns), ``accuracy`` =
  the backtest records ``unique_id, model, wape, selected, ...``. The consensus reads the latest
  run with ``status == "done"``.
- ``plans``: one per solve of a scenario version with given options (``options_hash`` = sha256 of
  the canonical options JSON; unique with the scenario version, so the same work is stored once);
  ``result`` = :meth:`planning.plan.Plan.to_dict`. ``funding_results``: one row per (plan,
  partner), ``result`` = that partner's funding (JSON). A new plan of the same scenario voids the
  finance reviews of the earlier plans (``finance_reviews.voided_at``/``voided_by_plan_id``).
  ``basis`` = the solve's final HiGHS basis (a MIP: its solution), keyed by variable and
  constraint names (:meth:`planning.warm.SavedBasis.to_bytes`, zlib-compressed, about 1.2 MB at
  271k variables): a later plan of the scenario starts from it (migration ``0007_plan_basis``). It
  is a deferred column, never part of an API response.
- ``cpfr_exceptions.partners`` (a JSON list) has its rows in ``exception_partners`` too (migration
  ``0008_exception_partners``), kept equal on every assignment, so lists filter a partner's scope in SQL.
- ``invoices``, ``invoice_lines``, ``invoice_events`` (migration ``0010_invoices``): invoices between
  partners, money in integer minor units, and their append-only, hash-chained history
  (:mod:`api.invoices`).
"""

from __future__ import annotations

from datetime import date as Day, datetime, timezone
from typing import Any

from sqlalchemy import false as sa_false
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from api.db import Base

ROLES = ("admin", "planner", "finance", "partner")
UPLOAD_FORMATS = ("csv", "json")
REVIEW_DECISIONS = ("approve", "reject")
PLAN_STATUSES = ("queued", "running", "done", "failed", "cancelled")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTC(TypeDecorator):
    """A timestamp that is timezone-aware UTC in Python on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(**kw: Any) -> Mapped[datetime]:
    return mapped_column(UTC, **kw)


class PartnerRecord(Base):
    """A supply partner (manufacturer, wholesaler, transporter or retailer)."""

    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    # a disabled partner's users are refused (403) on every route, their tokens kept for re-enabling
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class User(Base):
    """A person or system with a role; partner users belong to one partner."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _ts(default=utcnow)
    # argon2id hash of the browser sign-in password (migration 0006); None: no sign-in by password
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)

    partner: Mapped[PartnerRecord | None] = relationship()
    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    @property
    def has_password(self) -> bool:
        """Whether the user can sign in from a browser."""
        return self.password_hash is not None


class ApiToken(Base):
    """A bearer token; only its SHA-256 hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _ts(default=utcnow)
    last_used_at: Mapped[datetime | None] = _ts(nullable=True)
    revoked_at: Mapped[datetime | None] = _ts(nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Base):
    """A browser session (``POST /auth/login``): only the SHA-256 hashes of its cookie value and of
    its CSRF token are kept. It ends at ``expires_at``, after ``session_idle_minutes`` without use
    (``last_seen_at``), or when revoked (sign-out, password change, user disabled)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    expires_at: Mapped[datetime] = _ts()
    last_seen_at: Mapped[datetime] = _ts(default=utcnow)
    revoked_at: Mapped[datetime | None] = _ts(nullable=True)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """A failed sign-in, kept for the rate limit's window (counted in the database, so across the
    service's worker processes). ``name_cleared``: the name signed in successfully since, so the
    failure no longer counts against the name (it still counts against the address)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_at", "name", "at"), Index("ix_login_failures_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = _ts(default=utcnow)
    name_cleared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class ServiceMeta(Base):
    """Facts about the database itself, by key (e.g. ``demo``: seeded by ``jointplan serve --demo``)."""

    __tablename__ = "service_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(default=utcnow)


class DataUpload(Base):
    """One upload of a partner's sales history; every upload is kept."""

    __tablename__ = "data_uploads"
    __table_args__ = (UniqueConstraint("partner_id", "idempotency_key", name="uq_upload_idempotency"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    format: Mapped[str] = mapped_column(String(8))
    row_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # of the request, to spot a reused key
    keys: Mapped[list[str]] = mapped_column(JSON)  # key columns of the rows
    # keys..., date (ISO), quantity: uploads before migration 0003 only; the points of every
    # upload are in history_points (read from there, never re-parsed from this JSON)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retracted_at: Mapped[datetime | None] = _ts(nullable=True)  # its owner withdrew it (kept in the lineage)
    retracted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ForecastSubmission(Base):
    """One version of a partner's own forecast."""

    __tablename__ = "forecast_submissions"
    __table_args__ = (UniqueConstraint("partner_id", "version", name="uq_submission_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _ts(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    row_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    keys: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # unique_id, ds (ISO), value, keys...


class JobColumns:
    """The columns of a record filled by a background job: its state, the job that fills it, who
    asked and when, and when it finished."""

    status: Mapped[str] = mapped_column(String(16), default="queued")
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    finished_at: Mapped[datetime | None] = _ts(nullable=True)


class JobResultColumns(JobColumns):
    """A job's record whose result is one JSON document (None until the job is done)."""

    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ForecastRun(JobColumns, Base):
    """A statistical forecast run and its results (written by the forecast job runner)."""

    __tablename__ = "forecast_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    forecasts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    accuracy: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the model selection kept for the next run of the same options (forecasting.selection; internal)
    selection: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)


class ExceptionRecord(Base):
    """A CPFR exception found when the exceptions were last listed (kept so it can be resolved)."""

    __tablename__ = "cpfr_exceptions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the stable EX-... id
    unique_id: Mapped[str] = mapped_column(String(200), index=True)
    ds: Mapped[str | None] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    sources: Mapped[str] = mapped_column(String(200))
    values: Mapped[str] = mapped_column(String(200))
    measure: Mapped[float | None] = mapped_column(Float)
    limit: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    owner: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    partners: Mapped[list[str]] = mapped_column(JSON)  # partners involved (sources and owner)
    first_seen_at: Mapped[datetime] = _ts(default=utcnow)
    last_seen_at: Mapped[datetime] = _ts(default=utcnow)
    # the same partners as rows (exception_partners), so lists filter by partner in SQL; kept
    # equal to ``partners`` whenever it is assigned (see _sync_exception_partners)
    partner_links: Mapped[list["ExceptionPartner"]] = relationship(cascade="all, delete-orphan",
                                                                   passive_deletes=True)


class ExceptionPartner(Base):
    """A partner involved in an exception: ``cpfr_exceptions.partners`` as rows (migration
    ``0008_exception_partners``), what ``GET /exceptions`` filters a partner's scope by."""

    __tablename__ = "exception_partners"
    exception_id: Mapped[str] = mapped_column(ForeignKey("cpfr_exceptions.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    __table_args__ = (Index("ix_exception_partners_partner", "partner_id", "exception_id"),)


@event.listens_for(ExceptionRecord.partners, "set")
def _sync_exception_partners(target: ExceptionRecord, value, _old, _initiator) -> None:
    """Assigning ``partners`` (the constructor does too) rewrites the link rows to match: the
    links of partners no longer involved are deleted, the new ones added."""
    wanted = sorted({str(p) for p in (value or [])})
    links = target.partner_links
    for link in [lk for lk in links if lk.partner_id not in wanted]:
        links.remove(link)
    have = {lk.partner_id for lk in links}
    links.extend(ExceptionPartner(partner_id=p) for p in wanted if p not in have)


class ResolutionRecord(Base):
    """How an exception (or any series-periods) was resolved; append-only."""

    __tablename__ = "resolutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exception_id: Mapped[str | None] = mapped_column(ForeignKey("cpfr_exceptions.id"), index=True)
    unique_id: Mapped[str] = mapped_column(String(200))
    periods: Mapped[list[str] | None] = mapped_column(JSON)  # ISO dates; None = every period
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_partner_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _ts(default=utcnow)


class ConsensusVersion(Base):
    """One built consensus forecast; immutable."""

    __tablename__ = "consensus_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    rule: Mapped[str] = mapped_column(String(16))
    forecast_run_id: Mapped[int | None] = mapped_column(ForeignKey("forecast_runs.id"))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # submission versions and resolution ids used
    notes: Mapped[list[str]] = mapped_column(JSON)
    # unique_id, ds, p10, p50, p90, basis, partners (list of partners whose item the series is)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ScenarioRecord(Base):
    """A named scenario; its content lives in immutable versions."""

    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)  # compare-and-set guard for edits

    versions: Mapped[list["ScenarioVersion"]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.version"
    )


class ScenarioVersion(Base):
    """One immutable version of a scenario (rows are never updated; an edit adds a version)."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "version", name="uq_scenario_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")

    scenario: Mapped[ScenarioRecord] = relationship(back_populates="versions")


class PlanRecord(JobResultColumns, Base):
    """A solve of one scenario version with given options (filled by the plan job runner)."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("scenario_version_id", "options_hash", name="uq_plan_work"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    options_hash: Mapped[str] = mapped_column(String(64))
    # read only where a warm start needs it (api.jobs.runners.load_inputs)
    basis: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)


class FundingResultRecord(Base):
    """A plan's funding for one partner (filled by the plan job runner)."""

    __tablename__ = "funding_results"
    __table_args__ = (UniqueConstraint("plan_id", "partner", name="uq_funding_plan_partner"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    partner: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class AtRiskRun(JobResultColumns, Base):
    """A plan's funding at risk (``finance.at_risk``), computed by an ``at_risk`` job; its options
    in ``params``, its result (settings, per-partner and per-period tables) in ``result``."""

    __tablename__ = "funding_at_risk"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)


class IntegrationStudyRecord(JobResultColumns, Base):
    """A scenario version's value-of-integration study (``finance.integration_value``), computed by
    an ``integration`` job; its grid and options in ``params``, its result (settings, summary, a
    row per grid point) in ``result``."""

    __tablename__ = "integration_studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)


class PlanTable(Base):
    """One result table of a done plan, stored on its own and column by column (written with the
    plan's result by the plan job runner, :mod:`api.plan_tables`): a table page or the whole table
    is read without reading, or parsing, the rest of the result."""

    __tablename__ = "plan_tables"
    __table_args__ = (UniqueConstraint("plan_id", "name", name="uq_plan_table_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)  # the table's place in the result's tables
    n_rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[str]] = mapped_column(JSON)
    # JSON text of one array per column (in the order of ``columns``): served as it is stored
    data: Mapped[str] = mapped_column(Text, deferred=True)


class FinanceReview(Base):
    """A finance team's decision on a plan's funding; voided when a newer plan of the scenario appears."""

    __tablename__ = "finance_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _ts(default=utcnow)
    voided_at: Mapped[datetime | None] = _ts(nullable=True)
    voided_by_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))


Index("ix_finance_reviews_active", FinanceReview.plan_id, FinanceReview.voided_at)


# ----------------------------------------------------------------------------- shared history


class HistoryRules(Base):
    """The collaboration's history rules (one row, id 1): the fixed key columns of the shared
    history, declared by an admin/planner or taken from the first accepted upload."""

    __tablename__ = "history_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_columns: Mapped[list[str]] = mapped_column(JSON)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the first upload
    from_upload_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = _ts(default=utcnow)


class HistorySeries(Base):
    """A series of the shared history and its owner (the partner that first shared it, unless an
    admin/planner declared another): only the owner's rows count."""

    __tablename__ = "history_series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(600), unique=True)  # key values joined by '/'
    key_values: Mapped[list[str]] = mapped_column(JSON)  # in the order of HistoryRules.key_columns
    owner_partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    owner_declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: first sharer
    created_at: Mapped[datetime] = _ts(default=utcnow)
    updated_at: Mapped[datetime] = _ts(default=utcnow)


class HistoryPoint(Base):
    """One version of one (series, date) value, from one upload; its value never changes. The
    value read is the latest (highest id) point of the series' owner from a non-retracted upload;
    ``current`` marks exactly those points (kept by :mod:`api.history` on every upload, retraction
    and owner change, so that reads need no grouping)."""

    __tablename__ = "history_points"
    __table_args__ = (
        Index("ix_history_points_series_date", "series_pk", "date", "id"),
        Index("ix_history_points_current", "series_pk", "date", postgresql_where=text("current"),
              sqlite_where=text("current = 1")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("history_series.id"))
    date: Mapped[Day] = mapped_column(Date)
    quantity: Mapped[float] = mapped_column(Float)
    upload_id: Mapped[int] = mapped_column(ForeignKey("data_uploads.id"), index=True)
    current: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class SeriesShare(Base):
    """A series an admin/planner shared with a partner that does not own it (it sees it)."""

    __tablename__ = "history_shares"
    __table_args__ = (UniqueConstraint("series_pk", "partner_id", name="uq_history_share"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("history_series.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)


# ----------------------------------------------------------------------------- invoices

INVOICE_STATUSES = ("recorded", "confirmed", "disputed", "settled")
"""recorded → confirmed | disputed; confirmed → settled once paid in full (:mod:`api.invoices`)."""
INVOICE_EVENT_KINDS = ("recorded", "confirmed", "disputed", "settlement")


class Invoice(Base):
    """An invoice of a seller partner to a buyer partner. Money is in integer minor units of
    ``currency`` (:mod:`api.currencies`): ``total_minor`` = Σ line amounts, ``settled_minor`` = Σ
    payments. Every change is an :class:`InvoiceEvent` of the hash chain, written in the same
    transaction; the row is the chain's replayed state (``jointplan invoices verify`` compares them).
    ``status`` is free text of at most 16 characters so later states (financed ...) need no migration."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("seller_id", "number", name="uq_invoice_seller_number"),
        # "confirmed (unfinanced) invoices of supplier S to buyer B, by due date"
        Index("ix_invoices_pair_status_due", "seller_id", "buyer_id", "status", "due_date"),
        Index("ix_invoices_buyer_status_due", "buyer_id", "status", "due_date"),
        Index("ix_invoices_status_due", "status", "due_date"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    number: Mapped[str] = mapped_column(String(100))
    issue_date: Mapped[Day] = mapped_column(Date)
    due_date: Mapped[Day] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    settled_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="recorded")
    source: Mapped[str] = mapped_column(String(8))  # api, csv or plan
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _ts(default=utcnow)
    updated_at: Mapped[datetime] = _ts(default=utcnow)

    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.position")


class InvoiceLine(Base):
    """A line of an invoice: ``quantity_micro`` and ``unit_price_micro`` are millionths (exact on
    every database), ``amount_minor`` = quantity × unit price rounded half up to a minor unit."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position", name="uq_invoice_line_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in the order sent
    product: Mapped[str] = mapped_column(String(200))
    quantity_micro: Mapped[int] = mapped_column(BigInteger)
    unit_price_micro: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class InvoiceEvent(Base):
    """One change of an invoice, in one chain over all invoices: ``seq`` 1, 2, ... (unique, so
    two writers cannot both extend the chain from the same event), ``prev_hash`` = the ``hash`` of
    event ``seq - 1`` (64 zeros for the first), ``hash`` = SHA-256 of the canonical JSON of the
    event with ``prev_hash`` (:func:`api.invoices.event_hash`). Rows are only ever inserted."""

    __tablename__ = "invoice_events"
    __table_args__ = (UniqueConstraint("seq", name="uq_invoice_event_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_partner_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = _ts(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# the financing tables (issue 18 part 2) live beside their code; imported here so that every
# importer of the models (the migrations' env, the metadata checks) has them
from api.financing import models as _financing_models  # noqa: E402,F401
