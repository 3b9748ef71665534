"""The job worker (``jointplan worker``): claims jobs from the database and executes them.

Each claimed job runs outside the worker's own process, so the worker keeps renewing the job's
lease and recording progress while the solve runs, and can stop it:

- **local** (default): a child process (from a ``forkserver`` with the planning code preloaded)
  runs :func:`api.jobs.runners.execute`; progress comes back over a pipe. If the worker dies, the
  child notices its pipe closing and exits; the job's lease runs out and another worker takes it.
- **Dask** (``JOINTPLAN_DASK_SCHEDULER`` or ``--scheduler``): the execution is submitted to the
  Dask cluster (``distributed.Client.submit``); progress comes back over a ``distributed.Queue``.
  The database bookkeeping (claim, lease, progress, result) stays with this worker.

Cancellation (``POST /jobs/{id}/cancel``): a queued job is cancelled at once. For a running job the
worker sees the request at its next heartbeat (within ``lease/3`` seconds, at most 5 s):
in local mode it kills the child process, which interrupts anything, HiGHS included; in Dask
mode the progress reports raise between steps (checking the data, building the model, solving,
reading back, sizing funding) and the future is cancelled, but a HiGHS solve already running on a
Dask worker runs on until its time limit (its result is discarded).

Time limits: each solve gets the time left of the job's limit (``options.time_limit`` or
``JOINTPLAN_SOLVER_TIME_LIMIT``); a HiGHS time limit gives a result with status ``time_limit`` or
``feasible``. As a backstop, a local job still running ``HARD_LIMIT_FACTOR`` x its limit +
``HARD_LIMIT_GRACE`` seconds after it started is killed and failed without retry.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.jobs import queue
from api.jobs.model import Job, JobStatus
from api.models import utcnow
from api.jobs.runners import JobCancelled, JobInputError, execute, load_inputs, mirror_status, store_result
from api.settings import Settings, get_settings

log = logging.getLogger("jointplan.worker")

HARD_LIMIT_FACTOR = 2.0
HARD_LIMIT_GRACE = 120.0
PRELOAD = ["api.jobs.runners", "planning.plan", "finance.extension", "finance.sizing", "scenarios.io"]


# ---------------------------------------------------------------------------------------------
# Executions: where a job's work runs
# ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How an execution ended: ``result`` (a dict) or ``error`` (+ whether retrying may help)."""

    result: dict[str, Any] | None = None
    error: str | None = None
    retry: bool = True


def _watch_parent(alive) -> None:
    """In the child: exit as soon as the worker that started us is gone (its pipe end closes)."""
    try:
        alive.poll(None)
    finally:
        os._exit(3)


def _child_main(kind: str, inputs: dict[str, Any], conn, alive) -> None:
    threading.Thread(target=_watch_parent, args=(alive,), daemon=True).start()
    try:
        result = execute(kind, inputs, lambda f, m: conn.send(("progress", float(f), str(m))))
        conn.send(("result", result))
    except JobInputError as exc:
        conn.send(("error", str(exc), False))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the worker
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}", True))
    finally:
        conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not on Linux


class LocalExecution:
    """The job in a child process."""

    def __init__(self, kind: str, inputs: dict[str, Any]):
        ctx = _context()
        self.conn, child_conn = ctx.Pipe(duplex=False)
        alive_r, self.alive = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child_main, args=(kind, inputs, child_conn, alive_r), daemon=True,
                                name="jointplan-job")
        self.proc.start()
        child_conn.close()
        alive_r.close()
        self.outcome: Outcome | None = None

    def poll(self, timeout: float) -> list[tuple[float, str, str]]:
        """Progress messages that arrived within ``timeout``; sets ``outcome`` when the job ended."""
        out: list[tuple[float, str, str]] = []
        deadline = time.monotonic() + timeout
        while self.outcome is None:
            left = deadline - time.monotonic()
            try:
                ready = self.conn.poll(max(0.0, left))
            except (EOFError, OSError):
                ready = True
            if not ready:
                break
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                self.proc.join(5)
                code = self.proc.exitcode
                self.outcome = Outcome(error=f"the job's process ended without a result (exit code {code})")
                break
            if msg[0] == "progress":
                out.append((msg[1], msg[2], utcnow().isoformat()))
            elif msg[0] == "result":
                self.outcome = Outcome(result=msg[1])
            else:
                self.outcome = Outcome(error=msg[1], retry=msg[2])
        return out

    def stop(self) -> None:
        """Kill the child (whatever it is doing)."""
        try:
            self.alive.close()
        except OSError:  # pragma: no cover
            pass
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(10)

    def close(self) -> None:
        self.stop()
        self.conn.close()


def _dask_task(kind: str, inputs: dict[str, Any], queue_name: str, cancel_name: str) -> dict[str, Any]:
    """Runs on a Dask worker: the job's execution, progress to a distributed Queue, and a cancel
    check (a distributed Variable) at every progress report."""
    from distributed import Queue, Variable

    progress_queue, cancel_flag = Queue(queue_name), Variable(cancel_name)

    def report(fraction: float, message: str) -> None:
        try:
            if cancel_flag.get(timeout=0.5):
                raise JobCancelled(message)
        except TimeoutError:
            pass
        progress_queue.put([float(fraction), str(message)])

    return execute(kind, inputs, report)


class DaskExecution:
    """The job on a Dask cluster."""

    def __init__(self, client, kind: str, inputs: dict[str, Any], name: str):
        from distributed import Queue, Variable

        self.client = client
        self.queue = Queue(f"{name}-progress", client=client)
        self.cancel_flag = Variable(f"{name}-cancel", client=client)
        self.cancel_flag.set(False)
        self.future = client.submit(_dask_task, kind, inputs, f"{name}-progress", f"{name}-cancel", pure=False,
                                    key=name)
        self.outcome: Outcome | None = None

    def poll(self, timeout: float) -> list[tuple[float, str, str]]:
        out: list[tuple[float, str, str]] = []
        try:
            for item in self.queue.get(timeout=timeout, batch=True) or []:
                out.append((item[0], item[1], utcnow().isoformat()))
        except TimeoutError:
            pass
        if self.outcome is None and self.future.done():
            for item in self.queue.get(batch=True) or []:
                out.append((item[0], item[1], utcnow().isoformat()))
            try:
                self.outcome = Outcome(result=self.future.result())
            except JobInputError as exc:
                self.outcome = Outcome(error=str(exc), retry=False)
            except JobCancelled:
                self.outcome = Outcome(error="cancelled", retry=False)
            except Exception as exc:  # noqa: BLE001
                self.outcome = Outcome(error=f"{type(exc).__name__} on the Dask cluster: {exc}")
        elif not out and timeout > 0 and self.outcome is None:
            time.sleep(0)  # the queue's timeout already waited
        return out

    def stop(self) -> None:
        try:
            self.cancel_flag.set(True)
            self.future.cancel()
        except Exception:  # noqa: BLE001 - best effort on a cluster that may be gone
            pass

    def close(self) -> None:
        try:
            self.future.release()
            self.cancel_flag.delete()
            self.queue.close()
        except Exception:  # noqa: BLE001
            pass


# ---------------------------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------------------------


@dataclass
class Worker:
    """Claims and runs jobs of ``kinds`` (default all) from ``engine``'s database."""

    engine: Engine
    settings: Settings = field(default_factory=get_settings)
    worker_id: str = field(default_factory=queue.new_worker_id)
    scheduler: str | None = None
    kinds: Iterable[str] | None = None
    lease_seconds: float | None = None
    echo: Callable[[str], None] = lambda _m: None

    def __post_init__(self) -> None:
        self.lease = float(self.lease_seconds or self.settings.job_lease_seconds)
        self.scheduler = self.scheduler or self.settings.dask_scheduler
        self._client = None

    # -- bookkeeping -------------------------------------------------------------------------

    def _mirror(self, job_ids: Iterable[int]) -> None:
        with Session(self.engine) as session:
            for job_id in job_ids:
                job = session.get(Job, job_id)
                if job is not None:
                    mirror_status(session, job)
            session.commit()

    def requeue_expired(self) -> list[tuple[int, str]]:
        moved = queue.requeue_expired(self.engine)
        for job_id, status in moved:
            self.echo(f"job {job_id}: lease expired -> {status}")
        self._mirror(j for j, _ in moved)
        return moved

    @property
    def client(self):
        if self._client is None:
            from distributed import Client

            self._client = Client(self.scheduler)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the loop ----------------------------------------------------------------------------

    def run_once(self) -> int | None:
        """Requeue expired leases, then claim and run one job; its id, or None if none was queued."""
        self.requeue_expired()
        c = queue.claim(self.engine, self.worker_id, kinds=self.kinds, lease_seconds=self.lease)
        if c is None:
            return None
        self._mirror([c.job_id])
        self.echo(f"job {c.job_id} ({c.kind}) attempt {c.attempt}/{c.max_attempts}: started")
        try:
            status = self.process(c)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: give the job back at once, then stop
            queue.release(self.engine, c, f"worker {self.worker_id} stopped")
            self._mirror([c.job_id])
            self.echo(f"job {c.job_id}: released (worker stopping)")
            raise
        self.echo(f"job {c.job_id}: {status}")
        return c.job_id

    def run(self, *, once: bool = False, poll: float = 1.0, stop: threading.Event | None = None,
            max_jobs: int | None = None) -> int:
        """Work until ``stop`` is set (``once``: until the queue is empty). Returns jobs processed."""
        done = 0
        try:
            while stop is None or not stop.is_set():
                job_id = self.run_once()
                if job_id is not None:
                    done += 1
                    if max_jobs is not None and done >= max_jobs:
                        break
                    continue
                if once:
                    break
                if stop is not None:
                    stop.wait(poll)
                else:
                    time.sleep(poll)
        finally:
            self.close()
        return done

    # -- one job -----------------------------------------------------------------------------

    def process(self, c: queue.Claim) -> str:
        """Run a claimed job to an end: done, queued again, failed, cancelled or lost."""
        started = time.perf_counter()
        try:
            with Session(self.engine) as session:
                job = session.get(Job, c.job_id)
                inputs = load_inputs(session, job, self.settings.solver_time_limit)
        except JobInputError as exc:
            return self._fail(c, str(exc), retry=False)
        except Exception as exc:  # noqa: BLE001 - e.g. the database was unreachable
            return self._fail(c, f"loading the job's input: {type(exc).__name__}: {exc}")
        limit = float(inputs.get("time_limit") or self.settings.solver_time_limit)
        hard_deadline = time.monotonic() + HARD_LIMIT_FACTOR * limit + HARD_LIMIT_GRACE
        try:
            execution = (DaskExecution(self.client, c.kind, inputs, f"jointplan-job-{c.job_id}-{c.token.rsplit(':', 1)[-1]}")
                         if self.scheduler else LocalExecution(c.kind, inputs))
        except Exception as exc:  # noqa: BLE001
            return self._fail(c, f"could not start the job: {type(exc).__name__}: {exc}")
        beat_every = max(0.2, min(self.lease / 3.0, 5.0))
        last_beat = time.monotonic()
        pending: list[tuple[float, str, str]] = []
        try:
            while execution.outcome is None:
                pending += execution.poll(min(beat_every, 0.5))
                now = time.monotonic()
                if execution.outcome is None and (pending and now - last_beat > 0.5 or now - last_beat >= beat_every):
                    beat = queue.heartbeat(self.engine, c, messages=pending, lease_seconds=self.lease)
                    pending, last_beat = [], now
                    if not beat.held:
                        execution.stop()
                        self.echo(f"job {c.job_id}: lease lost, stopped")
                        return "lost"
                    if beat.cancel:
                        execution.stop()
                        timings = {"job_total": time.perf_counter() - started}
                        queue.mark_cancelled(self.engine, c, timings=timings)
                        self._mirror([c.job_id])
                        return JobStatus.cancelled.value
                if execution.outcome is None and now > hard_deadline:
                    execution.stop()
                    return self._fail(c, f"still running {HARD_LIMIT_FACTOR:g} x its time limit of {limit:g} s "
                                         f"+ {HARD_LIMIT_GRACE:g} s: stopped", retry=False)
            if pending:
                queue.heartbeat(self.engine, c, messages=pending, lease_seconds=self.lease)
            outcome = execution.outcome
        finally:
            execution.close()
        if outcome.error is not None:
            if outcome.error == "cancelled":
                queue.mark_cancelled(self.engine, c)
                self._mirror([c.job_id])
                return JobStatus.cancelled.value
            return self._fail(c, outcome.error, retry=outcome.retry)
        result = outcome.result or {}
        timings = {**(result.get("timings") or {}), "attempt_wall": time.perf_counter() - started}
        with Session(self.engine) as session:
            job = session.get(Job, c.job_id)
        try:
            ok = queue.complete(self.engine, c, lambda s, _id: store_result(s, job, result), timings=timings,
                                log_excerpt=result.get("log_excerpt") or "", message=_done_message(c.kind, result))
        except JobInputError as exc:
            return self._fail(c, str(exc), retry=False)
        except Exception as exc:  # noqa: BLE001 - e.g. a database error while storing
            return self._fail(c, f"storing the result: {type(exc).__name__}: {exc}")
        return JobStatus.done.value if ok else "lost"

    def _fail(self, c: queue.Claim, reason: str, retry: bool = True) -> str:
        status = queue.fail(self.engine, c, reason, retry=retry)
        self._mirror([c.job_id])
        log.warning("job %s attempt %s failed: %s", c.job_id, c.attempt, reason.splitlines()[0] if reason else "")
        return status or "lost"


def _done_message(kind: str, result: dict[str, Any]) -> str:
    if kind == "plan":
        plan = result.get("plan") or {}
        obj = plan.get("objective")
        return f"done: plan {plan.get('status')}" + (f", objective {obj:,.2f}" if isinstance(obj, (int, float)) else "")
    if kind == "at_risk":
        return f"done: funding at risk over {(result.get('at_risk') or {}).get('settings', {}).get('scenarios', '?')} demand scenarios"
    if kind == "integration":
        sm = (result.get("study") or {}).get("summary") or {}
        return f"done: value of integration over {sm.get('points', '?')} grid points"
    summary = result.get("summary") or {}
    return f"done: {summary.get('series', '?')} series forecast"
