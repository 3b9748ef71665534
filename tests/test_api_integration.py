"""A scenario's value-of-integration study through the API: submitted as a job, computed by a
worker (progress per grid point), read back with the figures of the two-period case worked by
hand in tests/test_integration_value.py; bad grids name the field; staff only. On SQLite and
PostgreSQL (the db_url fixture)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.db import make_engine
from api.jobs.worker import Worker
from api_world import make_app, seed_users
from test_integration_value import two_period


@pytest.fixture
def service(migrated_db_url):
    engine = make_engine(migrated_db_url)
    tokens, user_ids = seed_users(engine)
    with TestClient(make_app(migrated_db_url, engine)) as client:
        yield client, engine, tokens
    engine.dispose()


def auth(tokens, user):
    return {"Authorization": f"Bearer {tokens[user]}"}


@pytest.fixture
def scenario_id(service):
    client, _, tokens = service
    r = client.post("/scenarios", json={"name": "two-period", "content": two_period()}, headers=auth(tokens, "pl"))
    assert r.status_code == 201, r.text
    return r.json()["scenario_id"]


@pytest.mark.slow
def test_study_job_reproduces_the_hand_worked_points(service, scenario_id):
    """Finance asks for k = 2, R = 3.6 a year, s in {0.5, 1}: 202 with a Location; a worker runs
    it (events count the points); the rows: plan-then-fund not funded at s = 0.5 (joint 100), at
    s = 1 plan-then-fund -50 and joint 100 (gain 150), fill rates 1 and 0.25; asking again returns
    the study (200); other scenarios' paths and non-staff get 404 and 403."""
    client, engine, tokens = service
    body = {"limit_share": [0.5, 1.0], "rate": [3.6], "demand": [2.0]}
    r = client.post(f"/scenarios/{scenario_id}/value-of-integration", json=body, headers=auth(tokens, "fi"))
    assert r.status_code == 202, r.text
    study = r.json()
    assert r.headers["Location"] == f"/scenarios/{scenario_id}/value-of-integration/{study['id']}"
    assert study["status"] == "queued" and study["rows"] is None and study["version"] == 1
    assert Worker(engine, lease_seconds=30).run(once=True) == 1
    got = client.get(r.headers["Location"], headers=auth(tokens, "pl")).json()
    assert got["status"] == "done", got["job"]
    assert got["job"]["kind"] == "integration" and got["job"]["result"] == r.headers["Location"]
    assert any("2 of 2 grid points" in e["message"] for e in got["job"]["events"])
    first, second = got["rows"]
    assert first["sequential_funded"] is False and first["joint_chain_profit"] == pytest.approx(100, abs=1e-6)
    assert second["sequential_chain_profit"] == pytest.approx(-50, abs=1e-6)
    assert second["joint_chain_profit"] == pytest.approx(100, abs=1e-6)
    assert second["gain"] == pytest.approx(150, abs=1e-6)
    assert second["sequential_fill_rate"] == pytest.approx(1.0) and second["joint_fill_rate"] == pytest.approx(0.25)
    assert got["summary"]["joint_not_worse_everywhere"] and got["summary"]["conserved_everywhere"]
    assert got["currency"] == "EUR"
    again = client.post(f"/scenarios/{scenario_id}/value-of-integration", json=body, headers=auth(tokens, "fi"))
    assert again.status_code == 200 and again.json()["id"] == study["id"]
    other = f"/scenarios/{scenario_id + 1}/value-of-integration/{study['id']}"
    assert client.get(other, headers=auth(tokens, "fi")).status_code == 404
    assert client.post(f"/scenarios/{scenario_id}/value-of-integration", json=body,
                       headers=auth(tokens, "ana")).status_code == 403


BAD = [
    ({"limit_share": [-0.5]}, "body.limit_share"),
    ({"limit_share": []}, "body.limit_share"),
    ({"limit_share": [True]}, "body.limit_share"),  # lax float read true as 1.0 (seen before StrictFloat)
    ({"rate": ["0.1"]}, "body.rate"),
    ({"rate": [11]}, "body.rate"),
    ({"buyer_terms": [1.5]}, "body.buyer_terms"),
    ({"buyer_terms": [3]}, "body.buyer_terms"),  # the horizon is 2 periods
    ({"demand": [0]}, "body.demand"),
    ({"demand": [1, 1]}, "body.demand"),
    ({"buyer": "nobody"}, "body.buyer"),
    ({"limit_share": [i / 10 for i in range(20)], "rate": [i / 10 for i in range(20)], "demand": [1, 2]}, "body"),
    ({"version": 2}, "version"),
    ({"nope": 1}, "body.nope"),
]


def test_bad_requests_name_the_field(service, scenario_id):
    """Each bad grid: 422 naming the field (an unknown version: 404 naming it); nothing queued."""
    client, engine, tokens = service
    for body, field in BAD:
        r = client.post(f"/scenarios/{scenario_id}/value-of-integration", json=body, headers=auth(tokens, "fi"))
        assert r.status_code == (404 if field == "version" else 422), (body, r.text)
        assert field in r.text, (body, r.text)
    assert Worker(engine, lease_seconds=30).run(once=True) == 0


def test_a_scenario_without_instruments_is_409(service):
    client, _, tokens = service
    content = two_period()
    del content["finance"]
    sid = client.post("/scenarios", json={"name": "bare", "content": content}, headers=auth(tokens, "pl")).json()["scenario_id"]
    r = client.post(f"/scenarios/{sid}/value-of-integration", json={}, headers=auth(tokens, "pl"))
    assert r.status_code == 409 and "finance instruments" in r.text
