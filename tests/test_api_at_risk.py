"""A plan's funding at risk through the API: submitted as a job, computed by a worker (progress
per demand scenario), read back; the same figures as finance.at_risk called directly; bad
requests name the field; from a consensus version's quantiles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.db import make_engine, session_factory
from api.jobs.worker import Worker
from api.models import ConsensusVersion
from api_world import make_app, scenario_content, seed_users
from finance.at_risk import funding_at_risk, uncertainty_from_cv
from planning.plan import period_dates
from scenarios.io import parse_scenario


@pytest.fixture
def service(migrated_db_url):
    engine = make_engine(migrated_db_url)
    tokens, user_ids = seed_users(engine)
    with TestClient(make_app(migrated_db_url, engine)) as client:
        yield client, engine, tokens, user_ids
    engine.dispose()


def auth(tokens, user):
    return {"Authorization": f"Bearer {tokens[user]}"}


@pytest.fixture
def done_plan(service):
    client, engine, tokens, _ = service
    r = client.post("/scenarios", json={"name": "base", "content": scenario_content()}, headers=auth(tokens, "pl"))
    assert r.status_code == 201, r.text
    r = client.post("/plans", json={"scenario_id": r.json()["scenario_id"]}, headers=auth(tokens, "pl"))
    plan_id = r.json()["id"]
    assert Worker(engine, lease_seconds=10).run(once=True) == 1
    return plan_id


@pytest.mark.slow
def test_at_risk_job_computes_the_table(service, done_plan):
    """Finance asks for 6 scenarios at cv 0.2: 202 with a Location; a worker computes it (its
    events count the scenarios); the run holds per-partner and per-period rows equal to
    finance.at_risk called directly on the same plan; asking again returns the run (200)."""
    client, engine, tokens, _ = service
    body = {"scenarios": 6, "seed": 3, "cv": 0.2}
    r = client.post(f"/plans/{done_plan}/at-risk", json=body, headers=auth(tokens, "fi"))
    assert r.status_code == 202, r.text
    run = r.json()
    assert r.headers["Location"] == f"/plans/{done_plan}/at-risk/{run['id']}"
    assert run["status"] == "queued" and run["partners"] is None
    assert Worker(engine, lease_seconds=10).run(once=True) == 1
    got = client.get(f"/plans/{done_plan}/at-risk/{run['id']}", headers=auth(tokens, "pl")).json()
    assert got["status"] == "done" and got["job"]["kind"] == "at_risk"
    assert got["job"]["result"] == f"/plans/{done_plan}/at-risk/{run['id']}"
    assert any("6 of 6 demand scenarios" in e["message"] for e in got["job"]["events"])
    plan = client.get(f"/plans/{done_plan}", headers=auth(tokens, "pl")).json()
    scenario, _ = parse_scenario(scenario_content())
    full = {**plan["result"], "tables": {}}
    for name in plan["result"]["tables"]:
        cols = client.get(f"/plans/{done_plan}/tables/{name}/columns", headers=auth(tokens, "pl")).json()
        full["tables"][name] = [dict(zip(cols["columns"], v)) for v in zip(*cols["data"])]
    direct = funding_at_risk(scenario, full, uncertainty_from_cv(scenario, 0.2), scenarios=6, seed=3)
    want = {r["partner"]: r for r in direct.to_dict()["partners"]}
    for row in got["partners"]:
        for k in ("peak_need_p50", "peak_need_p90", "peak_need_p95", "probability_lines_not_enough",
                  "expected_financing_cost"):
            assert row[k] == pytest.approx(want[row["partner"]][k], rel=1e-6, abs=1e-6), k
    assert len(got["periods"]) == len(want) * scenario.time.periods
    again = client.post(f"/plans/{done_plan}/at-risk", json=body, headers=auth(tokens, "fi"))
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    assert client.get(f"/plans/{done_plan + 1}/at-risk/{run['id']}", headers=auth(tokens, "fi")).status_code == 404
    assert client.post(f"/plans/{done_plan}/at-risk", json=body, headers=auth(tokens, "ana")).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"scenarios": 5}, "body.cv"),  # neither cv nor consensus_version
    ({"cv": 0.2, "consensus_version": 1}, "body.cv"),
    ({"cv": -0.1}, "body.cv"),
    ({"cv": 0.2, "scenarios": 0}, "body.scenarios"),
    ({"cv": 0.2, "scenarios": 10_001}, "body.scenarios"),
    ({"cv": 0.2, "correlation": 1.5}, "body.correlation"),
    ({"cv": 0.2, "frozen_periods": 13}, "body.frozen_periods"),
    ({"cv": 0.2, "nope": 1}, "body.nope"),
])
def test_bad_requests_name_the_field(service, done_plan, body, field):
    client, _, tokens, _ = service
    r = client.post(f"/plans/{done_plan}/at-risk", json=body, headers=auth(tokens, "fi"))
    assert r.status_code == 422, r.text
    assert field in r.text


def test_unknown_consensus_version_is_404_naming_it(service, done_plan):
    client, _, tokens, _ = service
    r = client.post(f"/plans/{done_plan}/at-risk", json={"consensus_version": 7}, headers=auth(tokens, "fi"))
    assert r.status_code == 404 and "body.consensus_version" in r.text


def test_from_a_consensus_version(service, done_plan):
    """The consensus rows of the scenario's series and horizon are used (others left out and
    counted); with P10 = P50 = P90 = the scenario's demand the run is the point plan's funding."""
    client, engine, tokens, user_ids = service
    scenario, _ = parse_scenario(scenario_content())
    dates = [d.strftime("%Y-%m-%d") for d in period_dates(scenario)]
    rows = [{"unique_id": f"{dm.product}/{dm.site}", "ds": ds, "p10": q, "p50": q, "p90": q, "basis": "weighted"}
            for dm in scenario.demand for ds, q in zip(dates, dm.quantity)]
    rows.append({"unique_id": "other/elsewhere", "ds": dates[0], "p10": 1, "p50": 2, "p90": 3, "basis": "weighted"})
    with session_factory(engine)() as s:
        s.add(ConsensusVersion(version=1, created_by_id=user_ids["pl"], rule="weighted", inputs={}, notes=[],
                               rows=rows, trace=[]))
        s.commit()
    r = client.post(f"/plans/{done_plan}/at-risk", json={"consensus_version": 1, "scenarios": 2},
                    headers=auth(tokens, "fi"))
    assert r.status_code == 202, r.text
    assert Worker(engine, lease_seconds=10).run(once=True) == 1
    got = client.get(r.headers["Location"], headers=auth(tokens, "fi")).json()
    assert got["status"] == "done", got["job"]
    assert got["settings"]["uncertainty"]["rows_left_out"] == 1
    for row in got["partners"]:
        assert row["peak_need_p95"] == pytest.approx(row["point_peak_need"], abs=1e-6)


def test_the_job_stops_at_its_time_limit(small_chain_plan):
    """A job past its time limit fails (no retry) saying how many scenarios were done."""
    from api.jobs.runners import JobInputError, execute_at_risk

    scenario, plan = small_chain_plan
    inputs = {"scenario": scenario.model_dump(mode="json", exclude_none=True), "plan": plan.to_dict(),
              "options": {"scenarios": 60, "cv": 0.1}, "time_limit": 0.01}
    with pytest.raises(JobInputError, match=r"time limit of 0.01 s was reached after \d+ of 60 demand scenarios"):
        execute_at_risk(inputs, lambda _f, _m: None)
