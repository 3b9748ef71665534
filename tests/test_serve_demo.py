"""``jointplan serve --demo``: a demo database seeded with the bundled chain and one user per role
whose printed passwords sign in; a database holding other data is refused; started again, the demo
keeps its data and gives new passwords. In the slow suite, the command itself: the printed URL and
passwords work, and its job worker executes a plan started from a browser session.

Seen failing: the seed without the history upload (``test_demo_seeds_the_chain_and_users``: the
retailer sees no upload); ``seed_demo`` not checking for other data (``test_demo_refuses_...``).
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
from api.models import Scenario, ServiceMeta, User
from api_world import make_app
from jointplan.demo_seed import seed_demo

ROOT = Path(__file__).resolve().parents[1]


def _sign_in(client: TestClient, name: str, password: str):
    return client.post("/auth/login", json={"name": name, "password": password})


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
        assert s.scalar(sa.select(sa.func.count()).select_from(Scenario)) == 1
    engine.dispose()


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
