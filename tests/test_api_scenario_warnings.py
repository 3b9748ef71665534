"""A scenario stored by the service is the scenario as sent: a plan run from a stored version
carries the same warnings as ``jointplan validate`` on the same file, also those that depend on
a field being left out (the default funding-gap charge applies when ``cash.funding_gap_rate``
is not set). Responses and diffs still show every default."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.db import make_engine
from api.jobs.worker import Worker
from api_world import make_app, scenario_content, seed_users
from jointplan.cli import app
from scenarios.schema import Scenario


def _words(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines on the terminal


def test_plan_from_a_stored_version_warns_as_validate_does(migrated_db_url, tmp_path):
    content = scenario_content()
    content["cash"] = {"mode": "soft"}  # the funding-gap rate left to its default
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    checked = CliRunner().invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    said = _words(checked.output)
    assert "1 warning(s)" in said and "cash.funding_gap_rate: not set, so the default applies" in said

    engine = make_engine(migrated_db_url)
    tokens, _ = seed_users(engine)
    h = {"Authorization": f"Bearer {tokens['pl']}"}
    with TestClient(make_app(migrated_db_url, engine)) as client:
        created = client.post("/scenarios", json={"name": "defaults", "content": content}, headers=h)
        assert created.status_code == 201, created.text
        sid = created.json()["scenario_id"]
        default_rate = Scenario.model_validate(content).cash.funding_gap_rate
        assert created.json()["content"]["cash"]["funding_gap_rate"] == default_rate  # shown with its default
        again = client.post(f"/scenarios/{sid}/versions", json={"content": created.json()["content"]},
                            headers={**h, "If-Match": created.headers["ETag"]})
        assert again.status_code == 201, again.text
        # the default written out is a change of what was sent, not of the scenario
        assert again.json()["fingerprint"] == created.json()["fingerprint"]
        diff = client.get(f"/scenarios/{sid}/diff", params={"from": 1, "to": 2}, headers=h).json()
        assert diff["changes"] == []

        plan = client.post("/plans", json={"scenario_id": sid, "version": 1}, headers=h)
        assert plan.status_code == 202, plan.text
        assert Worker(engine, lease_seconds=60).run(once=True) == 1
        body = client.get(f"/plans/{plan.json()['id']}", headers=h).json()
    engine.dispose()
    assert body["status"] == "done", body
    warnings = [w for w in body["result"]["warnings"] if w["path"] != "warm_start"]
    assert [(w["path"], w["severity"]) for w in warnings] == [("cash.funding_gap_rate", "warning")]
    assert _words(f"warning {warnings[0]['path']}: {warnings[0]['message']}") in said
