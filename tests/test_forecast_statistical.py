"""One series forecast without a competition (``select=False``, the fast mode): the mean of ETS,
theta and seasonal naive for regular series, Croston SBA for intermittent ones, (seasonal) naive
for short ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.engine import ForecastOptions, SeriesUnit, forecast_unit
from forecasting.statistical import classify


def _weekly(y, start="2024-01-01"):
    return pd.DataFrame({"ds": pd.date_range(start, periods=len(y), freq="W-MON"), "y": np.asarray(y, float)})


def forecast_series(history: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """The engine's one-method forecast of one series, with its method as a column."""
    result = forecast_unit(SeriesUnit("s", history), ForecastOptions(horizon=horizon, freq=freq, select=False))
    return result.forecast.assign(method=result.method, series_class=result.series_class)


def test_classification_follows_syntetos_boylan():
    assert classify(np.full(60, 10.0), min_history=26).kind == "smooth"
    sparse = np.zeros(60)
    sparse[::4] = 5
    assert classify(sparse, min_history=26).kind == "intermittent"  # ADI 4, constant size
    assert classify(np.ones(8), min_history=26).kind == "short"


def test_regular_forecast_is_nonnegative_with_ordered_quantiles():
    rng = np.random.default_rng(0)
    t = np.arange(120)
    y = 50 + 20 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 3, 120)
    fc = forecast_series(_weekly(y), horizon=8, freq="W")
    assert len(fc) == 8 and (fc["method"] == "combo_fast").all()
    assert (fc[["p10", "p50", "p90"]] >= 0).all().all()
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all()
    # the seasonal shape continues: within the 80% band of the true curve most of the time
    truth = 50 + 20 * np.sin(2 * np.pi * np.arange(120, 128) / 52)
    assert np.mean((fc["p10"] <= truth + 5) & (truth - 5 <= fc["p90"])) >= 0.75
    assert fc["ds"].iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=120)


def test_falling_series_is_clipped_at_zero():
    fc = forecast_series(_weekly(np.linspace(100, 2, 60)), horizon=12, freq="W")
    assert (fc[["p10", "p50", "p90"]] >= 0).all().all()
    # ETS and theta run below zero and are clipped there: the mean of the three members is
    # seasonal naive's value / 3, i.e. y[19] / 3 for the 12th week ahead (y[i] = 100 - 98 i / 59)
    assert fc["p50"].iloc[-1] == pytest.approx((100 - 98 * 19 / 59) / 3)


def test_intermittent_series_use_croston_sba():
    y = np.zeros(80)
    y[::5] = [3, 6, 2, 8, 4, 5, 7, 3, 6, 2, 5, 4, 6, 3, 5, 4]
    fc = forecast_series(_weekly(y), horizon=4, freq="W")
    assert set(fc["method"]) == {"croston_sba"}
    # Croston's rate: mean size / mean interval, SBA-corrected by (1 - alpha/2) -> around 4.6/5
    assert 0.5 < fc["p50"].iloc[0] < 1.5
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all()


def test_short_series_use_seasonal_or_plain_naive():
    fc = forecast_series(_weekly([5, 7, 6, 8, 7]), horizon=3, freq="W")
    assert set(fc["method"]) == {"naive"}
    assert fc["p50"].tolist() == pytest.approx([7, 7, 7])
