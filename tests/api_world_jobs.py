"""Objects of the job routes' kinds for the API test world (tests/api_world.py): a forecast run
and its job, queued through the API as a planner would."""

from __future__ import annotations


def add_objects(w) -> None:
    """Add ``forecast_run`` and ``job`` ids to ``w.ids`` (not partner-owned: own = other)."""
    r = w.client.post("/forecast-runs", json={"horizon": 6, "freq": "M", "fast": True}, headers=w.headers("pl"))
    assert r.status_code == 202, r.text
    run = r.json()
    w.ids["forecast_run"] = {"own": run["id"], "other": run["id"]}
    w.ids["job"] = {"own": run["job"]["id"], "other": run["job"]["id"]}
