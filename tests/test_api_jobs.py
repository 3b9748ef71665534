"""The job queue on SQLite and PostgreSQL: exclusive claims, leases, retries, cancellation, de-duplication."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import make_engine
from api.jobs import queue
from api.jobs.model import Job


@pytest.fixture
def engine(migrated_db_url):
    eng = make_engine(migrated_db_url)
    yield eng
    eng.dispose()


def job(engine, job_id: int) -> Job:
    with Session(engine) as s:
        return s.get(Job, job_id)


def test_two_concurrent_claimers_never_share_a_job(engine, migrated_db_url):
    ids = {queue.enqueue(engine, "plan", {"n": i})[0].id for i in range(24)}
    got: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str) -> None:
        eng = make_engine(migrated_db_url)  # its own connections, as a second worker process would have
        try:
            start.wait()
            while (c := queue.claim(eng, f"worker-{name}", lease_seconds=60)) is not None:
                got[name].append(c.job_id)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = set(got["a"]), set(got["b"])
    assert not a & b, f"claimed twice: {sorted(a & b)}"
    assert a | b == ids
    assert len(got["a"]) + len(got["b"]) == len(ids)
    with Session(engine) as s:
        rows = s.scalars(select(Job)).all()
    assert {r.status for r in rows} == {"running"}
    assert {r.attempts for r in rows} == {1}
    owners = {r.id: r.lease_owner.split(":")[0] for r in rows}
    assert {owners[i] for i in a} <= {"worker-a"} and {owners[i] for i in b} <= {"worker-b"}


def test_expired_lease_is_requeued_and_the_old_holder_can_no_longer_write(engine):
    j, _ = queue.enqueue(engine, "plan", {"x": 1})
    first = queue.claim(engine, "w1", lease_seconds=0.2)
    assert first.job_id == j.id and first.attempt == 1
    assert queue.requeue_expired(engine) == []  # not expired yet
    time.sleep(0.4)
    assert queue.requeue_expired(engine) == [(j.id, "queued")]
    row = job(engine, j.id)
    assert row.status == "queued" and row.lease_owner is None and row.attempts == 1
    assert "stopped renewing its lease" in row.errors[-1]["error"]

    second = queue.claim(engine, "w2", lease_seconds=60)
    assert second.job_id == j.id and second.attempt == 2
    # the first worker comes back: its heartbeat and its result are refused
    assert queue.heartbeat(engine, first, progress=0.5, message="late").held is False
    written = []
    assert queue.complete(engine, first, lambda s, i: written.append(i) or "x") is False
    assert written == []
    assert queue.complete(engine, second, lambda s, i: f"result:{i}") is True
    row = job(engine, j.id)
    assert (row.status, row.result_ref, row.attempts) == ("done", f"result:{j.id}", 2)
    # completing twice writes nothing more
    assert queue.complete(engine, second, lambda s, i: written.append(i) or "y") is False
    assert written == [] and job(engine, j.id).result_ref == f"result:{j.id}"


def test_three_failures_mark_the_job_failed_with_the_reason(engine):
    j, _ = queue.enqueue(engine, "forecast", {})
    statuses = []
    for n in range(1, 4):
        c = queue.claim(engine, "w", lease_seconds=60)
        assert c is not None and c.attempt == n
        statuses.append(queue.fail(engine, c, f"boom {n}"))
    assert statuses == ["queued", "queued", "failed"]
    row = job(engine, j.id)
    assert row.status == "failed" and row.attempts == 3
    assert "boom 3" in row.error
    assert [e["error"] for e in row.errors] == ["boom 1", "boom 2", "boom 3"]
    assert queue.claim(engine, "w") is None


def test_a_worker_dying_three_times_fails_the_job(engine):
    j, _ = queue.enqueue(engine, "plan", {})
    for n in range(1, 4):
        c = queue.claim(engine, f"w{n}", lease_seconds=0.1)
        assert c.attempt == n
        time.sleep(0.25)
        moved = queue.requeue_expired(engine)
        assert moved == [(j.id, "queued" if n < 3 else "failed")]
    row = job(engine, j.id)
    assert row.status == "failed" and "failed after 3 attempt(s)" in row.error and "w3" in row.error


def test_input_errors_are_not_retried(engine):
    j, _ = queue.enqueue(engine, "plan", {})
    c = queue.claim(engine, "w")
    assert queue.fail(engine, c, "scenario version 9 no longer exists", retry=False) == "failed"
    assert job(engine, j.id).attempts == 1


def test_cancel_queued_at_once_and_running_by_request(engine):
    q, _ = queue.enqueue(engine, "plan", {"n": 1})
    r, _ = queue.enqueue(engine, "plan", {"n": 2})
    assert queue.cancel(engine, q.id).status == "cancelled"
    c = queue.claim(engine, "w", lease_seconds=60)
    assert c.job_id == r.id  # the cancelled one is never claimed
    assert queue.heartbeat(engine, c, progress=0.3, message="solving").cancel is False
    after = queue.cancel(engine, r.id)
    assert after.status == "running" and after.cancel_requested
    beat = queue.heartbeat(engine, c, progress=0.4, message="still solving")
    assert beat.held and beat.cancel
    assert queue.mark_cancelled(engine, c)
    row = job(engine, r.id)
    assert row.status == "cancelled" and row.finished_at is not None
    assert [e["message"] for e in row.events][-3:] == ["solving", "still solving", "cancelled"]
    assert queue.cancel(engine, r.id).status == "cancelled"  # final: unchanged
    assert queue.cancel(engine, 10_000) is None


def test_identical_work_is_queued_once_even_concurrently(engine, migrated_db_url):
    key = queue.make_dedupe_key("plan", 7, {"finance": False, "time_limit": None})
    assert key == queue.make_dedupe_key("plan", 7, {"time_limit": None, "finance": False})
    assert key != queue.make_dedupe_key("plan", 7, {"finance": True, "time_limit": None})
    results = []
    start = threading.Barrier(4)

    def submit() -> None:
        eng = make_engine(migrated_db_url)
        try:
            start.wait()
            j, created = queue.enqueue(eng, "plan", {"scenario_version_id": 7}, dedupe_key=key)
            results.append((j.id, created))
        finally:
            eng.dispose()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len({i for i, _ in results}) == 1, results
    assert sorted(created for _, created in results) == [False, False, False, True]
    first = results[0][0]
    # done work is still returned
    c = queue.claim(engine, "w")
    assert queue.complete(engine, c, lambda s, i: "plan:1")
    again, created = queue.enqueue(engine, "plan", {}, dedupe_key=key)
    assert (again.id, created, again.status) == (first, False, "done")
    # a failed or cancelled job no longer stands for the work: submitting again queues a new job
    other = queue.make_dedupe_key("plan", 8, {})
    j, _ = queue.enqueue(engine, "plan", {}, dedupe_key=other)
    queue.cancel(engine, j.id)
    j2, created = queue.enqueue(engine, "plan", {}, dedupe_key=other)
    assert created and j2.id != j.id
