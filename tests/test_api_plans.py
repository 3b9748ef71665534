"""Plans through the API: submit, a worker solves, poll, tables, Excel, funding, comparison,
dedupe, bad input, infeasible scenarios, cancellation; and a worker killed mid-solve."""

from __future__ import annotations

import copy
import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.db import make_engine, session_factory
from api.jobs.model import Job
from api.jobs.worker import Worker
from api.models import FundingResultRecord, PlanRecord, PlanTable
from api.routes import plans as plans_routes
from api_world import make_app, scenario_content, seed_users
from planning.workbook import TABLE_TITLES
from workbook_checks import measure_table, same
from planning.plan import plan_scenario
from scenarios.io import parse_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def service(migrated_db_url):
    engine = make_engine(migrated_db_url)
    tokens, _ = seed_users(engine)
    with TestClient(make_app(migrated_db_url, engine)) as client:
        yield client, engine, tokens
    engine.dispose()


def auth(tokens, user):
    return {"Authorization": f"Bearer {tokens[user]}"}


def new_scenario(client, tokens, name="base", content=None) -> int:
    r = client.post("/scenarios", json={"name": name, "content": content or scenario_content()}, headers=auth(tokens, "pl"))
    assert r.status_code == 201, r.text
    return r.json()["scenario_id"]


def count_jobs(engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count(Job.id)))


def test_plan_submitted_solved_by_a_worker_and_read_back(service, monkeypatch):
    client, engine, tokens = service
    sid = new_scenario(client, tokens)
    r = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl"))
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    assert r.headers["Location"] == f"/plans/{plan_id}"
    assert r.json()["status"] == "queued" and r.json()["result"] is None
    # asking again while queued: the same plan, no second job
    again = client.post("/plans", json={"scenario_id": sid, "version": 1, "options": {}}, headers=auth(tokens, "pl"))
    assert again.status_code == 202 and again.json()["id"] == plan_id
    assert count_jobs(engine) == 1
    # the API does not solve: until a worker runs, tables are not there
    assert client.get(f"/plans/{plan_id}/tables/production", headers=auth(tokens, "pl")).status_code == 409

    assert Worker(engine, lease_seconds=10).run(once=True) == 1

    body = client.get(f"/plans/{plan_id}", headers=auth(tokens, "fi")).json()
    assert body["status"] == "done"
    job = body["job"]
    assert job["status"] == "done" and job["attempts"] == 1 and job["progress"] == 1.0
    messages = [e["message"] for e in job["events"]]
    assert "solving with HiGHS" in messages and "reading the solution" in messages
    assert job["timings"]["highs"] > 0 and "Objective value" in job["log_excerpt"]
    assert job["result"] == f"/plans/{plan_id}"

    scenario, _ = parse_scenario(scenario_content())
    direct = plan_scenario(scenario)
    result = body["result"]
    assert result["status"] == direct.status == "optimal"
    assert result["objective"] == pytest.approx(direct.objective, rel=1e-9)
    assert result["kpis"]["chain"]["profit"] == pytest.approx(direct.kpis["chain"]["profit"], rel=1e-9)
    assert result["tables"] == {name: len(df) for name, df in direct.tables.items()}

    page = client.get(f"/plans/{plan_id}/tables/production", params={"limit": 5, "offset": 2},
                      headers=auth(tokens, "pl")).json()
    expected = direct.tables["production"].iloc[2:7]
    assert page["total"] == len(direct.tables["production"]) and len(page["items"]) == 5
    assert [row["production"] for row in page["items"]] == pytest.approx(expected["production"].tolist())
    assert [row["date"] for row in page["items"]] == expected["date"].dt.strftime("%Y-%m-%d").tolist()
    # the runner stored each table on its own (plan_tables): the whole table, column by column
    whole = client.get(f"/plans/{plan_id}/tables/production/columns", headers=auth(tokens, "pl")).json()
    assert whole["total"] == page["total"] and whole["columns"] == page["columns"]
    assert [dict(zip(whole["columns"], v)) for v in zip(*whole["data"])][2:7] == page["items"]
    with session_factory(engine)() as s:
        assert s.scalars(select(PlanTable.name).where(PlanTable.plan_id == plan_id)
                         .order_by(PlanTable.position)).all() == list(direct.tables)
    missing = client.get(f"/plans/{plan_id}/tables/nope", headers=auth(tokens, "pl"))
    assert missing.status_code == 404 and "production" in missing.json()["detail"]

    xl = client.get(f"/plans/{plan_id}/xlsx", headers=auth(tokens, "fi"))
    assert xl.status_code == 200 and xl.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(xl.content))
    # the report (planning/workbook.py): summary, the funding sized for the plan (the scenario has
    # instruments), then one sheet per result table, the charts' data last
    assert wb.sheetnames[:4] == ["Summary", "Funding", "Funding cash", "Funding instruments"]
    assert wb.sheetnames[4:] == [*[TABLE_TITLES[t] for t in direct.tables], "Binding limits", "Chart data"]
    kpis = measure_table(wb["Summary"])
    assert kpis["Profit (EUR)"]["Chain"].value == pytest.approx(direct.kpis["chain"]["profit"], rel=1e-9)
    # a second download is the first one's bytes, kept by this process rather than built again
    monkeypatch.setattr(plans_routes, "plan_workbook", lambda *a, **k: pytest.fail("the workbook was built twice"))
    again = client.get(f"/plans/{plan_id}/xlsx", headers=auth(tokens, "pl"))
    assert again.status_code == 200 and again.content == xl.content
    assert wb["Production"].max_row == len(direct.tables["production"]) + 1

    # the same version and options: the stored plan (200), no new job
    same = client.post("/plans", json={"scenario_id": sid, "options": {"finance": False}}, headers=auth(tokens, "pl"))
    assert same.status_code == 200 and same.json()["id"] == plan_id and same.json()["status"] == "done"
    assert count_jobs(engine) == 1
    assert client.post(f"/jobs/{job['id']}/cancel", headers=auth(tokens, "pl")).status_code == 409


def test_funding_per_partner_and_plans_compared(service):
    client, engine, tokens = service
    sid = new_scenario(client, tokens)
    base = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()["id"]
    joint = client.post("/plans", json={"scenario_id": sid, "options": {"finance": True}}, headers=auth(tokens, "pl")).json()["id"]
    assert base != joint
    assert Worker(engine, lease_seconds=10).run(once=True) == 2

    fin = client.get(f"/plans/{base}/funding", headers=auth(tokens, "fi")).json()
    assert fin["summary"]["mode"] == "sized" and fin["summary"]["status"] == "optimal"
    partners = {p["partner"]: p for p in fin["partners"]}
    assert set(partners) == {"maker", "wholesale", "haul", "shops"}
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count(FundingResultRecord.id)).where(FundingResultRecord.plan_id == base)) == 4
    # each partner's entry holds only its own rows
    for a, p in partners.items():
        assert {r["partner"] for rows in p["tables"].values() for r in rows} == {a}
    # a partner user sees its own funding only, and no chain totals
    ana = client.get(f"/plans/{base}/funding", headers=auth(tokens, "ana")).json()
    assert [p["partner"] for p in ana["partners"]] == ["shops"] and ana["summary"] is None
    assert client.get(f"/plans/{base}/funding/shops", headers=auth(tokens, "ana")).json() == partners["shops"]
    assert client.get(f"/plans/{base}/funding/wholesale", headers=auth(tokens, "ana")).status_code == 404
    assert client.get(f"/plans/{base}", headers=auth(tokens, "ana")).status_code == 403
    assert client.get(f"/compare/plans?plan_id={base}&plan_id={joint}", headers=auth(tokens, "ana")).status_code == 403

    cmp = client.get(f"/compare/plans?plan_id={base}&plan_id={joint}", headers=auth(tokens, "fi"))
    assert cmp.status_code == 200, cmp.text
    cols = cmp.json()["plans"]
    assert [c["plan_id"] for c in cols] == [base, joint]
    assert cols[0]["funding"]["mode"] == "sized" and cols[1]["funding"]["mode"] == "joint"
    for c in cols:
        stored = client.get(f"/plans/{c['plan_id']}", headers=auth(tokens, "pl")).json()["result"]
        assert c["objective"] == pytest.approx(stored["objective"])
        # every chain KPI of the comparison is the plan's own (none missing: a name the plan's kpis
        # do not have would be null here)
        for key, value in c["chain"].items():
            assert value is not None and value == pytest.approx(stored["kpis"]["chain"][key]), key
    # the workbook (planning/workbook.py, as `jointplan plan --xlsx` writes it) holds the funding the API reports
    for plan_id, mode in ((base, "sized after the plan"), (joint, "chosen with the plan (joint planning)")):
        xl = client.get(f"/plans/{plan_id}/xlsx", headers=auth(tokens, "fi"))
        wb = openpyxl.load_workbook(io.BytesIO(xl.content))
        assert wb.sheetnames[:4] == ["Summary", "Funding", "Funding cash", "Funding instruments"], wb.sheetnames
        assert not any(n.startswith("funding_") for n in wb.sheetnames)  # a joint plan's copies are not repeated
        facts = {wb["Funding"].cell(r, 1).value: wb["Funding"].cell(r, 2).value for r in range(3, 12)}
        assert facts["Funding"] == mode and facts["Currency"] == "EUR"
        funding = client.get(f"/plans/{plan_id}/funding", headers=auth(tokens, "fi")).json()
        table = measure_table(wb["Funding"])
        for p in funding["partners"]:
            for label, key in (("Peak funding need (EUR)", "peak_funding_need"), ("Peak debt (EUR)", "peak_debt"),
                               ("Net financing cost (EUR)", "net_financing_cost"),
                               ("CCC: cash conversion cycle (days)", "cash_conversion_cycle_days")):
                assert same(table[label][p["partner"]].value, p["kpis"][key]), (plan_id, label, p["partner"])
        assert table["Net financing cost (EUR)"]["Chain total"].value == pytest.approx(
            funding["summary"]["total"]["net_financing_cost"])
        assert wb["Funding cash"].max_row == 1 + sum(len(p["tables"]["cash"]) for p in funding["partners"])
    diff = cmp.json()["differences"][0]
    assert diff["plan_id"] == joint
    assert diff["objective"] == pytest.approx(cols[1]["objective"] - cols[0]["objective"])
    assert diff["net_financing_cost"] == pytest.approx(
        cols[1]["funding"]["net_financing_cost"] - cols[0]["funding"]["net_financing_cost"])


def test_bad_plan_requests_name_the_field(service):
    client, engine, tokens = service
    sid = new_scenario(client, tokens)
    h = auth(tokens, "pl")
    for body, field in (({"scenario_id": 999}, "body.scenario_id"), ({"scenario_id": sid, "version": 7}, "body.version")):
        r = client.post("/plans", json=body, headers=h)
        assert r.status_code == 404 and r.json()["detail"][0]["field"] == field, r.text
    cases = [
        ({"scenario_id": sid, "options": {"time_limit": -1}}, "body.options.time_limit"),
        ({"scenario_id": sid, "options": {"mip_gap": 2}}, "body.options.mip_gap"),
        ({"scenario_id": sid, "options": {"turbo": True}}, "body.options.turbo"),
        ({"scenario_id": "x"}, "body.scenario_id"),
    ]
    for body, field in cases:
        r = client.post("/plans", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["detail"]], (body, r.json())
    no_finance = scenario_content()
    no_finance.pop("finance")
    sid2 = new_scenario(client, tokens, "plain", no_finance)
    r = client.post("/plans", json={"scenario_id": sid2, "options": {"finance": True}}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.options.finance"
    assert client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "fi")).status_code == 403
    assert client.get("/compare/plans?plan_id=1", headers=h).status_code == 422
    assert client.get("/compare/plans?plan_id=1&plan_id=0", headers=h).json()["detail"][0]["field"] == "query.plan_id.1"
    assert count_jobs(engine) == 0


def test_an_infeasible_scenario_is_a_result_with_a_diagnosis(service):
    client, engine, tokens = service
    content = scenario_content()
    content["sites"][1]["products"][0]["ending_inventory"] = 1_000_000  # the DC holds at most 8,000
    sid = new_scenario(client, tokens, "impossible", content)
    plan_id = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()["id"]
    Worker(engine, lease_seconds=10).run(once=True)
    body = client.get(f"/plans/{plan_id}", headers=auth(tokens, "pl")).json()
    assert body["status"] == "done" and body["job"]["attempts"] == 1
    assert body["result"]["status"] == "infeasible"
    relax = {r["constraint"]: r["violation"] for r in body["result"]["diagnosis"]["relaxation"]}
    assert relax["ending_inventory[dc,widget]"] >= 1_000_000 - 8_000 - 1e-6
    # its workbook: the summary with the diagnosis, and the relaxation listed
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/plans/{plan_id}/xlsx", headers=auth(tokens, "fi")).content))
    assert wb.sheetnames == ["Summary", "Diagnosis"]
    cells = [c.value for row in wb["Diagnosis"].iter_rows() for c in row]
    assert cells[cells.index("ending_inventory[dc,widget]") + 1] == pytest.approx(relax["ending_inventory[dc,widget]"])


def big_chain(n_stores: int = 40, name: str = "big") -> dict:
    """A synthetic chain whose solve takes a few seconds (planning/synthetic.py)."""
    from planning.synthetic import synthetic_chain

    return synthetic_chain(n_products=8, n_plants=2, n_dcs=4, n_stores=n_stores, n_periods=26, seed=3, name=name)


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_row(engine, job_id: int) -> Job:
    with session_factory(engine)() as s:
        return s.get(Job, job_id)


def test_solver_time_limit_stops_a_long_solve(service):
    """options.time_limit bounds the job's solve: a chain whose solve takes longer than one second
    stops at the limit with the best plan found (feasible) or none (time_limit), not optimal."""
    client, engine, tokens = service
    sid = new_scenario(client, tokens, "big", big_chain(n_stores=60))
    full = client.post("/plans", json={"scenario_id": sid, "options": {"time_limit": 1}}, headers=auth(tokens, "pl"))
    assert full.status_code == 202, full.text
    plan = full.json()
    assert Worker(engine, lease_seconds=30).run_once() == plan["job"]["id"]
    body = client.get(f"/plans/{plan['id']}", headers=auth(tokens, "pl")).json()
    assert body["status"] == "done", body
    result = body["result"]
    assert result["status"] in ("time_limit", "feasible"), result["status"]
    assert job_row(engine, plan["job"]["id"]).time_limit == 1.0
    assert result["timings"]["highs"] < 5.0, result["timings"]


def test_cancelling_a_running_solve_stops_it(service):
    client, engine, tokens = service
    sid = new_scenario(client, tokens, "big", big_chain(n_stores=60))
    plan = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()
    job_id = plan["job"]["id"]
    w = Worker(engine, lease_seconds=3)
    import threading

    outcome = {}
    t = threading.Thread(target=lambda: outcome.setdefault("id", w.run_once()))
    t.start()
    wait_for(lambda: "solving" in job_row(engine, job_id).message, 60, "the solve to start")
    started = time.monotonic()
    r = client.post(f"/plans/{plan['id']}/cancel", headers=auth(tokens, "pl"))
    assert r.status_code == 200 and r.json()["job"]["cancel_requested"]
    t.join(30)
    assert not t.is_alive() and outcome["id"] == job_id
    assert time.monotonic() - started < 10  # killed mid-solve, not waited for
    row = job_row(engine, job_id)
    assert row.status == "cancelled" and row.result_ref is None
    body = client.get(f"/plans/{plan['id']}", headers=auth(tokens, "pl")).json()
    assert body["status"] == "cancelled" and body["result"] is None
    # asking for the same plan again queues it again (a cancelled job does not stand for the work)
    again = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()
    assert again["id"] == plan["id"] and again["status"] == "queued" and again["job"]["id"] != job_id


@pytest.mark.slow
def test_worker_killed_mid_solve_the_job_completes_once(migrated_db_url):
    """kill -9 a `jointplan worker` during a solve; a second worker takes the job over when the
    lease runs out; the plan is stored once, with nothing duplicated. On SQLite and PostgreSQL
    (the workers get the same URL, a fresh schema of the test database on PostgreSQL)."""
    url = migrated_db_url
    engine = make_engine(url)
    tokens, _ = seed_users(engine)
    env = {**os.environ, "JOINTPLAN_DATABASE_URL": url, "JOINTPLAN_JOB_LEASE_SECONDS": "3"}
    worker_cmd = [str(Path(sys.executable).with_name("jointplan")), "worker", "--poll", "0.2"]
    with TestClient(make_app(url, engine)) as client:
        sid = new_scenario(client, tokens, "big", big_chain())
        plan = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()
        job_id = plan["job"]["id"]
        first = subprocess.Popen(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=False)
        try:
            wait_for(lambda: "solving" in job_row(engine, job_id).message, 120, "the first worker to start solving")
            helpers = psutil.Process(first.pid).children(recursive=True)  # its forkserver and the solving child
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        # the orphaned solve notices its worker is gone and stops (no CPU spent on a result nobody stores)
        gone, alive = psutil.wait_procs(helpers, timeout=15)
        assert not alive, [p.cmdline() for p in alive]
        killed = job_row(engine, job_id)
        assert killed.status == "running" and killed.attempts == 1
        # a `--once` worker polls once: start it after the dead worker's lease has run out (the
        # worker now starts in well under the 3 s lease, so it could otherwise find nothing to do)
        expires = killed.lease_expires_at.replace(tzinfo=killed.lease_expires_at.tzinfo or timezone.utc)
        time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.5)
        second = subprocess.Popen([*worker_cmd, "--once"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        try:
            second.wait(300)
        finally:
            if second.poll() is None:
                second.kill()
        assert second.returncode == 0, second.stderr.read().decode()[-2000:]
        done = job_row(engine, job_id)
        assert done.status == "done" and done.attempts == 2, (done.status, done.error, done.errors)
        assert "stopped renewing its lease" in done.errors[0]["error"]
        with session_factory(engine)() as s:
            plans = s.scalars(select(PlanRecord)).all()
            assert len(plans) == 1 and plans[0].status == "done" and plans[0].job_id == job_id
            assert s.scalar(select(func.count(Job.id))) == 1
            n_funding = s.scalar(select(func.count(FundingResultRecord.id)).where(FundingResultRecord.plan_id == plans[0].id))
            partners = s.scalars(select(FundingResultRecord.partner).where(FundingResultRecord.plan_id == plans[0].id)).all()
        assert n_funding == len(set(partners))
        body = client.get(f"/plans/{plan['id']}", headers=auth(tokens, "pl")).json()
        assert body["result"]["status"] in ("optimal", "feasible")
        scenario, _ = parse_scenario(copy.deepcopy(big_chain()))
        assert body["result"]["objective"] == pytest.approx(plan_scenario(scenario).objective, rel=1e-6)
    engine.dispose()


def test_forecast_run_via_a_worker(service):
    """A forecast run over the partners' uploads: the stored forecasts are forecast_panel's on the same history."""
    import pandas as pd

    from api_world import history_csv
    from forecasting.engine import forecast_panel
    from forecasting.history import HistorySpec, prepare_history

    client, engine, tokens = service
    h = auth(tokens, "pl")
    assert client.post("/forecast-runs", json={"horizon": 6, "fast": True}, headers=h).status_code == 409  # no history yet
    csv = {"Content-Type": "text/csv"}
    for user, site in (("ana", "store-north"), ("wil", "store-south")):
        r = client.post("/uploads", content=history_csv(site), headers={**auth(tokens, user), **csv})
        assert r.status_code == 201, r.text
    for body, field in (({"horizon": 0}, "body.horizon"), ({"horizon": 100_000}, "body.horizon"),
                        ({"horizon": 6, "freq": "D"}, "body.freq"), ({"horizon": 6, "partner_ids": ["a b"]}, "body.partner_ids.0")):
        r = client.post("/forecast-runs", json=body, headers=h)
        assert r.status_code == 422 and field in [e["field"] for e in r.json()["detail"]], r.text
    r = client.post("/forecast-runs", json={"horizon": 6, "partner_ids": ["nobody"]}, headers=h)
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "body.partner_ids.0"
    r = client.post("/forecast-runs", json={"horizon": 6, "freq": "M", "fast": True}, headers=h)
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    assert r.headers["Location"] == f"/forecast-runs/{run_id}" and r.json()["status"] == "queued"
    assert client.get(f"/forecast-runs/{run_id}/forecasts", headers=h).status_code == 409
    assert client.get(f"/forecast-runs/{run_id}", headers=auth(tokens, "ana")).status_code == 403

    assert Worker(engine, lease_seconds=10).run(once=True) == 1
    run = client.get(f"/forecast-runs/{run_id}", headers=auth(tokens, "fi")).json()
    assert run["status"] == "done" and run["job"]["status"] == "done", run["job"]
    assert run["summary"]["series"] == 4 and run["forecast_rows"] == 4 * 6
    assert any(e["message"].startswith("forecast 4 of 4 series") for e in run["job"]["events"])

    hist = pd.read_csv(io.StringIO(history_csv()), dtype={"quantity": float})
    history, _ = prepare_history(hist, HistorySpec(keys=["product", "site"]), freq="M")
    direct = forecast_panel(history, 6, "M", select=False, backend="serial", progress=None, keys=["product", "site"])
    page = client.get(f"/forecast-runs/{run_id}/forecasts", params={"unique_id": "widget/store-north", "limit": 10},
                      headers=h).json()
    want = direct.forecasts[direct.forecasts["unique_id"] == "widget/store-north"]
    assert page["total"] == 6
    assert [row["p50"] for row in page["items"]] == pytest.approx(want["p50"].tolist())
    assert [row["ds"] for row in page["items"]] == want["ds"].dt.strftime("%Y-%m-%d").tolist()
    # the consensus (helper S's code) reads this run as the statistical source
    from api.tables import latest_forecast_run

    with session_factory(engine)() as s:
        assert latest_forecast_run(s).id == run_id


def test_a_forecast_run_reuses_the_selection_of_the_last_run_of_its_options(service):
    """The history gained a month: the next run with the same options forecasts with the kept
    selection (forecasting.selection), without a competition; other options or ``reselect`` compete."""
    import pandas as pd

    from api_world import history_csv
    from api.models import ForecastRun

    client, engine, tokens = service
    h = auth(tokens, "pl")

    def upload(user: str, site: str, drop_last: bool) -> None:
        df = pd.read_csv(io.StringIO(history_csv(site)), dtype=str)
        if drop_last:
            df = df[df["date"] != df["date"].max()]
        r = client.post("/uploads", content=df.to_csv(index=False), headers={**auth(tokens, user), "Content-Type": "text/csv"})
        assert r.status_code == 201, r.text

    def run(body: dict) -> dict:
        r = client.post("/forecast-runs", json=body, headers=h)
        assert r.status_code == 202, r.text
        assert Worker(engine, lease_seconds=60).run(once=True) == 1
        out = client.get(f"/forecast-runs/{r.json()['id']}", headers=h).json()
        assert out["status"] == "done", out["job"]
        return out

    upload("ana", "store-north", drop_last=True)
    upload("wil", "store-south", drop_last=True)
    first = run({"horizon": 6, "n_windows": 2})
    assert first["summary"]["selection"] == {"competition": 4}
    upload("ana", "store-north", drop_last=False)
    upload("wil", "store-south", drop_last=False)
    second = run({"horizon": 6, "n_windows": 2})
    # by default (RESELECT_AFTER 0, the validation rule) a history that gained a month competes again
    assert second["summary"]["selection"] == {"schedule": 4}
    third = run({"horizon": 6, "n_windows": 2})  # the same history again: the kept choice is reused
    assert third["summary"]["selection"] == {"reused": 4}
    methods = {r["unique_id"]: r["method"] for r in second["summary"]["series_methods"]}
    assert {r["unique_id"]: r["method"] for r in third["summary"]["series_methods"]} == methods
    assert second["summary"]["series"] == 4
    assert "selection" not in second  # the kept selection stays inside the service
    assert run({"horizon": 4, "n_windows": 2})["summary"]["selection"] == {"competition": 4}  # other options
    assert run({"horizon": 6, "n_windows": 2, "reselect": True})["summary"]["selection"] == {"competition": 4}
    with session_factory(engine)() as s:
        kept = s.scalars(select(ForecastRun.selection).order_by(ForecastRun.id)).all()
    assert [len(k["series"]) for k in kept] == [4, 4, 4, 4, 4]
    assert [{r["selected_n_obs"] for r in k["series"]} for k in kept] == [{59}, {60}, {60}, {60}, {60}]


@pytest.mark.slow
def test_with_a_dask_scheduler_the_job_runs_on_the_cluster(service):
    from distributed import LocalCluster

    client, engine, tokens = service
    sid = new_scenario(client, tokens)
    plan_id = client.post("/plans", json={"scenario_id": sid}, headers=auth(tokens, "pl")).json()["id"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert Worker(engine, scheduler=cluster.scheduler_address, lease_seconds=10).run(once=True) == 1
        keys = {str(t[0]) for t in cluster.scheduler.transition_log}
    assert any(k.startswith("jointplan-job-") for k in keys), keys
    body = client.get(f"/plans/{plan_id}", headers=auth(tokens, "pl")).json()
    assert body["status"] == "done" and body["result"]["status"] == "optimal"
    assert "solving with HiGHS" in [e["message"] for e in body["job"]["events"]]  # progress came back from the cluster
    scenario, _ = parse_scenario(scenario_content())
    assert body["result"]["objective"] == pytest.approx(plan_scenario(scenario).objective, rel=1e-9)


def test_a_workbook_being_built_is_waited_for_not_built_again():
    """Two downloads of one workbook at once: one build, both get its bytes; a failed build is
    not kept (the next download builds)."""
    import threading
    import time

    key = ("test://", -1, object(), None)
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.3)
        return b"workbook"

    got = []
    threads = [threading.Thread(target=lambda: got.append(plans_routes.cached_workbook(key, build))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [b"workbook", b"workbook"] and len(calls) == 1
    failing = ("test://", -2, object(), None)
    with pytest.raises(RuntimeError):
        plans_routes.cached_workbook(failing, lambda: (_ for _ in ()).throw(RuntimeError("no")))
    assert plans_routes.cached_workbook(failing, lambda: b"second try") == b"second try"
    for k in (key, failing):
        plans_routes._WORKBOOKS.pop(k, None)
