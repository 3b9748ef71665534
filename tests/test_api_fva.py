"""GET /fva: forecast value added of the partners' submissions on the shared history, each
partner seeing only its own. Expected figures are recomputed here from the stored rows:
WAPE = sum|forecast - actual| / sum|actual| over the periods with an actual, a statistical and a
partner forecast (Gilliland's FVA: WAPE of the statistical forecast minus the partner's)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import select

from api.models import ForecastRun, ForecastSubmission
from api.tables import actuals_frame

ROUND = datetime(2025, 12, 15, tzinfo=timezone.utc)  # the example submissions' first round
STAT_MADE = datetime(2025, 12, 10, tzinfo=timezone.utc)
STAT_BIAS = 1.25  # the stored statistical forecast: the actual x 1.25, so its WAPE is 0.25


def _backdate_and_add_statistical(world) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Submissions dated to their round, and a statistical run made before it; returns the
    actuals and the partners' rows."""
    with world.session() as s:
        actuals = actuals_frame(s, "M")
        rows = []
        for sub in s.scalars(select(ForecastSubmission)):
            sub.created_at = ROUND
            rows.append(pd.DataFrame.from_records(sub.rows).assign(partner=sub.partner_id))
        partners = pd.concat(rows, ignore_index=True)
        partners["ds"] = pd.to_datetime(partners["ds"])
        stat = actuals[actuals["ds"] >= "2026-01-01"]
        s.add(ForecastRun(status="done", params={}, created_at=STAT_MADE, finished_at=STAT_MADE,
                          forecasts=[{"unique_id": r.unique_id, "ds": r.ds.date().isoformat(), "p10": r.y,
                                      "p50": r.y * STAT_BIAS, "p90": r.y * 2} for r in stat.itertuples()]))
        s.commit()
    return actuals, partners


def _expected(actuals: pd.DataFrame, partners: pd.DataFrame, months: int | None = None) -> dict[str, dict]:
    m = partners.merge(actuals, on=["unique_id", "ds"])
    if months is not None:
        m = m[m["ds"] < pd.Timestamp("2026-01-01") + pd.DateOffset(months=months)]
    out = {}
    for partner, g in m.groupby("partner"):
        wape_p = (g["value"] - g["y"]).abs().sum() / g["y"].abs().sum()
        wape_s = (g["y"] * STAT_BIAS - g["y"]).abs().sum() / g["y"].abs().sum()
        out[partner] = {"n": len(g), "wape_partner": wape_p, "wape_statistical": wape_s, "fva_wape": wape_s - wape_p,
                        "series": g["unique_id"].nunique()}
    return out


def test_fva_before_any_statistical_run_says_why(world):
    r = world.client.get("/fva", headers=world.headers("pl"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by_partner"] == [] and any("statistical" in n for n in body["notes"])


def test_fva_per_partner_matches_a_recomputation_and_partners_see_their_own(world):
    actuals, partners = _backdate_and_add_statistical(world)
    expected = _expected(actuals, partners)
    assert set(expected) == {"shops", "wholesale"}

    staff = world.client.get("/fva", headers=world.headers("fi"))
    assert staff.status_code == 200, staff.text
    got = {row["partner"]: row for row in staff.json()["by_partner"]}
    assert set(got) == set(expected)
    for partner, exp in expected.items():
        assert got[partner]["n"] == exp["n"] and got[partner]["series"] == exp["series"]
        assert got[partner]["wape_statistical"] == pytest.approx(0.25, abs=1e-12)
        for key in ("wape_partner", "fva_wape"):
            assert got[partner][key] == pytest.approx(exp[key], abs=1e-12), (partner, key)
    assert {r["partner"] for r in staff.json()["by_series"]} == {"shops", "wholesale"}

    own = world.client.get("/fva", headers=world.headers("ana")).json()  # a user of partner shops
    assert [r["partner"] for r in own["by_partner"]] == ["shops"]
    assert {r["partner"] for r in own["by_series"]} == {"shops"}
    assert own["by_partner"][0]["fva_wape"] == pytest.approx(expected["shops"]["fva_wape"], abs=1e-12)
    assert not any("wholesale" in n for n in own["notes"])


def test_fva_at_one_lag_scores_only_forecasts_made_that_far_ahead(world):
    actuals, partners = _backdate_and_add_statistical(world)
    # submitted in December 2025: lag 1 is January 2026 only, lag 2 February only
    r = world.client.get("/fva", params={"lag": 1}, headers=world.headers("pl"))
    assert r.status_code == 200, r.text
    got = {row["partner"]: row for row in r.json()["by_partner"]}
    jan = _expected(actuals, partners, months=1)
    assert {p: g["n"] for p, g in got.items()} == {p: e["n"] for p, e in jan.items()}
    for partner, exp in jan.items():
        assert got[partner]["fva_wape"] == pytest.approx(exp["fva_wape"], abs=1e-12)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("params", [{"lag": 0}, {"lag": "x"}, {"freq": "D"}, {"page": 1}])
def test_fva_bad_query_is_422_naming_the_field(world, params):
    r = world.client.get("/fva", params=params, headers=world.headers("pl"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"].startswith("query.")
