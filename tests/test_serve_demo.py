"""``jointplan serve --demo``: a demo database seeded with the bundled chain and one user per role
whose printed passwords sign in; a database holding other data is refused; started again, the demo
keeps its data and gives new passwords. In the slow suite, the command itself: the printed URL and
passwords work, and its job worker executes a plan started from a browser session.

Seen failing: the seed without the history upload (``test_demo_seeds_the_chain_and_users``: the
retailer sees no upload); ``seed_demo`` not checking for other data (``test_demo_refuses_...``);
the partners' rounds dated at seeding instead of before their periods, the statistical run not
backdated, and GET /fva counting lags one too many (each ``test_demo_holds_forecasts_made_before_...``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.db import make_engine, session_factory
from api.models import ScenarioRecord, ServiceMeta, User
from api_world import make_app
from jointplan.demo_seed import seed_demo

ROOT = Path(__file__).resolve().parents[1]


def _sign_in(client: TestClient, name: str, password: str):
    return client.post("/auth/login", json={"name": name, "password": password})


@pytest.mark.slow
def test_demo_seeds_the_chain_and_users(db_url):
    demo = seed_demo(db_url)
    assert demo.seeded
    roles = sorted(u.role for u in demo.users)
    assert roles == ["admin", "finance", "partner", "partner", "partner", "partner", "planner"]
    assert sorted(u.partner for u in demo.users if u.partner) == ["haul", "maker", "shops", "wholesale"]
    assert len({u.password for u in demo.users}) == len(demo.users) and all(len(u.password) >= 10 for u in demo.users)
    client = TestClient(make_app(db_url))
    sessions = {}
    for u in demo.users:
        c = TestClient(client.app)
        r = _sign_in(c, u.name, u.password)
        assert r.status_code == 200, (u.name, r.text)
        assert r.json()["user"]["role"] == u.role and r.json()["user"]["partner_id"] == u.partner
        sessions[u.role if u.role != "partner" else u.partner] = c
    planner = sessions["planner"]
    scenarios = planner.get("/scenarios").json()["items"]
    assert [s["name"] for s in scenarios] == ["small_chain"]
    version = planner.get(f"/scenarios/{scenarios[0]['id']}").json()
    assert {p["id"] for p in version["content"]["partners"]} == {"maker", "wholesale", "haul", "shops"}
    assert {p["id"] for p in sessions["admin"].get("/partners").json()["items"]} == {"maker", "wholesale", "haul", "shops"}
    uploads = sessions["shops"].get("/uploads").json()
    assert uploads["total"] == 1 and uploads["items"][0]["row_count"] > 100
    assert sessions["wholesale"].get("/uploads").json()["total"] == 0  # the retailer's data, not another partner's
    series = planner.get("/history/series").json()
    assert series["total"] > 0 and {s["owner"] for s in series["items"]} == {"shops"}
    # started again: the data kept, new passwords
    again = seed_demo(db_url)
    assert not again.seeded and {u.name for u in again.users} == {u.name for u in demo.users}
    old = {u.name: u.password for u in demo.users}
    for u in again.users:
        assert u.password != old[u.name]
        assert _sign_in(TestClient(client.app), u.name, old[u.name]).status_code == 401
        assert _sign_in(TestClient(client.app), u.name, u.password).status_code == 200
    assert planner.get("/users/me").status_code == 401  # the old sessions ended with the old passwords
    engine = make_engine(db_url)
    with session_factory(engine)() as s:  # nothing seeded twice
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == len(demo.users)
        assert s.scalar(sa.select(sa.func.count()).select_from(ScenarioRecord)) == 1
    engine.dispose()


@pytest.mark.slow
def test_demo_holds_forecasts_made_before_their_periods_and_fva_scores_them(db_url):
    """The retailer's and the wholesaler's forecast rounds and a statistical run, each made before
    the periods it forecasts, with the history of those periods after them: GET /fva scores both
    partners with finite figures equal to a recomputation from the bundled files and the stored
    statistical forecast (WAPE = sum|forecast - actual| / sum|actual| over the periods with an
    actual and both forecasts); each partner's user sees its own row, the same figures."""
    import math

    import pandas as pd

    from api.models import ForecastRun, ForecastSubmission

    demo = seed_demo(db_url)
    examples = ROOT / "scenarios" / "examples"
    actuals = pd.read_csv(examples / "small_chain_history.csv", parse_dates=["date"])
    actuals = actuals.assign(unique_id=actuals["product"] + "/" + actuals["site"]).rename(columns={"date": "ds", "quantity": "y"})
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        subs = s.scalars(sa.select(ForecastSubmission).order_by(ForecastSubmission.partner_id, ForecastSubmission.version)).all()
        assert sorted({x.partner_id for x in subs}) == ["shops", "wholesale"] and [x.id for x in subs] == demo.submission_ids
        scored = {}
        for sub in subs:
            rows = pd.DataFrame.from_records(sub.rows).assign(ds=lambda d: pd.to_datetime(d["ds"]))
            assert sub.created_at < rows["ds"].min().tz_localize("UTC"), (sub.partner_id, sub.version)  # made before
            if sub.version == 1:  # the round for 2026, with the 2026 history after it
                m = rows.merge(actuals, on=["unique_id", "ds"])
                assert len(m) == len(rows) == 48 and (m["value"] != m["y"]).mean() > 0.9  # not the actuals
                scored[sub.partner_id] = m
        run = s.get(ForecastRun, demo.forecast_run_ids[0])
        assert run.status == "done" and run.created_by_id is not None
        stat = pd.DataFrame.from_records(run.forecasts).assign(ds=lambda d: pd.to_datetime(d["ds"]))
        assert run.finished_at < stat["ds"].min().tz_localize("UTC") and stat["p50"].notna().all()
        assert stat["ds"].max() == actuals["ds"].max()  # up to the end of the history
        current = s.get(ForecastRun, demo.forecast_run_ids[-1])  # the latest run: the plan's horizon, after the history
        assert len(demo.forecast_run_ids) == 2 and current.id > run.id and current.status == "done"
        ahead = pd.to_datetime(pd.DataFrame.from_records(current.forecasts)["ds"])
        assert (ahead.min(), ahead.max()) == (pd.Timestamp("2027-01-01"), pd.Timestamp("2027-12-01"))
    engine.dispose()

    expected = {}
    for partner, m in scored.items():
        m = m.merge(stat[["unique_id", "ds", "p50"]], on=["unique_id", "ds"])
        wape_p = (m["value"] - m["y"]).abs().sum() / m["y"].sum()
        wape_s = (m["p50"] - m["y"]).abs().sum() / m["y"].sum()
        expected[partner] = {"n": len(m), "wape_partner": wape_p, "wape_statistical": wape_s, "fva_wape": wape_s - wape_p}

    app = make_app(db_url)
    users = {u.partner or u.role: u for u in demo.users}
    seen = {}
    for who in ("planner", "finance", "admin", "shops", "wholesale"):
        c = TestClient(app)
        assert _sign_in(c, users[who].name, users[who].password).status_code == 200
        r = c.get("/fva")
        assert r.status_code == 200, r.text
        seen[who] = r.json()
        assert seen[who]["notes"] == [], seen[who]["notes"]  # nothing left out, nobody unscored
    staff = {row["partner"]: row for row in seen["planner"]["by_partner"]}
    assert set(staff) == {"shops", "wholesale"}
    for partner, exp in expected.items():
        row = staff[partner]
        assert all(math.isfinite(v) for v in row.values() if isinstance(v, float)), row
        assert row["n"] == exp["n"] == 48 and row["series"] == 4
        for key in ("wape_partner", "wape_statistical", "fva_wape"):
            assert row[key] == pytest.approx(exp[key], rel=1e-9), (partner, key)
        assert 0 < row["wape_partner"] < 0.5 and 0 < row["wape_statistical"] < 0.5
        assert [r["partner"] for r in seen[partner]["by_partner"]] == [partner] and seen[partner]["by_partner"][0] == row
        assert {r["partner"] for r in seen[partner]["by_series"]} == {partner}
    assert seen["finance"]["by_partner"] == seen["admin"]["by_partner"] == seen["planner"]["by_partner"]
    # the round made in December scores January at lag 1: one month of the four series
    c = TestClient(app)
    _sign_in(c, users["planner"].name, users["planner"].password)
    lag1 = c.get("/fva", params={"lag": 1}).json()["by_partner"]
    assert {r["partner"]: r["n"] for r in lag1} == {"shops": 4, "wholesale": 4}


def test_demo_refuses_a_database_holding_other_data(tmp_path, monkeypatch):
    from jointplan.cli import app
    from jointplan.demo_seed import DemoRefused

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    monkeypatch.setenv("JOINTPLAN_DATABASE_URL", url)
    run = CliRunner().invoke
    assert run(app, ["partners", "create", "acme", "--role", "manufacturer"]).exit_code == 0
    with pytest.raises(DemoRefused, match="not a demo database"):
        seed_demo(url)
    r = run(app, ["serve", "--demo", "--database-url", url])  # (only once the check above holds: else it would serve)
    assert r.exit_code == 2, r.output
    assert "not a demo database" in " ".join(r.output.split())  # (the console wraps long lines)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        assert s.get(ServiceMeta, "demo") is None
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    engine.dispose()


def test_demo_database_defaults_to_the_current_directory(tmp_path, monkeypatch):
    """Without --database-url the demo uses ./jointplan-demo.db, never $JOINTPLAN_DATABASE_URL."""
    from jointplan.demo_seed import default_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOINTPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'production.db'}")
    assert default_url() == f"sqlite:///{tmp_path / 'jointplan-demo.db'}"


# ------------------------------------------------------------------------------------- the command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_demo_prints_how_to_sign_in_and_runs_jobs(tmp_path):
    import httpx

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOINTPLAN_WEB_DIST": str(tmp_path / "no-build")}
    proc = subprocess.Popen([sys.executable, "-m", "jointplan", "serve", "--demo", "--port", str(port), "--workers", "1",
                             "--no-access-log"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    worker_pid = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Application startup complete" in x for x in lines):
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.2)
        out = "".join(lines)
        assert f"Open http://127.0.0.1:{port}/app/" in out, out
        assert "not built" in out and "make web" in out
        assert (tmp_path / "jointplan-demo.db").exists()
        worker_pid = int(re.search(r"job worker started \(pid (\d+)\)", out).group(1))
        password = re.search(r"pia@planning\s+planner\s+(\S+)", out).group(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert http.get("/", follow_redirects=False).headers["location"] == "/app/"
            assert http.get("/app/").status_code == 503
            r = http.post("/auth/login", json={"name": "pia@planning", "password": password})
            assert r.status_code == 200, r.text
            csrf = r.json()["csrf_token"]
            scenario = http.get("/scenarios").json()["items"][0]["id"]
            r = http.post("/plans", json={"scenario_id": scenario}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 202, r.text
            location = r.headers["Location"]
            deadline = time.monotonic() + 300
            while True:
                plan = http.get(location).json()
                if plan["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert plan["status"] == "done", plan
            assert plan["result"]["status"] in ("optimal", "feasible")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert "job worker" in "".join(lines) and "stopped" in "".join(lines)
    if worker_pid is not None:  # the job worker went with the service
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)


@pytest.mark.slow
def test_serve_stops_its_job_worker_on_sigterm(tmp_path):
    """SIGTERM (a service manager's stop, `timeout`) ends the job worker child too. uvicorn
    re-raises the SIGTERM it caught after shutting down; without a handler the process died there
    and the worker, in its own session, kept running."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOINTPLAN_WEB_DIST": str(tmp_path / "no-build")}
    proc = subprocess.Popen([sys.executable, "-m", "jointplan", "serve", "--job-worker", "--port", str(port),
                             "--workers", "1", "--no-access-log", "--database-url", f"sqlite:///{tmp_path}/s.db"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Application startup complete" in x for x in lines):
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.2)
        worker_pid = int(re.search(r"job worker started \(pid (\d+)\)", "".join(lines)).group(1))
        os.kill(worker_pid, 0)  # running
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert "stopped" in "".join(lines), "".join(lines)
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)
