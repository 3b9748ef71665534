"""POST /scenarios/{id}/from-consensus: a consensus version fills the scenario's demand as
a new version (If-Match as for an edit); a consensus that does not cover every demand series and
period is 422 naming the gaps. Values are checked against the consensus rows themselves."""

from __future__ import annotations

import pandas as pd
import pytest

ROUTE = "/scenarios/{sid}/from-consensus"


def _current(world, sid: int) -> tuple[dict, str]:
    r = world.client.get(f"/scenarios/{sid}", headers=world.headers("pl"))
    return r.json(), r.headers["ETag"]


def test_consensus_fills_demand_as_a_new_version(world):
    # the world's scenario plans 2026, the year the partners' submissions (consensus v1) cover
    c, sid = world.client, world.ids["scenario"]["own"]
    before, tag = _current(world, sid)
    cv = c.get("/consensus/1", headers=world.headers("pl")).json()

    missing = c.post(ROUTE.format(sid=sid), json={"consensus_version": 1}, headers=world.headers("pl"))
    assert missing.status_code == 428
    # partners' submissions carry no P10/P90 and the world ran no statistical forecast: no spread
    # to size safety stock from, which is said, not guessed
    no_spread = c.post(ROUTE.format(sid=sid), json={"consensus_version": 1, "service_level": 0.95},
                       headers=world.headers("pl", **{"If-Match": tag}))
    assert no_spread.status_code == 422 and "no p10" in no_spread.text
    r = c.post(ROUTE.format(sid=sid), json={"consensus_version": 1}, headers=world.headers("pl", **{"If-Match": tag}))
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["version"] == before["version"] + 1 and r.headers["ETag"] != tag
    assert "consensus v1" in new["comment"]

    rows = pd.DataFrame.from_records(cv["items"])
    rows["ds"] = pd.to_datetime(rows["ds"])
    periods = pd.date_range("2026-01-01", periods=12, freq="MS")
    for d in new["content"]["demand"]:
        series = rows[rows["unique_id"] == f"{d['product']}/{d['site']}"].set_index("ds")["p50"]
        assert d["quantity"] == pytest.approx(series.reindex(periods).to_list(), rel=1e-9), (d["site"], d["product"])
    old_demand = {(d["site"], d["product"]): d["quantity"] for d in before["content"]["demand"]}
    assert any(old_demand[(d["site"], d["product"])] != d["quantity"] for d in new["content"]["demand"])

    stale = c.post(ROUTE.format(sid=sid), json={"consensus_version": 1}, headers=world.headers("pl", **{"If-Match": tag}))
    assert stale.status_code == 412
    unknown = c.post(ROUTE.format(sid=sid), json={"consensus_version": 999},
                     headers=world.headers("pl", **{"If-Match": r.headers["ETag"]}))
    assert unknown.status_code == 404


def test_consensus_without_the_scenario_periods_is_422_naming_the_gaps(world):
    c, sid = world.client, world.ids["scenario"]["own"]
    current, tag = _current(world, sid)
    content = current["content"]
    content["time"]["start"] = "2028-01-01"  # a year no forecast covers
    moved = c.post(f"/scenarios/{sid}/versions", json={"content": content, "comment": "plan 2028"},
                   headers=world.headers("pl", **{"If-Match": tag}))
    assert moved.status_code == 201, moved.text
    tag = moved.headers["ETag"]
    r = c.post(ROUTE.format(sid=sid), json={"consensus_version": 1}, headers=world.headers("pl", **{"If-Match": tag}))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert all(d["field"] == "body.consensus_version" for d in detail)
    assert any("store-north" in d["msg"] and "2028-01-01" in d["msg"] for d in detail)
    assert _current(world, sid)[1] == tag  # nothing stored


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("body", [{}, {"consensus_version": 0}, {"consensus_version": 1, "quantile": "p75"},
                                  {"consensus_version": 1, "service_level": 1.0}])
def test_bad_request_is_422_naming_the_field(world, body):
    sid = world.ids["scenario"]["own"]
    _, tag = _current(world, sid)
    r = world.client.post(ROUTE.format(sid=sid), json=body, headers=world.headers("pl", **{"If-Match": tag}))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"].startswith("body")
