"""The job queue on the database: at-least-once execution with leases.

- :func:`enqueue` records a job; with a ``dedupe_key`` an identical live job (queued, running or
  done) is returned instead of a new one. A partial unique index makes this hold under concurrent
  submissions too (the loser of the race gets the winner's job).
- :func:`claim` hands one queued job to one worker: on PostgreSQL ``SELECT ... FOR UPDATE SKIP
  LOCKED``; on SQLite (one writer at a time) a conditional ``UPDATE ... WHERE status='queued'``
  whose row count says who won. A claim increments ``attempts`` and sets a lease owned by a token
  unique to that claim.
- :func:`heartbeat` renews the lease and records progress; it tells the worker whether a cancel
  was requested or the lease was lost.
- :func:`requeue_expired` puts jobs whose lease ran out (the worker died or hung) back in the queue,
  or marks them failed once ``max_attempts`` claims have been used.
- :func:`complete` writes the result and marks the job done in one transaction, only while the
  caller still holds the lease; result writers are keyed by job id, so a job is never stored twice.
- :func:`fail` requeues a failed attempt, or marks the job failed with the reason after
  ``max_attempts`` (or at once when the failure is not worth retrying).
- :func:`cancel`: a queued job is cancelled at once; a running job gets ``cancel_requested`` and
  its worker stops it at its next heartbeat (see :mod:`api.jobs.worker` for what that interrupts).

Every function takes an :class:`~sqlalchemy.Engine` and runs its own short transaction(s).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.jobs.model import LIVE_STATUSES, Job, JobStatus, utcnow
from api.settings import get_settings

MAX_EVENTS = 200  # progress messages kept per job (the latest)
MAX_ERRORS = 20


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def make_dedupe_key(kind: str, subject: Any, options: dict[str, Any]) -> str:
    """The identity of a piece of work: kind, what it works on (e.g. a scenario version id) and
    its normalised options, hashed (sha256)."""
    return hashlib.sha256(canonical_json({"kind": kind, "subject": subject, "options": options}).encode()).hexdigest()


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Claim:
    """A job held by one worker: ``token`` is the lease owner for this attempt."""

    job_id: int
    kind: str
    token: str
    attempt: int
    max_attempts: int
    payload: dict[str, Any]
    time_limit: float | None
    events: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Submitting and cancelling (API side)
# ---------------------------------------------------------------------------------------------


def find_live(session: Session, dedupe_key: str) -> Job | None:
    """The queued, running or done job holding ``dedupe_key``, if any."""
    return session.scalars(
        select(Job).where(Job.dedupe_key == dedupe_key, Job.status.in_(LIVE_STATUSES)).order_by(Job.id).limit(1)
    ).first()


def enqueue(
    engine: Engine,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    time_limit: float | None = None,
    created_by: int | None = None,
) -> tuple[Job, bool]:
    """Queue a job; returns ``(job, created)``. With ``dedupe_key``, an identical live job is
    returned (``created`` False) instead of queueing the same work twice."""
    settings = get_settings()
    for _ in range(3):
        with Session(engine, expire_on_commit=False) as session:
            if dedupe_key is not None:
                existing = find_live(session, dedupe_key)
                if existing is not None:
                    return existing, False
            now = utcnow()
            job = Job(
                kind=kind,
                status=JobStatus.queued.value,
                payload=payload,
                dedupe_key=dedupe_key,
                attempts=0,
                max_attempts=max_attempts or settings.job_max_attempts,
                time_limit=time_limit,
                created_by_id=created_by,
                created_at=now,
                updated_at=now,
                events=[{"at": now.isoformat(), "progress": 0.0, "message": "queued"}],
                message="queued",
            )
            session.add(job)
            try:
                session.commit()
            except IntegrityError:  # a concurrent identical submission won: return its job
                session.rollback()
                continue
            return job, True
    raise RuntimeError(f"could not enqueue or find the job for key {dedupe_key}")  # pragma: no cover


def cancel(engine: Engine, job_id: int) -> Job | None:
    """Cancel a job: queued -> cancelled at once; running -> ``cancel_requested`` (the worker stops
    it and marks it cancelled). Final jobs are returned unchanged; ``None`` if there is no such job."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued.value)
            .values(status=JobStatus.cancelled.value, finished_at=now, updated_at=now, message="cancelled",
                    cancel_requested=True)
        ).rowcount
        if not done:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.running.value)
                .values(cancel_requested=True, updated_at=now, message="cancel requested")
            )
        session.commit()
        return session.get(Job, job_id)


# ---------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------


def _lease(seconds: float | None) -> timedelta:
    return timedelta(seconds=seconds if seconds is not None else get_settings().job_lease_seconds)


def claim(
    engine: Engine, worker_id: str, *, kinds: Iterable[str] | None = None, lease_seconds: float | None = None
) -> Claim | None:
    """Take the oldest queued job (of ``kinds``) for this worker, or ``None`` if there is none."""
    kinds = list(kinds) if kinds else None
    base = select(Job.id).where(Job.status == JobStatus.queued.value)
    if kinds:
        base = base.where(Job.kind.in_(kinds))
    base = base.order_by(Job.id).limit(1)
    postgres = engine.dialect.name == "postgresql"
    for _ in range(20):  # on SQLite a lost race means another worker took that job; try the next
        token = f"{worker_id}:{uuid.uuid4().hex[:8]}"
        now = utcnow()
        with Session(engine, expire_on_commit=False) as session:
            stmt = base.with_for_update(skip_locked=True) if postgres else base
            job_id = session.scalar(stmt)
            if job_id is None:
                return None
            won = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.queued.value)
                .values(
                    status=JobStatus.running.value,
                    attempts=Job.attempts + 1,
                    lease_owner=token,
                    lease_expires_at=now + _lease(lease_seconds),
                    started_at=now,
                    finished_at=None,
                    updated_at=now,
                    progress=0.0,
                    message=f"claimed by {worker_id}",
                )
            ).rowcount
            if not won:
                session.rollback()
                continue
            session.commit()
            job = session.get(Job, job_id)
            events = list(job.events or [])
            events.append({"at": now.isoformat(), "progress": 0.0, "attempt": job.attempts,
                           "message": f"attempt {job.attempts} claimed by {worker_id}"})
            c = Claim(job.id, job.kind, token, job.attempts, job.max_attempts, dict(job.payload or {}),
                      job.time_limit, events[-MAX_EVENTS:])
            _write_owned(session, c, events=c.events)
            session.commit()
            return c
    return None


def _owned(c: Claim):
    return and_(Job.id == c.job_id, Job.lease_owner == c.token, Job.status == JobStatus.running.value)


def _write_owned(session: Session, c: Claim, **values: Any) -> bool:
    values.setdefault("updated_at", utcnow())
    return bool(session.execute(update(Job).where(_owned(c)).values(**values)).rowcount)


@dataclass
class Beat:
    """What a heartbeat learned: ``held`` False when the lease was lost (another attempt owns the
    job, or it was failed); ``cancel`` True when a cancel was requested."""

    held: bool
    cancel: bool = False


def heartbeat(
    engine: Engine,
    c: Claim,
    *,
    progress: float | None = None,
    message: str | None = None,
    messages: Iterable[tuple] = (),
    lease_seconds: float | None = None,
) -> Beat:
    """Renew the lease and record progress: ``messages`` (fraction, text[, ISO time]) reported since the last
    heartbeat are appended to the job's events, the last one (or ``progress``/``message``) is current."""
    now = utcnow()
    values: dict[str, Any] = {"lease_expires_at": now + _lease(lease_seconds), "updated_at": now}
    items = list(messages)
    if message is not None:
        items.append((progress, message))
    elif progress is not None:
        values["progress"] = float(min(max(progress, 0.0), 1.0))
    for item in items:
        fraction, text = item[0], item[1]
        at = item[2] if len(item) > 2 else now.isoformat()
        if fraction is not None:
            values["progress"] = float(min(max(fraction, 0.0), 1.0))
        values["message"] = text[:500]
        last = c.events[-1]["message"] if c.events else None
        if text[:500] != last:
            c.events.append({"at": at, "progress": values.get("progress"), "attempt": c.attempt, "message": text[:500]})
            del c.events[:-MAX_EVENTS]
            values["events"] = list(c.events)
    with Session(engine) as session:
        held = _write_owned(session, c, **values)
        cancel = bool(held and session.scalar(select(Job.cancel_requested).where(Job.id == c.job_id)))
        session.commit()
    return Beat(held=held, cancel=cancel)


def complete(
    engine: Engine,
    c: Claim,
    write_result: Callable[[Session, int], str | None],
    *,
    timings: dict[str, Any] | None = None,
    log_excerpt: str | None = None,
    message: str = "done",
) -> bool:
    """Write the result and mark the job done, atomically and only while holding the lease.
    ``write_result(session, job_id)`` stores the result (idempotently, keyed by job id) and returns
    a reference such as ``"plan:12"``. Returns False (nothing written) if the lease was lost."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        # claiming the row first serialises this with requeue/cancel (row lock on PostgreSQL,
        # the write lock on SQLite)
        c.events.append({"at": now.isoformat(), "progress": 1.0, "attempt": c.attempt, "message": message})
        values: dict[str, Any] = dict(
            status=JobStatus.done.value, progress=1.0, message=message, finished_at=now, lease_expires_at=None,
            events=c.events[-MAX_EVENTS:], error=None,
        )
        if timings is not None:
            values["timings"] = timings
        if log_excerpt is not None:
            values["log_excerpt"] = log_excerpt
        if not _write_owned(session, c, **values):
            session.rollback()
            return False
        ref = write_result(session, c.job_id)
        session.execute(update(Job).where(Job.id == c.job_id).values(result_ref=ref))
        session.commit()
        return True


def fail(
    engine: Engine,
    c: Claim,
    reason: str,
    *,
    retry: bool = True,
    timings: dict[str, Any] | None = None,
    log_excerpt: str | None = None,
) -> str | None:
    """Record a failed attempt. The job is queued again unless it has used ``max_attempts`` claims
    or ``retry`` is False, in which case it is marked failed with ``reason``. Returns the new status
    (``None`` if the lease was lost meanwhile)."""
    now = utcnow()
    final = (not retry) or c.attempt >= c.max_attempts
    with Session(engine) as session:
        errors = list(session.scalar(select(Job.errors).where(Job.id == c.job_id)) or [])
        errors.append({"attempt": c.attempt, "at": now.isoformat(), "error": reason[:4000]})
        msg = (f"failed after {c.attempt} attempt(s): {reason}" if final
               else f"attempt {c.attempt} failed, queued again: {reason}")
        c.events.append({"at": now.isoformat(), "progress": None, "attempt": c.attempt, "message": msg[:500]})
        values: dict[str, Any] = dict(
            status=JobStatus.failed.value if final else JobStatus.queued.value,
            error=reason[:4000] if final else None,
            errors=errors[-MAX_ERRORS:],
            message=msg[:500],
            lease_owner=None,
            lease_expires_at=None,
            events=c.events[-MAX_EVENTS:],
            finished_at=now if final else None,
        )
        if timings is not None:
            values["timings"] = timings
        if log_excerpt is not None:
            values["log_excerpt"] = log_excerpt
        ok = _write_owned(session, c, **values)
        session.commit()
    if not ok:
        return None
    return JobStatus.failed.value if final else JobStatus.queued.value


def release(engine: Engine, c: Claim, reason: str = "worker stopped") -> bool:
    """Give a running job back to the queue without using up an attempt (a worker shutting down)."""
    now = utcnow()
    c.events.append({"at": now.isoformat(), "progress": None, "attempt": c.attempt, "message": f"released: {reason}"[:500]})
    with Session(engine) as session:
        ok = _write_owned(session, c, status=JobStatus.queued.value, attempts=Job.attempts - 1, lease_owner=None,
                          lease_expires_at=None, message=f"queued again: {reason}"[:500], events=c.events[-MAX_EVENTS:])
        session.commit()
    return ok


def mark_cancelled(engine: Engine, c: Claim, *, timings: dict[str, Any] | None = None,
                   log_excerpt: str | None = None) -> bool:
    """The worker stopped a running job on request: mark it cancelled."""
    now = utcnow()
    c.events.append({"at": now.isoformat(), "progress": None, "attempt": c.attempt, "message": "cancelled"})
    values: dict[str, Any] = dict(status=JobStatus.cancelled.value, message="cancelled", finished_at=now,
                                  lease_owner=None, lease_expires_at=None, events=c.events[-MAX_EVENTS:])
    if timings is not None:
        values["timings"] = timings
    if log_excerpt is not None:
        values["log_excerpt"] = log_excerpt
    with Session(engine) as session:
        ok = _write_owned(session, c, **values)
        session.commit()
    return ok


def requeue_expired(engine: Engine) -> list[tuple[int, str]]:
    """Jobs whose lease has run out: cancelled if a cancel was requested, failed if they used
    ``max_attempts`` claims, else queued again. Returns ``[(job_id, new_status)]``."""
    now = utcnow()
    out: list[tuple[int, str]] = []
    expired = and_(Job.status == JobStatus.running.value, Job.lease_expires_at < now)
    with Session(engine) as session:
        rows = session.execute(
            select(Job.id, Job.attempts, Job.max_attempts, Job.cancel_requested, Job.lease_owner, Job.errors,
                   Job.events).where(expired)
        ).all()
        for job_id, attempts, max_attempts, cancel_requested, owner, errors, events in rows:
            reason = f"attempt {attempts}: the worker ({(owner or '?').rsplit(':', 1)[0]}) stopped renewing its lease"
            errors = list(errors or []) + [{"attempt": attempts, "at": now.isoformat(), "error": reason}]
            if cancel_requested:
                status, message, error = JobStatus.cancelled.value, "cancelled", None
            elif attempts >= max_attempts:
                status, error = JobStatus.failed.value, f"failed after {attempts} attempt(s): {reason}"
                message = error
            else:
                status, message, error = JobStatus.queued.value, f"queued again: {reason}", None
            events = list(events or []) + [{"at": now.isoformat(), "progress": None, "attempt": attempts, "message": message[:500]}]
            values: dict[str, Any] = dict(
                status=status, message=message[:500], error=error, errors=errors[-MAX_ERRORS:],
                events=events[-MAX_EVENTS:], lease_owner=None, lease_expires_at=None, updated_at=now,
                finished_at=None if status == JobStatus.queued.value else now,
            )
            # conditional on the same lease: a heartbeat that just renewed it wins
            n = session.execute(
                update(Job).where(Job.id == job_id, Job.lease_owner == owner, expired).values(**values)
            ).rowcount
            if n:
                out.append((job_id, status))
        session.commit()
    return out
