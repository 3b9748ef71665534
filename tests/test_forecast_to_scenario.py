"""A forecast fills a scenario's demand and safety stock; the plan then solves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.hierarchy import SiteHierarchy, reconcile_forecasts
from forecasting.to_scenario import ForecastCoverageError, apply_forecast_to_scenario, safety_stock
from planning.plan import plan_scenario
from scenarios.io import load_scenario
from scenarios.schema import Scenario

HALF_WIDTH = 20.0  # p90 - p50 = p50 - p10 in the synthetic forecast
Z95 = 1.6448536269514722  # norm.ppf(0.95), from tables
Z90 = 1.2815515655446004  # norm.ppf(0.90)


@pytest.fixture(scope="module")
def small_chain() -> Scenario:
    return load_scenario("small_chain")[0]


def synthetic_forecast(scenario: Scenario, periods: int = 15, scale: float = 1.1) -> pd.DataFrame:
    """Monthly forecast from 2027-01 for every demand series: demand x scale, +/- HALF_WIDTH,
    keyed by unique_id 'product/site' and a 'date' column as `jointplan forecast` writes it."""
    months = pd.date_range("2027-01-01", periods=periods, freq="MS")
    rows = []
    for d in scenario.demand:
        for t, ds in enumerate(months):
            q = round(d.quantity[t % 12] * scale + 3 * t, 1)
            rows.append({"unique_id": f"{d.product}/{d.site}", "date": ds, "p10": q - HALF_WIDTH, "p50": q, "p90": q + HALF_WIDTH, "method": "test"})
    return pd.DataFrame(rows)


def test_fills_demand_from_p50_and_plan_solves(small_chain):
    f = synthetic_forecast(small_chain)
    extra = pd.DataFrame([{"unique_id": "widget/store-east", "date": pd.Timestamp("2027-01-01"), "p10": 1, "p50": 2, "p90": 3, "method": "test"}])
    scenario, report = apply_forecast_to_scenario(small_chain, pd.concat([f, extra]))
    for d in scenario.demand:
        expected = [round(d0 * 1.1 + 3 * t, 1) for t, d0 in enumerate(next(x for x in small_chain.demand if (x.site, x.product) == (d.site, d.product)).quantity)]
        assert d.quantity == pytest.approx(expected)
    assert report.unmatched_series == ["widget/store-east"]
    assert len(report.demand) == 4 and (report.demand["periods_filled"] == 12).all()
    assert report.demand["total_after"].sum() == pytest.approx(sum(sum(d.quantity) for d in scenario.demand))
    # untouched parts of the scenario stay as they were
    assert scenario.sites == small_chain.sites and scenario.lanes == small_chain.lanes
    plan = plan_scenario(scenario)
    assert plan.status == "optimal"


def test_safety_stock_formula_by_hand():
    # p90 - p10 = 40 -> sigma = 40 / (2 * 1.28155) = 15.60608; z(0.95) = 1.64485; R + L = 2
    ss = safety_stock(np.array([80.0]), np.array([120.0]), service_level=0.95, lead_time=1, review_period=1)
    assert ss[0] == pytest.approx(1.6448536 * 15.6060829 * math.sqrt(2), rel=1e-6)
    assert ss[0] == pytest.approx(36.30247, abs=1e-4)


def test_safety_stock_targets_for_stores_and_dc(small_chain):
    scenario, report = apply_forecast_to_scenario(small_chain, synthetic_forecast(small_chain), safety_stock_service_level=0.95)
    sites = {s.id: {sp.product: sp for sp in s.products} for s in scenario.sites}
    sigma_store = 2 * HALF_WIDTH / (2 * Z90)
    # store-north is fed by lane dc-north (lead time 0): SS = z sigma sqrt(1)
    assert sites["store-north"]["widget"].safety_stock == pytest.approx([Z95 * sigma_store] * 12)
    # store-south by dc-south (lead time 1): SS = z sigma sqrt(2) = 36.302
    assert sites["store-south"]["gadget"].safety_stock == pytest.approx([36.30247] * 12, abs=1e-4)
    # the DC aggregates two stores with independent errors: half-width sqrt(2) * 20; plant-dc lead time 1
    sigma_dc = math.sqrt(2) * 2 * HALF_WIDTH / (2 * Z90)
    assert sites["dc"]["widget"].safety_stock == pytest.approx([Z95 * sigma_dc * math.sqrt(2)] * 12)
    ss = report.safety_stock.set_index(["site", "product"])
    assert ss.loc[("store-north", "widget"), "lead_time"] == 0
    assert ss.loc[("dc", "gadget"), "lead_time"] == 1 and ss.loc[("dc", "gadget"), "level"] == "dc"
    assert ("plant", "widget") not in ss.index
    assert plan_scenario(scenario).status == "optimal"


def test_reconciled_table_and_explicit_lead_time(small_chain):
    f = synthetic_forecast(small_chain, periods=12).rename(columns={"date": "ds"})
    rec = reconcile_forecasts(f, SiteHierarchy.from_scenario(small_chain))
    scenario, report = apply_forecast_to_scenario(
        small_chain, rec.table, safety_stock_service_level=0.95, lead_time=3, safety_stock_levels=("dc",)
    )
    dc = next(s for s in scenario.sites if s.id == "dc")
    widget = next(sp for sp in dc.products if sp.product == "widget")
    assert widget.safety_stock == pytest.approx([Z95 * math.sqrt(2) * 2 * HALF_WIDTH / (2 * Z90) * 2.0] * 12)
    store = next(s for s in scenario.sites if s.id == "store-north")
    assert store.products[0].safety_stock == 150  # stores not requested: unchanged
    assert report.unmatched_series == []
    assert set(report.safety_stock["lead_time_source"]) == {"given"}


def test_periods_subset_keeps_the_rest(small_chain):
    f = synthetic_forecast(small_chain)
    scenario, report = apply_forecast_to_scenario(small_chain, f, periods=range(3, 12), safety_stock_service_level=0.9)
    before = small_chain.demand[0].quantity
    after = scenario.demand[0].quantity
    assert after[:3] == before[:3]
    assert after[3] == pytest.approx(round(before[3] * 1.1 + 9, 1))
    north = next(s for s in scenario.sites if s.id == "store-north").products[0]
    assert north.safety_stock[:3] == [150.0] * 3 and north.safety_stock[3] != 150.0
    assert (report.demand["periods_filled"] == 9).all()


def test_missing_coverage_is_an_error(small_chain):
    f = synthetic_forecast(small_chain)
    short = f[f["date"] < "2027-10-01"]
    with pytest.raises(ForecastCoverageError, match="no p50 for 3 of 12 period.*first 2027-10-01"):
        apply_forecast_to_scenario(small_chain, short)
    no_gadget = f[~f["unique_id"].eq("gadget/store-south")]
    with pytest.raises(ForecastCoverageError, match="store-south.*gadget.*no forecast series"):
        apply_forecast_to_scenario(small_chain, no_gadget)
    late = f.assign(date=f["date"] + pd.DateOffset(months=1))
    with pytest.raises(ForecastCoverageError) as err:
        apply_forecast_to_scenario(small_chain, late)
    assert len(err.value.problems) == 4  # every demand series named, not just the first


def test_bad_options_are_refused(small_chain):
    f = synthetic_forecast(small_chain)
    with pytest.raises(ValueError, match="quantile 'p95'"):
        apply_forecast_to_scenario(small_chain, f, quantile="p95")
    with pytest.raises(ValueError, match="service_level"):
        apply_forecast_to_scenario(small_chain, f, safety_stock_service_level=1.0)
    with pytest.raises(ValueError, match="periods"):
        apply_forecast_to_scenario(small_chain, f, periods=[12])
    with pytest.raises(ValueError, match="p10 and p90"):
        apply_forecast_to_scenario(small_chain, f.drop(columns=["p10"]), safety_stock_service_level=0.95)
    data = small_chain.model_dump()
    data["time"]["start"] = "2027-01-15"
    with pytest.raises(ForecastCoverageError, match="not the first of a month"):
        apply_forecast_to_scenario(Scenario.model_validate(data), f)


def test_p90_fills_a_conservative_scenario(small_chain):
    f = synthetic_forecast(small_chain)
    scenario, report = apply_forecast_to_scenario(small_chain, f, quantile="p90")
    p50, _ = apply_forecast_to_scenario(small_chain, f)
    assert np.allclose(np.array(scenario.demand[1].quantity) - np.array(p50.demand[1].quantity), HALF_WIDTH)
    assert (report.demand["quantile"] == "p90").all()
