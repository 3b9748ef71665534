"""Reads stay cheap under load: no write per authenticated read, no query per listed row, and
``GET /plans/{id}`` without reading the plan's tables into Python.

Deliberate errors these tests catch (each was put in once and seen to fail):

- the token's last use written on every request again (``touch_seconds`` ignored, or the
  ``WHERE last_used_at < cutoff`` guard dropped): ``test_token_use_is_written_once_per_interval``;
- the interval never ending (the cutoff computed the wrong way round, or the stored value never
  compared): the same test, whose stored time is set back past the interval and must move;
- a query per row back in ``GET /scenarios`` (``get_version``/``session.get(User, ...)`` per
  scenario), ``GET /submissions`` (author per row) or ``GET /exceptions`` (a COUNT of resolutions
  per exception): ``test_list_routes_issue_a_constant_number_of_queries``;
- ``GET /scenarios`` reading every latest version's content (the column not deferred):
  ``test_scenario_list_does_not_read_the_versions_content``;
- ``GET /plans/{id}`` wrong about the tables (counts, keys) or the rest of the result when the
  database computes the summary, reading the whole result, or not keeping the summary (a
  second read queries it again):
  ``test_plan_read_is_one_query_and_matches_the_stored_result``.

Both databases (SQLite and PostgreSQL) run each test: the JSON functions differ.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from api.models import ApiToken, ExceptionRecord, PlanRecord, ResolutionRecord, ScenarioVersion, utcnow
from api.security import hash_token


@contextmanager
def statements(engine):
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _token_row(world, user: str) -> ApiToken:
    with world.session() as s:
        return s.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(world.tokens[user])))


def test_token_use_is_written_once_per_interval(world):
    assert world.client.app.state.settings.token_touch_seconds == 60  # the default interval
    c, h = world.client, world.headers("fi")
    with world.session() as s:  # the world's own calls as fi (queueing jobs) may have recorded a use already
        s.execute(sa.update(ApiToken).where(ApiToken.token_hash == hash_token(world.tokens["fi"]))
                  .values(last_used_at=None))
        s.commit()
    with statements(world.engine) as sql:
        assert c.get("/scenarios", headers=h).status_code == 200
        first = _token_row(world, "fi").last_used_at
        assert c.get("/scenarios", headers=h).status_code == 200
        assert c.get("/plans", headers=h).status_code == 200
    writes = [q for q in sql if q.lstrip().upper().startswith("UPDATE API_TOKENS")]
    assert len(writes) == 1, writes  # three reads within the interval: one write
    assert first is not None and _token_row(world, "fi").last_used_at == first
    # the stored use older than the interval: the next request moves it
    old = utcnow() - timedelta(seconds=61)
    with world.session() as s:
        s.execute(sa.update(ApiToken).where(ApiToken.token_hash == hash_token(world.tokens["fi"]))
                  .values(last_used_at=old))
        s.commit()
    assert c.get("/scenarios", headers=h).status_code == 200
    moved = _token_row(world, "fi").last_used_at
    assert moved > old + timedelta(seconds=60)


def _add_scenarios(world, n: int) -> None:
    from api_world import scenario_content

    for i in range(n):  # by two different users: a name lookup per row would show
        user = ("pl", "adm")[i % 2]
        r = world.client.post("/scenarios", json={"name": f"load-{i}", "content": scenario_content()},
                              headers=world.headers(user))
        assert r.status_code == 201, r.text


def _count(world, path: str, user: str) -> tuple[int, dict]:
    with statements(world.engine) as sql:
        r = world.client.get(path, headers=world.headers(user))
    assert r.status_code == 200, r.text
    return len(sql), r.json()


def test_list_routes_issue_a_constant_number_of_queries(world):
    _add_scenarios(world, 4)
    with world.session() as s:  # more exceptions, one of them resolved, more submissions by another author
        for i in range(4):
            s.add(ExceptionRecord(id=f"EX-load{i:06d}", unique_id=f"widget/x{i}", ds="2027-01-01", rule="r", kind="tolerance",
                                  sources="shops vs statistical", values="1 vs 2", measure=1.0, limit=0.5, severity="low",
                                  owner="shops", message="m", partners=["shops"]))
        s.flush()
        s.add(ResolutionRecord(exception_id="EX-load000001", unique_id="widget/x1", action="accept", reason="ok",
                         author_id=world.user_ids["pl"]))
        s.commit()
    from api_world import submission_csv

    r = world.client.post("/submissions?partner_id=shops", content=submission_csv("shops", "store-north"),
                          headers=world.headers("pl", **{"Content-Type": "text/csv"}))
    assert r.status_code == 201, r.text
    for path, user, n_items in (("/scenarios", "pl", 5), ("/submissions", "adm", 3), ("/exceptions", "pl", 6)):
        small, one = _count(world, f"{path}?limit=1", user)
        large, many = _count(world, f"{path}?limit=50", user)
        assert len(one["items"]) == 1 and len(many["items"]) == n_items, (path, many)
        assert large == small, f"{path}: {small} statements for 1 item, {large} for {n_items}"
        assert large <= 4, f"{path}: {large} statements"
    resolved = {e["id"]: e["resolved"] for e in many["items"]}
    assert resolved["EX-load000001"] is True and resolved["EX-load000002"] is False
    # the joined names are the right ones
    names = {s["name"]: (s["created_by"], s["latest"]["author"]) for s in _count(world, "/scenarios", "pl")[1]["items"]}
    assert names["load-0"] == ("pl", "pl") and names["load-1"] == ("adm", "adm")


def test_scenario_list_does_not_read_the_versions_content(world):
    with statements(world.engine) as sql:
        r = world.client.get("/scenarios", headers=world.headers("pl"))
    assert r.status_code == 200 and r.json()["items"][0]["latest"]["version"] == 2
    selects = [q for q in sql if "scenario_versions" in q]
    assert selects and all("scenario_versions.content" not in q for q in selects), selects


def _fake_result() -> dict:
    return {"status": "optimal", "objective": 1234.5, "objective_sense": "maximize_profit", "termination": "Optimal",
            "mip_gap": None, "kpis": {"chain": {"profit": 1.5}, "shops": {"cash_peak": -2}}, "diagnosis": None,
            "binding_limits": [{"constraint": "cap", "shadow_price": 3.0}], "warnings": [], "timings": {"solve": 0.5},
            "solver_log_tail": "done\n", "funding_summary": None,
            "tables": {"production": [{"date": "2026-01-01", "qty": i} for i in range(7)], "cash": [], "sales": [{"x": 1}]}}


def test_plan_read_is_one_query_and_matches_the_stored_result(world):
    from api.routes.plans import plan_public

    with world.session() as s:
        sv = s.scalar(sa.select(ScenarioVersion).where(ScenarioVersion.scenario_id == world.ids["scenario"]["own"],
                                                       ScenarioVersion.version == 2))
        plan = PlanRecord(scenario_version_id=sv.id, options={}, options_hash="9" * 64, status="done",
                          result=_fake_result(), created_by_id=world.user_ids["pl"])
        queued = PlanRecord(scenario_version_id=sv.id, options={"finance": True}, options_hash="8" * 64,
                            status="queued", created_by_id=world.user_ids["pl"])
        s.add_all([plan, queued])
        s.commit()
        expected = plan_public(s, plan).model_dump(mode="json")  # the whole result read and summarised in Python
        expected_queued = plan_public(s, queued).model_dump(mode="json")
    _count(world, "/users/me", "fi")  # the token's last use recorded: not counted below
    with statements(world.engine) as sql:
        got = world.client.get(f"/plans/{plan.id}", headers=world.headers("fi")).json()
    assert got == expected
    assert got["result"]["tables"] == {"production": 7, "cash": 0, "sales": 1}
    assert len(sql) == 4, sql  # the token, the plan, its stored tables' row counts and its result's summary
    assert any("json_remove" in q or "- 'tables'" in q for q in sql)  # the database drops the tables
    n, again = _count(world, f"/plans/{plan.id}", "fi")
    assert again == expected and n == 2, n  # the summary is kept: the token and the plan
    assert _count(world, f"/plans/{queued.id}", "fi")[1] == expected_queued
    r = world.client.get("/plans/999999", headers=world.headers("fi"))
    assert r.status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_plan_schema_is_still_documented(world):
    spec = world.client.get("/openapi.json").json()
    ok = spec["paths"]["/plans/{plan_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PlanPublic"}
