"""`jointplan demo --via-api`: the main job through the service (the app `jointplan serve` runs and
a job worker, listening on loopback), checked from its output, its request transcript and the
database it leaves behind; a failing step exits non-zero, and the service is always stopped."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.db import make_engine, session_factory
from api.financing.models import FinancingItem, FinancingRequest, LedgerEntry
from api.models import AtRiskRun, ConsensusVersion, ExceptionRecord, FinanceReview, FundingResultRecord, PlanRecord, ResolutionRecord

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("jointplan"))


def run_demo(out: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 600):
    proc = subprocess.run([EXE, "demo", "--via-api", "--fast", "--out", str(out), *extra], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})
    return proc, " ".join(proc.stdout.split()), " ".join(proc.stderr.split())


def service_stopped(text: str) -> bool:
    """Nothing listens any more on the port the demo's service said it was on."""
    m = re.search(r"service on http://127\.0\.0\.1:(\d+) and a job worker", text)
    assert m, text[:2000]
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", int(m.group(1)))) != 0


@pytest.mark.slow
def test_demo_via_api_walks_every_role_through_the_service(tmp_path):
    proc, out, err = run_demo(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the service was started and is stopped again
    assert service_stopped(out)
    assert "Demo through the API done" in out and "service and worker stopped" in out

    # what each role saw
    assert "shops' user lists the partners and sees: shops" in out
    assert "wholesale lists uploads: 0 (only its own); shops' upload 1: 404" in out
    assert re.search(r"forecast run 1 \(the planner's view\)", out, re.I)
    assert "shops asks for the statistical run itself: 403" in out
    assert "shops version 2: 48 series-periods" in out and "wholesale version 2: 48 series-periods" in out
    assert re.search(r"resolution 1 of EX-[0-9a-f]{10}: accept the forecast of \w+", out)
    assert "maker asks for the scenario: 403" in out
    assert "version 2 stored (If-Match: version 1's ETag)" in out and "(a stale ETag): 412" in out
    assert re.search(r"POST /plans -> 202 202 Accepted, Location: /plans/1", out)
    assert re.search(r"plan 1: status optimal", out)
    assert "the same version asked again: 200, plan 1" in out
    assert re.search(r"review 1: approve by fin@treasury", out)
    assert "the finance user tries to submit a plan: 403" in out
    for partner in ("maker", "wholesale", "haul", "shops"):
        assert re.search(rf"partner {partner} \(\S+\): GET /plans/1/funding/{partner} -> 200", out)
        assert re.search(rf"partner {partner} \(\S+\): GET /plans/1/funding/\w+ -> 404", out)

    # the transcript: every request, by whom, with its status
    transcript = json.loads((tmp_path / "api_transcript.json").read_text())
    by_role = Counter(t["role"] for t in transcript)
    assert set(by_role) == {"admin", "planner", "finance", "partner"}
    assert not [t for t in transcript if t["status"] >= 500]
    funding_reads = [t for t in transcript if t["role"] == "partner" and re.fullmatch(r"/plans/1/funding/\w+", t["path"])]
    assert len(funding_reads) == 8
    for t in funding_reads:
        own = t["path"].endswith("/" + t["partner"])
        assert t["status"] == (200 if own else 404), t

    # what the service stored (read from its database, not from the demo's output)
    engine = make_engine(f"sqlite:///{tmp_path / 'jointplan.db'}")
    try:
        with session_factory(engine)() as s:
            plan = s.get(PlanRecord, 1)
            assert plan.status == "done" and plan.result["status"] == "optimal"
            assert {f.partner for f in s.scalars(select(FundingResultRecord).where(FundingResultRecord.plan_id == 1))} == {
                "maker", "wholesale", "haul", "shops"}
            review = s.scalar(select(FinanceReview))
            assert review.decision == "approve" and review.voided_at is None and "financing cost" in review.comment
            found = s.scalar(select(func.count(ExceptionRecord.id)))
            assert found > 0 and f"{found} exception(s) found" in out
            assert s.scalar(select(func.count(ResolutionRecord.id))) == 1
            cv = s.scalar(select(ConsensusVersion))
            assert cv.inputs["submissions"] == {"shops": 2, "wholesale": 2} and cv.inputs["resolutions"] == [1]
            # platform finance: the advance decided at once, repaid in full by the buyer's payment, and every
            # ledger account back to what the entries say (advance out, discount kept, the rest back to the financier)
            request = s.scalar(select(FinancingRequest))
            item = s.scalar(select(FinancingItem))
            assert request.status == "approved" and request.decided_by_id is None
            assert item.status == "repaid" and item.repaid_minor == item.advance_minor == item.face_minor > 0
            balance = Counter()
            for e in s.scalars(select(LedgerEntry)):
                balance[e.debit] += e.amount_minor
                balance[e.credit] -= e.amount_minor
            assert sum(balance.values()) == 0 and balance["collection"] == 0 and balance["financier"] == 0
            assert balance["income"] == item.discount_minor + item.fee_minor > 0
            assert balance["supplier"] == item.face_minor - item.discount_minor - item.fee_minor == -balance["buyer"] - balance["income"]
            run = s.scalar(select(AtRiskRun))
            assert run is not None and run.plan_id == 1 and {p["partner"] for p in run.result["partners"]} == {
                "maker", "wholesale", "haul", "shops"}
    finally:
        engine.dispose()
    saved = json.loads((tmp_path / "small_chain.api.plan.json").read_text())
    assert saved["id"] == 1 and saved["scenario_name"] == "small-chain" and saved["version"] == 2
    assert "request 1: approved at once" in out and "the advance is repaid, outstanding 0.00" in out
    assert "Funding at risk of plan 1 (20 demand scenarios" in out


@pytest.mark.slow
def test_demo_via_api_stops_at_a_refused_request_and_stops_the_service(tmp_path):
    """A service that refuses the history upload (body limit below the file's size): the demo
    exits 1 naming the request and the reason, and leaves no service running."""
    proc, out, err = run_demo(tmp_path, env={"JOINTPLAN_MAX_BODY_BYTES": "2000"}, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "The demo through the API failed at step '1. Shared sales history" in err
    assert "POST /uploads as partner shops (ana@cornershops) answered 413 (expected 201)" in err
    assert "JOINTPLAN_MAX_BODY_BYTES" in err
    assert service_stopped(out)
    assert "Demo through the API done" not in out
