"""The ``jobs`` table: one row per forecast run, plan solve, funding-at-risk run or value-of-integration study, from queued to
a final state.

Life of a job (see :mod:`api.jobs.queue`)::

    queued --claim--> running --complete--> done
       |                 |  +--fail (attempts < max)--> queued   (retried)
       |                 |  +--fail (attempts = max)--> failed   (error = the reason)
       |                 |  +--lease expired (worker died)--> queued, or failed at max attempts
       |                 +--cancel requested, seen by the worker--> cancelled
       +--cancel--> cancelled

``attempts`` counts claims; a worker that dies mid-job used an attempt. ``lease_owner`` is a token
unique to one claim: every write a worker makes (heartbeat, progress, completion) is conditional on
still holding it, so a worker whose lease expired can never overwrite the job's next attempt.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.models import UTC, utcnow


class JobKind(str, Enum):
    forecast = "forecast"
    plan = "plan"
    at_risk = "at_risk"
    integration = "integration"


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.done.value, JobStatus.failed.value, JobStatus.cancelled.value})
# a job in one of these holds its de-duplication key: an identical request returns it
LIVE_STATUSES = (JobStatus.queued.value, JobStatus.running.value, JobStatus.done.value)


class Job(Base):
    """A unit of background work and everything known about its execution."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=JobStatus.queued.value)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    time_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTC, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    message: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    events: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    log_excerpt: Mapped[str] = mapped_column(Text, nullable=False, default="")
    timings: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    result_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTC, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTC, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTC, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTC, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),
        # at most one live job per de-duplication key: concurrent identical submissions collapse
        Index(
            "uq_jobs_dedupe_live",
            "dedupe_key",
            unique=True,
            sqlite_where=text("dedupe_key IS NOT NULL AND status IN ('queued', 'running', 'done')"),
            postgresql_where=text("dedupe_key IS NOT NULL AND status IN ('queued', 'running', 'done')"),
        ),
    )

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Job(id={self.id}, kind={self.kind}, status={self.status}, attempts={self.attempts})"
