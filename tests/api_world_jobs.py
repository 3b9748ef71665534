"""Objects of the job routes' kinds for the API test world (tests/api_world.py): a forecast run
and its job, queued through the API as a planner would, a funding-at-risk run of the plan and a
value-of-integration study of the scenario."""

from __future__ import annotations


def add_objects(w) -> None:
    """Add ``forecast_run``, ``job``, ``at_risk`` and ``study`` ids to ``w.ids`` (not partner-owned:
    own = other)."""
    r = w.client.post("/forecast-runs", json={"horizon": 6, "freq": "M", "fast": True}, headers=w.headers("pl"))
    assert r.status_code == 202, r.text
    run = r.json()
    w.ids["forecast_run"] = {"own": run["id"], "other": run["id"]}
    w.ids["job"] = {"own": run["job"]["id"], "other": run["job"]["id"]}
    if "plan" in w.ids:  # a funding-at-risk run of the done plan, queued as finance would
        r = w.client.post(f"/plans/{w.ids['plan']['own']}/at-risk", json={"scenarios": 10, "cv": 0.2},
                          headers=w.headers("fi"))
        assert r.status_code == 202, r.text
        w.ids["at_risk"] = {"own": r.json()["id"], "other": r.json()["id"]}
    if "scenario" in w.ids:  # a value-of-integration study of the scenario, queued as finance would
        r = w.client.post(f"/scenarios/{w.ids['scenario']['own']}/value-of-integration",
                          json={"limit_share": [0.5, 1.0]}, headers=w.headers("fi"))
        assert r.status_code == 202, r.text
        w.ids["study"] = {"own": r.json()["id"], "other": r.json()["id"]}
