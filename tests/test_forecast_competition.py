"""Model competition: metrics, rolling-origin windows, candidates and selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import (
    BASELINE,
    backtest_series,
    bias,
    mase,
    plan_windows,
    rank_models,
    wape,
)
from forecasting.models import CANDIDATES, PROPHET_CONFIGS, candidate_set, forecast_models, window_forecasts
from forecasting.statistical import bucket_holidays, classify, prophet_forecast


def _monthly(y, start="2017-01-01"):
    return pd.DataFrame({"ds": pd.date_range(start, periods=len(y), freq="MS"), "y": np.asarray(y, float)})


def _weekly(y, start="2022-01-03"):
    return pd.DataFrame({"ds": pd.date_range(start, periods=len(y), freq="W-MON"), "y": np.asarray(y, float)})


# --- metrics, worked by hand -----------------------------------------------------------------


def test_mase_worked_example():
    # season 3; in-sample seasonal-naive errors |11-10|, |13-12|, |15-14| = 1, 1, 1 -> scale 1
    train = [10, 12, 14, 11, 13, 15]
    # forecast errors 1, 1, 0 -> MAE 2/3
    assert mase([12, 14, 16], [11, 15, 16], train, season=3) == pytest.approx(2 / 3)
    # training part not longer than a season -> naive scale: |12-10|, |11-12| = 2, 1 -> 1.5
    assert mase([12], [15], [10, 12, 11], season=12) == pytest.approx(3 / 1.5)
    # a flat history has no seasonal-naive error: the scale falls back to mean |y| = 5
    assert mase([6], [5], [5, 5, 5, 5], season=2) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="length"):
        mase([1, 2], [1], [1, 2, 3], season=1)


def test_wape_and_bias_worked_example():
    actual = [10, 0, 30]
    # |e| = 2 + 1 + 3 = 6 over sum|a| = 40; signed errors +2 +1 -3 cancel
    assert wape(actual, [12, 1, 27]) == pytest.approx(0.15)
    assert bias(actual, [12, 1, 27]) == pytest.approx(0.0)
    assert bias(actual, [12, 1, 33]) == pytest.approx(6 / 40)
    assert np.isnan(wape([0, 0], [1, 0])) and np.isnan(bias([0, 0], [1, 0]))


# --- windows -------------------------------------------------------------------------------


def test_window_plan_rules():
    # 8 years monthly, horizon 24: min_train 24, full horizon, origins one season apart
    p = plan_windows(96, 24, "M", 3)
    assert (p.cutoffs, p.test_horizon, p.step) == ((48, 60, 72), 24, 12)
    # 5 years: the step shrinks so that every window keeps two seasons of training
    p = plan_windows(60, 24, "M", 3)
    assert (p.cutoffs, p.test_horizon, p.step) == ((24, 30, 36), 24, 6)
    # short horizon: windows back to back
    p = plan_windows(156, 12, "W", 3)
    assert (p.cutoffs, p.test_horizon, p.step) == ((120, 132, 144), 12, 12)
    # 20 months: half the data trains, the test horizon shrinks to leave room for 3 origins
    p = plan_windows(20, 24, "M", 3)
    assert (p.cutoffs, p.test_horizon, p.step) == ((10, 11, 12), 8, 1)
    assert plan_windows(7, 3, "M", 2) is None
    for n, h, w in [(96, 24, 3), (40, 6, 2), (13, 24, 5), (300, 52, 4)]:
        p = plan_windows(n, h, "W", w)
        assert p.cutoffs[-1] + p.test_horizon == n and p.cutoffs[0] >= min(104, n // 2)


# --- candidates ----------------------------------------------------------------------------


def test_every_candidate_is_nonnegative_with_ordered_quantiles():
    rng = np.random.default_rng(3)
    t = np.arange(40)
    hist = _monthly(np.maximum(0, 60 - 1.5 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, 40)))
    fcs = forecast_models(list(CANDIDATES), hist, 18, "M")
    expected_ds = pd.date_range("2020-05-01", periods=18, freq="MS")
    for name, fc in fcs.items():
        assert not isinstance(fc, Exception), f"{name}: {fc}"
        assert list(fc.columns) == ["ds", "p10", "p50", "p90"]
        assert (pd.DatetimeIndex(fc["ds"]) == expected_ds).all(), name
        q = fc[["p10", "p50", "p90"]].to_numpy()
        assert (q >= 0).all() and (q[:, 0] <= q[:, 1]).all() and (q[:, 1] <= q[:, 2]).all(), name
    # a falling trend is clipped at zero rather than forecast negative
    assert fcs["prophet"]["p50"].iloc[-1] == 0


def test_combination_is_the_mean_of_its_members_quantiles():
    rng = np.random.default_rng(5)
    hist = _monthly(100 + 10 * np.sin(np.arange(36) * np.pi / 6) + rng.normal(0, 3, 36))
    fcs = forecast_models(["combo_stat", "ets", "arima", "theta"], hist, 6, "M")
    for q in ("p10", "p50", "p90"):
        mean = (fcs["ets"][q] + fcs["arima"][q] + fcs["theta"][q]) / 3
        np.testing.assert_allclose(fcs["combo_stat"][q], mean, rtol=1e-12)
    both = forecast_models(["combo_all"], hist, 6, "M", prophet_config="prophet_log")["combo_all"]
    parts = forecast_models(["prophet_log", "ets", "theta"], hist, 6, "M")
    np.testing.assert_allclose(both["p50"], sum(parts[m]["p50"] for m in parts) / 3, rtol=1e-12)


def test_backtest_windows_forecast_what_the_candidates_forecast():
    """The batched backtest (one cross-validation call, point-only Prophet) must score exactly
    the forecasts forecast_models makes for each candidate alone on the truncated history."""
    rng = np.random.default_rng(11)
    t = np.arange(48)
    hist = _monthly(80 + 0.5 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, 48))
    cutoffs, h = [36, 42], 6
    windows = window_forecasts(["ets", "theta", "seasonal_naive", "prophet_log"], hist, "M", cutoffs, h)
    for i, cut in enumerate(cutoffs):
        for name in ["ets", "theta", "seasonal_naive", "prophet_log"]:
            alone = forecast_models([name], hist.iloc[:cut], h, "M")[name]["p50"].to_numpy()
            np.testing.assert_allclose(windows[name][i], alone, rtol=1e-9, err_msg=f"{name} window {i}")
    # windows shorter than a season: seasonal naive is naive there, fitted window by window
    short = window_forecasts(["seasonal_naive", "theta"], hist.iloc[:13], "M", [10, 11], 2)
    np.testing.assert_allclose(short["seasonal_naive"], [hist["y"].iloc[[9, 9]], hist["y"].iloc[[10, 10]]])
    np.testing.assert_allclose(short["theta"][1], forecast_models(["theta"], hist.iloc[:11], 2, "M")["theta"]["p50"], rtol=1e-9)


def test_reused_forms_are_searched_on_the_first_window_and_refitted_after():
    """With reuse, AutoARIMA/AutoETS search their form on the first window's data only; each
    later window fits that form on its own data (never its test periods); the final forecast
    fits the form on the whole history, as forecast_models with ``specs`` does."""
    from statsforecast.models import AutoARIMA, AutoETS

    from forecasting.models import ARIMA_OPTIONS, _fixed_model, approximates, model_spec

    rng = np.random.default_rng(5)
    t = np.arange(72)
    hist = _monthly(100 + 0.8 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, 72))
    y = hist["y"].to_numpy()
    cutoffs, h = [48, 54, 60], 12
    specs: dict = {}
    windows = window_forecasts(["arima", "ets", "theta"], hist, "M", cutoffs, h, specs=specs)
    searched = {"arima": AutoARIMA(season_length=12, **{**ARIMA_OPTIONS, "approximation": approximates(48)}).fit(y[:48]),
                "ets": AutoETS(season_length=12).fit(y[:48])}
    for name, fitted in searched.items():
        assert specs[name] == model_spec(name, fitted)
        np.testing.assert_allclose(windows[name][0], np.clip(fitted.predict(h)["mean"], 0, None), rtol=1e-9)
        for i, cut in enumerate(cutoffs[1:], 1):
            refit = _fixed_model(name, specs[name], 12).fit(y[:cut]).predict(h)["mean"]
            np.testing.assert_allclose(windows[name][i], np.clip(refit, 0, None), rtol=1e-9, err_msg=f"{name} {i}")
        final = forecast_models([name], hist, h, "M", specs=specs)[name]["p50"].to_numpy()
        np.testing.assert_allclose(final, np.clip(_fixed_model(name, specs[name], 12).fit(y).predict(h)["mean"], 0, None), rtol=1e-9)
    assert "theta" not in specs  # theta has no form to search: cross-validated as before
    np.testing.assert_allclose(windows["theta"], window_forecasts(["theta"], hist, "M", cutoffs, h)["theta"], rtol=1e-12)


def test_the_lean_order_search_approximates_above_its_window_length(monkeypatch):
    """The lean competition's one ARIMA order search (first backtest window) is Hyndman &
    Khandakar's approximation (candidates scored by conditional sums of squares, the chosen
    order refitted by maximum likelihood) when that window is longer than
    ``ARIMA_APPROXIMATE_ABOVE`` (0 by default: always), the exact search otherwise. On this
    series the two searches choose different orders, so the test tells them apart."""
    from statsforecast.models import AutoARIMA

    from forecasting import models
    from forecasting.models import ARIMA_OPTIONS, model_spec

    rng = np.random.default_rng(0)
    t = np.arange(184)
    hist = _monthly(100 + 0.5 * t + 20 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 3, 184)))
    y = hist["y"].to_numpy()
    cutoffs, h = [160, 166, 172], 12
    approx = model_spec("arima", AutoARIMA(season_length=12, **{**ARIMA_OPTIONS, "approximation": True}).fit(y[:160]))
    exact = model_spec("arima", AutoARIMA(season_length=12, **ARIMA_OPTIONS).fit(y[:160]))
    assert approx != exact

    def searched_form() -> dict:
        specs: dict = {}
        window_forecasts(["arima"], hist, "M", cutoffs, h, specs=specs)
        return specs["arima"]

    assert models.ARIMA_APPROXIMATE_ABOVE == 0
    assert searched_form() == approx
    monkeypatch.setattr(models, "ARIMA_APPROXIMATE_ABOVE", 160)  # the window is not longer than 160
    assert searched_form() == exact
    monkeypatch.setattr(models, "ARIMA_APPROXIMATE_ABOVE", 159)
    assert searched_form() == approx
    monkeypatch.setattr(models, "ARIMA_APPROXIMATE_ABOVE", None)
    assert searched_form() == exact


def test_prophet_quantiles_are_reproducible_and_leave_numpy_state_alone():
    rng = np.random.default_rng(2)
    hist = _monthly(50 + rng.normal(0, 5, 30))
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    a = forecast_models(["prophet"], hist, 4, "M")["prophet"]
    after = np.random.random()
    b = forecast_models(["prophet"], hist, 4, "M")["prophet"]
    pd.testing.assert_frame_equal(a, b)
    assert before == after  # the seeded simulation put the global RNG back
    assert (a["p90"] > a["p10"]).all()  # an interval, not a point


def test_prophet_log_maps_quantiles_back_with_expm1():
    rng = np.random.default_rng(8)
    hist = _monthly(np.exp(3 + 0.02 * np.arange(30) + rng.normal(0, 0.1, 30)))
    logged = hist.assign(y=np.log1p(hist["y"]))
    seed = 77
    direct = prophet_forecast(hist, 5, "M", transform="log1p", seed=seed)
    manual = prophet_forecast(logged, 5, "M", seed=seed)
    for q in ("p10", "p50", "p90"):
        np.testing.assert_allclose(direct[q], np.expm1(manual[q]), rtol=1e-9)


def test_holidays_are_moved_to_their_bucket():
    weekly = bucket_holidays("US", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), "W")
    christmas = weekly[weekly["holiday"] == "Christmas Day"]["ds"].tolist()
    assert christmas == [pd.Timestamp("2024-12-23")]  # Wed 25 Dec -> Monday 23 Dec
    monthly = bucket_holidays("US", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), "M")
    assert (monthly["ds"].dt.day == 1).all()
    with pytest.raises(ValueError, match="country"):
        bucket_holidays("XX", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"), "M")


def test_candidate_sets_follow_the_series_class():
    assert "prophet_log" in candidate_set("smooth") and "combo_all" in candidate_set("erratic")
    assert set(PROPHET_CONFIGS) <= set(candidate_set("smooth", lean=False))
    assert set(candidate_set("lumpy")) == {"seasonal_naive", "croston_sba", "tsb", "adida", "imapa"}
    assert candidate_set("short") == ["naive", "seasonal_naive"]
    with pytest.raises(ValueError, match="series class"):
        candidate_set("weird")
    with pytest.raises(ValueError, match="unknown candidate"):
        forecast_models(["lstm"], _monthly(np.ones(12)), 2, "M")
    with pytest.raises(ValueError, match="freq"):
        forecast_models(["naive"], _monthly(np.ones(12)), 2, "D")


# --- selection -----------------------------------------------------------------------------


def test_ties_go_to_the_simpler_model_and_failures_cannot_win():
    table = pd.DataFrame({"model": ["prophet", "combo_all", "theta", "arima"],
                          "mase": [0.5, np.nan, 0.5 * (1 + 1e-12), 0.7]})
    assert rank_models(table) == ["theta", "prophet", "arima"]
    assert rank_models(pd.DataFrame({"model": ["ets"], "mase": [np.nan]})) == []


def test_exactly_periodic_series_selects_seasonal_naive():
    pattern = [5, 9, 14, 20, 26, 30, 31, 27, 21, 15, 9, 6]
    hist = _monthly(np.tile(pattern, 5))
    bt = backtest_series(hist, 12, "M", candidate_set("smooth"), n_windows=2)
    metrics = bt.metrics.set_index("model")
    assert metrics.loc[BASELINE, "mase"] == 0
    assert rank_models(bt.metrics)[0] == BASELINE


def test_seasonal_series_selects_a_model_that_carries_the_season():
    rng = np.random.default_rng(21)
    t = np.arange(84)
    season = 25 * np.sin(2 * np.pi * t / 12)
    hist = _monthly(200 + 0.8 * t + season + rng.normal(0, 4, 84))
    cls = classify(hist["y"].to_numpy(), min_history=10).kind
    assert cls == "smooth"
    bt = backtest_series(hist, 12, "M", candidate_set(cls), n_windows=3)
    best = rank_models(bt.metrics)[0]
    metrics = bt.metrics.set_index("model")
    assert metrics.loc[best, "mase"] <= metrics.loc[BASELINE, "mase"]
    assert metrics.loc[best, "mase"] < 1.0  # beats even in-sample seasonal naive
    fc = forecast_models([best], hist, 12, "M", prophet_config=bt.best_prophet)[best]
    future_season = 25 * np.sin(2 * np.pi * np.arange(84, 96) / 12)
    assert np.corrcoef(fc["p50"], future_season)[0, 1] > 0.9
    assert set(bt.windows["window"]) == {0, 1, 2} and (bt.metrics["n_windows"] == 3).all()


def test_intermittent_series_selects_a_croston_type_model():
    rng = np.random.default_rng(4)
    y = np.where(rng.random(120) < 0.25, rng.poisson(4, 120) + 1, 0)
    hist = _weekly(y)
    cls = classify(y, min_history=26).kind
    assert cls in ("intermittent", "lumpy")
    bt = backtest_series(hist, 12, "W", candidate_set(cls), n_windows=3)
    best = rank_models(bt.metrics)[0]
    assert best in {"croston_sba", "tsb", "adida", "imapa"}
    metrics = bt.metrics.set_index("model")
    assert metrics.loc[best, "mase"] < metrics.loc[BASELINE, "mase"]


def test_selection_never_loses_to_the_baseline_on_the_backtest():
    rng = np.random.default_rng(9)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        t = np.arange(40)
        hist = _monthly(np.maximum(0, 50 + rng.normal(0, 1) * t + rng.normal(0, 10, 40)))
        bt = backtest_series(hist, 6, "M", candidate_set("erratic"), n_windows=2)
        metrics = bt.metrics.set_index("model")
        assert metrics.loc[rank_models(bt.metrics)[0], "mase"] <= metrics.loc[BASELINE, "mase"]
        assert BASELINE in metrics.index
