"""Store -> DC -> plant reconciliation: coherence, bottom-up sums, MinT against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.hierarchy import (
    HierarchyError,
    ReconciliationConfig,
    SiteHierarchy,
    aggregate_history,
    coherence_residual,
    reconcile_forecasts,
    summing_matrix,
)
from scenarios.io import load_scenario

MONTHS = pd.date_range("2027-01-01", periods=3, freq="MS")


@pytest.fixture(scope="module")
def small_chain():
    return load_scenario("small_chain")[0]


def store_forecast(scenario, half_width: float = 20.0) -> pd.DataFrame:
    rows = []
    for d in scenario.demand:
        for t, ds in enumerate(MONTHS):
            q = float(d.quantity[t])
            rows.append({"unique_id": f"{d.product}/{d.site}", "ds": ds, "p10": q - half_width, "p50": q, "p90": q + half_width})
    return pd.DataFrame(rows)


def two_child(values: dict[str, list[float]]) -> pd.DataFrame:
    """Bottom forecasts for stores a, b of product x (one value per month)."""
    return pd.DataFrame(
        [
            {"product": "x", "site": s, "ds": MONTHS[t], "p10": v * 0.5, "p50": v, "p90": v * 1.5}
            for s, vs in values.items()
            for t, v in enumerate(vs)
        ]
    )


TINY = SiteHierarchy.from_mapping({"a": "P", "b": "P"})


def p50_of(result, uid: str) -> np.ndarray:
    t = result.table
    return t.loc[t["unique_id"] == uid].sort_values("ds")["p50"].to_numpy()


def test_tree_from_scenario_follows_lanes(small_chain):
    h = SiteHierarchy.from_scenario(small_chain)
    assert h.parents_of("store-north", "widget") == {"dc": 1.0}
    assert h.parents_of("dc", "gadget") == {"plant": 1.0}
    assert h.parents_of("plant", "widget") == {}
    assert h.ancestor_weights("store-south", "widget") == {"dc": 1.0, "plant": 1.0}


def test_bottom_up_equals_sums_and_is_coherent(small_chain):
    f = store_forecast(small_chain)
    r = reconcile_forecasts(f, SiteHierarchy.from_scenario(small_chain))
    assert r.method == "bottom_up"
    assert set(r.table["level"]) == {"total", "plant", "dc", "store"}
    north = np.array(small_chain.demand[0].quantity[:3], float)  # store-north widget
    south = np.array(small_chain.demand[2].quantity[:3], float)  # store-south widget
    np.testing.assert_allclose(p50_of(r, "widget/store-north"), north)
    np.testing.assert_allclose(p50_of(r, "widget/dc"), north + south)
    np.testing.assert_allclose(p50_of(r, "widget/plant"), north + south)
    np.testing.assert_allclose(p50_of(r, "widget"), north + south)
    assert coherence_residual(r.table, r.S) == pytest.approx(0.0, abs=1e-9)


def test_coherence_residual_detects_incoherence(small_chain):
    r = reconcile_forecasts(store_forecast(small_chain), SiteHierarchy.from_scenario(small_chain))
    broken = r.table.copy()
    broken.loc[broken["unique_id"] == "gadget/dc", "p50"] += 7.0
    assert coherence_residual(broken, r.S) == pytest.approx(7.0)


def test_mint_wls_struct_two_children_by_hand():
    # S over (P, a, b) = [[1,1],[1,0],[0,1]], W = diag(S 1) = diag(2,1,1), y^ = (10, 3, 5).
    # S'W^-1S = [[1.5,.5],[.5,1.5]], S'W^-1 y^ = [10/2+3, 10/2+5] = [8, 10]
    # b~ = 1/2 [[1.5,-.5],[-.5,1.5]] [8, 10] = [3.5, 5.5]; P~ = 9.
    bottom = two_child({"a": [3, 3, 3], "b": [5, 5, 5]})
    upper = pd.DataFrame({"unique_id": "x/P", "ds": MONTHS, "p50": 10.0})
    r = reconcile_forecasts(bottom, TINY, upper=upper)
    assert r.method == "mint_wls_struct"
    np.testing.assert_allclose(p50_of(r, "x/a"), 3.5)
    np.testing.assert_allclose(p50_of(r, "x/b"), 5.5)
    np.testing.assert_allclose(p50_of(r, "x/P"), 9.0)
    np.testing.assert_allclose(p50_of(r, "x"), 9.0)
    assert coherence_residual(r.table, r.S) == pytest.approx(0.0, abs=1e-9)


def test_mint_ols_two_children_by_hand():
    # W = I: S'S = [[2,1],[1,2]], S'y^ = [13, 15], b~ = 1/3 [[2,-1],[-1,2]] [13, 15] = [11/3, 17/3]
    bottom = two_child({"a": [3, 3, 3], "b": [5, 5, 5]})
    upper = pd.DataFrame({"unique_id": "x/P", "ds": MONTHS, "p50": 10.0})
    r = reconcile_forecasts(bottom, TINY, upper=upper, config=ReconciliationConfig(method="mint_ols"))
    np.testing.assert_allclose(p50_of(r, "x/a"), 11 / 3)
    np.testing.assert_allclose(p50_of(r, "x/b"), 17 / 3)
    np.testing.assert_allclose(p50_of(r, "x/P"), 28 / 3)


def test_mint_matches_closed_form_on_scenario_hierarchy(small_chain):
    """Library MinT equals S (S'W^-1S)^-1 S'W^-1 y^ computed here with numpy, using only the
    nodes that have base forecasts (DC and total given, plant not)."""
    rng = np.random.default_rng(3)
    f = store_forecast(small_chain)
    h = SiteHierarchy.from_scenario(small_chain)
    S, _ = summing_matrix([(d.product, d.site) for d in small_chain.demand], h)
    upper_ids = ["gadget", "widget", "gadget/dc", "widget/dc"]
    base_sums = reconcile_forecasts(f, h).table.set_index(["unique_id", "ds"])["p50"]
    upper = pd.DataFrame(
        [{"unique_id": u, "ds": ds, "p50": base_sums[(u, ds)] * rng.uniform(0.8, 1.3)} for u in upper_ids for ds in MONTHS]
    )
    r = reconcile_forecasts(f, h, upper=upper)
    S_sub = S.loc[upper_ids + list(S.columns)].to_numpy()
    W_inv = np.diag(1.0 / S_sub.sum(axis=1))
    for ds in MONTHS:
        y_hat = np.concatenate(
            [
                upper.set_index(["unique_id", "ds"]).loc[[(u, ds) for u in upper_ids], "p50"].to_numpy(),
                f.assign(ds=pd.to_datetime(f["ds"])).set_index(["unique_id", "ds"]).loc[[(b, ds) for b in S.columns], "p50"].to_numpy(),
            ]
        )
        b = np.linalg.solve(S_sub.T @ W_inv @ S_sub, S_sub.T @ W_inv @ y_hat)
        expected = S.to_numpy() @ b
        got = r.table[r.table["ds"] == ds].set_index("unique_id").loc[S.index, "p50"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert coherence_residual(r.table, r.S) < 1e-8


def test_non_negative_after_reconciliation():
    # OLS with y^ = (P=0, a=0, b=10): b~ = 1/3 [[2,-1],[-1,2]] [0, 10] = [-10/3, 20/3] -> a clipped to 0
    bottom = two_child({"a": [0, 0, 0], "b": [10, 10, 10]})
    upper = pd.DataFrame({"unique_id": "x/P", "ds": MONTHS, "p50": 0.0})
    r = reconcile_forecasts(bottom, TINY, upper=upper, config=ReconciliationConfig(method="mint_ols"))
    assert (r.table[["p10", "p50", "p90"]] >= 0).all().all()
    np.testing.assert_allclose(p50_of(r, "x/a"), 0.0)
    np.testing.assert_allclose(p50_of(r, "x/b"), 20 / 3)
    np.testing.assert_allclose(p50_of(r, "x/P"), 20 / 3)
    assert coherence_residual(r.table, r.S) == pytest.approx(0.0, abs=1e-12)
    assert any("clipped" in n for n in r.notes)


@pytest.mark.parametrize(("intervals", "lo", "hi"), [("independent", math.hypot(1.5, 2.5), math.hypot(1.5, 2.5)), ("comonotonic", 4.0, 4.0)])
def test_aggregate_quantiles(intervals, lo, hi):
    # a: p50 3, half-widths 1.5; b: p50 5, half-widths 2.5
    r = reconcile_forecasts(two_child({"a": [3, 3, 3], "b": [5, 5, 5]}), TINY, config=ReconciliationConfig(intervals=intervals))
    row = r.table[r.table["unique_id"] == "x/P"].iloc[0]
    assert row["p50"] == pytest.approx(8.0)
    assert row["p10"] == pytest.approx(8.0 - lo)
    assert row["p90"] == pytest.approx(8.0 + hi)
    a = r.table[r.table["unique_id"] == "x/a"].iloc[0]
    assert (a["p10"], a["p90"]) == pytest.approx((1.5, 4.5))


def test_split_sources_share_by_capacity_and_stay_coherent():
    scenario = load_scenario("medium_chain")[0]
    data = scenario.model_dump()
    for lane in data["lanes"]:
        if lane["origin"] == "plant00" and lane["destination"] == "dc00":
            lane["capacity"] = 3000.0
        if lane["origin"] == "plant01" and lane["destination"] == "dc00":
            lane["capacity"] = 1000.0
    scenario = type(scenario).model_validate(data)
    h = SiteHierarchy.from_scenario(scenario, multi_source="split")
    assert h.parents_of("dc00", "p000") == pytest.approx({"plant00": 0.75, "plant01": 0.25})
    first = SiteHierarchy.from_scenario(scenario)
    assert first.parents_of("dc00", "p000") == {"plant00": 1.0}
    assert any("first lane" in n for n in first.notes)

    weeks = pd.date_range("2027-01-04", periods=4, freq="W-MON")
    hist = pd.DataFrame(
        [{"product": d.product, "site": d.site, "ds": ds, "y": 10.0 + k + t} for k, d in enumerate(scenario.demand) for t, ds in enumerate(weeks)]
    )
    agg = aggregate_history(hist, h).set_index(["unique_id", "ds"])["y"]
    for ds in weeks:
        plants = agg[("p000/plant00", ds)] + agg[("p000/plant01", ds)]
        assert plants == pytest.approx(agg[("p000", ds)])
        assert agg[("p000/plant00", ds)] == pytest.approx(0.75 * agg[("p000/dc00", ds)] + 0.5 * agg[("p000/dc01", ds)])


def test_aggregate_history_sums_children(small_chain):
    hist = store_forecast(small_chain).rename(columns={"p50": "y"})[["unique_id", "ds", "y"]]
    agg = aggregate_history(hist, SiteHierarchy.from_scenario(small_chain))
    dc = agg[(agg["unique_id"] == "gadget/dc")].sort_values("ds")["y"].to_numpy()
    expected = np.array(small_chain.demand[1].quantity[:3]) + np.array(small_chain.demand[3].quantity[:3])
    np.testing.assert_allclose(dc, expected)


def test_bad_input_is_refused(small_chain):
    h = SiteHierarchy.from_scenario(small_chain)
    f = store_forecast(small_chain)
    with pytest.raises(HierarchyError, match="more than one row"):
        reconcile_forecasts(pd.concat([f, f.iloc[:1]]), h)
    with pytest.raises(HierarchyError, match="parts"):
        reconcile_forecasts(f.assign(unique_id="widget"), h)
    with pytest.raises(HierarchyError, match="not aggregate nodes"):
        reconcile_forecasts(f, h, upper=pd.DataFrame({"unique_id": ["widget/nowhere"], "ds": [MONTHS[0]], "p50": [1.0]}))
    with pytest.raises(HierarchyError, match="no p50"):
        reconcile_forecasts(f, h, upper=pd.DataFrame({"unique_id": ["widget/dc"], "ds": [MONTHS[0]], "p50": [1.0]}))
    with pytest.raises(HierarchyError, match="cycle"):
        SiteHierarchy.from_mapping({"a": "b", "b": "a"})
    with pytest.raises(HierarchyError, match="own demand"):
        reconcile_forecasts(two_child({"a": [1, 1, 1], "P": [2, 2, 2]}), TINY)
