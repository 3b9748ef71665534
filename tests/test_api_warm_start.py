"""Plans through the service warm-start from an earlier plan of the scenario (SQLite and PostgreSQL):
the parent version's plan, else the same version's solved with other options. The basis is kept
in ``plans.basis`` and never sent; ``GET /plans/{id}`` shows ``result.warm_start``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db import make_engine, session_factory
from api.jobs.worker import Worker
from api.models import PlanRecord
from api_world import make_app, scenario_content, seed_users
from planning.warm import SavedBasis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from whatif import whatif  # noqa: E402


@pytest.fixture
def service(migrated_db_url):
    engine = make_engine(migrated_db_url)
    tokens, _ = seed_users(engine)
    with TestClient(make_app(migrated_db_url, engine)) as client:
        yield client, engine, tokens
    engine.dispose()


def auth(tokens, user="pl", **extra):
    return {"Authorization": f"Bearer {tokens[user]}", **extra}


def solved(client, engine, tokens, body) -> dict:
    r = client.post("/plans", json=body, headers=auth(tokens))
    assert r.status_code == 202, r.text
    assert Worker(engine, lease_seconds=10).run(once=True) == 1
    r = client.get(f"/plans/{r.json()['id']}", headers=auth(tokens, "fi"))
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    assert '"basis":' not in r.text and "JPBASIS" not in r.text  # kept in the database, never sent
    return r.json()


def stored_basis(engine, plan_id: int) -> SavedBasis:
    with session_factory(engine)() as s:
        blob = s.scalar(select(PlanRecord.basis).where(PlanRecord.id == plan_id))
    assert blob is not None
    return SavedBasis.from_bytes(blob)


def test_plan_of_a_new_version_starts_from_the_parent_versions_plan(service):
    client, engine, tokens = service
    content = scenario_content()
    r = client.post("/scenarios", json={"name": "warm", "content": content}, headers=auth(tokens))
    assert r.status_code == 201, r.text
    sid, etag = r.json()["scenario_id"], r.headers["ETag"]

    first = solved(client, engine, tokens, {"scenario_id": sid})
    assert first["result"]["warm_start"] is None  # nothing to start from: a cold solve
    cold_iterations = first["result"]["simplex_iterations"]
    assert cold_iterations > 0
    basis = stored_basis(engine, first["id"])
    assert basis.kind == "basis" and "inventory_balance[dc,widget,0]" in basis.row_names

    edited = whatif(content, "demand")
    r = client.post(f"/scenarios/{sid}/versions", json={"content": edited, "comment": "demand what-if"},
                    headers=auth(tokens, **{"If-Match": etag}))
    assert r.status_code == 201, r.text
    second = solved(client, engine, tokens, {"scenario_id": sid})
    assert second["version"] == 2
    ws = second["result"]["warm_start"]
    assert ws["plan_id"] == first["id"] and ws["from"] == f"plan {first['id']}"
    assert ws["used"] is True and ws["kind"] == "basis" and not ws.get("fallback")
    assert ws["new"] == {"columns": 0, "rows": 0} and ws["matched"]["columns"] == len(basis.col_names)
    assert ws["simplex_iterations"] < cold_iterations and ws["solve_s"] >= 0
    assert ws["reference_cold"]["simplex_iterations"] == cold_iterations and "saved_s" in ws
    assert second["result"]["simplex_iterations"] == ws["simplex_iterations"]
    assert not [w for w in second["result"]["warnings"] if w["path"] == "warm_start"]

    # the same version with other options: starts from its parent version's plan (first), and its
    # own result equals the cold solve's figures
    third = solved(client, engine, tokens, {"scenario_id": sid, "version": 2, "options": {"size_funding": False}})
    assert third["result"]["warm_start"]["plan_id"] == first["id"]
    assert third["result"]["objective"] == pytest.approx(second["result"]["objective"], rel=1e-6)


@pytest.mark.slow
def test_same_version_other_options_and_an_unreadable_basis(service):
    client, engine, tokens = service
    r = client.post("/scenarios", json={"name": "one", "content": scenario_content()}, headers=auth(tokens))
    sid = r.json()["scenario_id"]
    first = solved(client, engine, tokens, {"scenario_id": sid})
    second = solved(client, engine, tokens, {"scenario_id": sid, "options": {"size_funding": False}})
    ws = second["result"]["warm_start"]
    assert ws["plan_id"] == first["id"] and ws["used"] and ws["simplex_iterations"] == 0  # same data: optimal at once
    assert second["result"]["objective"] == pytest.approx(first["result"]["objective"], rel=1e-9)

    # a damaged stored basis: the next plan is a cold solve that says so, not a failed job
    with session_factory(engine)() as s:
        for rec in s.scalars(select(PlanRecord)):
            rec.basis = b"JPBASIS1 damaged"
        s.commit()
    third = solved(client, engine, tokens, {"scenario_id": sid, "options": {"time_limit": 300.0}})
    ws = third["result"]["warm_start"]
    assert ws["used"] is False and "cannot be read" in ws["reason"]
    assert any(w["path"] == "warm_start" for w in third["result"]["warnings"])
    assert third["result"]["objective"] == pytest.approx(first["result"]["objective"], rel=1e-6)
    assert stored_basis(engine, third["id"]).kind == "basis"  # and it keeps a good one for the next
