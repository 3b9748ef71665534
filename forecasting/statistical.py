"""Statistical forecast of one series: Prophet when the series supports it, a documented fallback
when it is too short or intermittent. Forecasts are never negative and carry P10/P50/P90.

Series classes (Syntetos & Boylan 2005, with their cut-offs ADI 1.32 and CV^2 0.49):

- ``short``: fewer than ``min_history`` observations -> seasonal naive (statsforecast
  ``SeasonalNaive``; its 80 % interval gives P10/P90), or naive when shorter than a season.
- ``intermittent`` / ``lumpy`` (ADI >= 1.32): Croston's method with the Syntetos-Boylan bias
  correction (statsforecast ``CrostonSBA``) for P50; P10/P90 are the empirical 10th/90th
  percentiles of the last ``2 x season`` observations, since Croston gives no interval.
- ``smooth`` / ``erratic``: Prophet, with yearly seasonality when two seasons are available;
  P10/P90 are Prophet's 80 % uncertainty interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
SEASON = {"W": 52, "M": 12}
PANDAS_FREQ = {"W": "W-MON", "M": "MS"}

for _name in ("prophet", "cmdstanpy"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class SeriesClass:
    kind: str  # short | smooth | erratic | intermittent | lumpy
    adi: float  # average demand interval (periods per non-zero demand)
    cv2: float  # squared coefficient of variation of non-zero demand


def classify(y: np.ndarray, *, min_history: int) -> SeriesClass:
    y = np.asarray(y, dtype=float)
    nonzero = y[y > 0]
    adi = len(y) / len(nonzero) if len(nonzero) else float("inf")
    cv2 = float((nonzero.std() / nonzero.mean()) ** 2) if len(nonzero) > 1 else 0.0
    if len(y) < min_history:
        kind = "short"
    elif adi >= ADI_CUTOFF:
        kind = "lumpy" if cv2 >= CV2_CUTOFF else "intermittent"
    else:
        kind = "erratic" if cv2 >= CV2_CUTOFF else "smooth"
    return SeriesClass(kind, adi, cv2)


def _future_dates(last: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(last, periods=horizon + 1, freq=PANDAS_FREQ[freq])[1:]


def prophet_forecast(
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    *,
    country: str | None = None,
    regressors: list[str] | None = None,
    future: pd.DataFrame | None = None,
    seasonality_mode: str = "additive",
    changepoint_prior_scale: float = 0.05,
) -> pd.DataFrame:
    """Prophet on ``ds``/``y`` (+ regressors); returns ds, p10, p50, p90 clipped at zero.
    ``future`` holds the regressors' values for the forecast periods."""
    from prophet import Prophet

    season = SEASON[freq]
    model = Prophet(
        interval_width=0.8,
        yearly_seasonality=len(history) >= 2 * season,
        weekly_seasonality=False,
        daily_seasonality=False,
        seasonality_mode=seasonality_mode,
        changepoint_prior_scale=changepoint_prior_scale,
        uncertainty_samples=300,
    )
    if country:
        model.add_country_holidays(country_name=country)
    for r in regressors or []:
        model.add_regressor(r)
    model.fit(history[["ds", "y", *(regressors or [])]])
    dates = _future_dates(history["ds"].max(), horizon, freq)
    frame = pd.DataFrame({"ds": dates})
    if regressors:
        if future is None or any(r not in future.columns for r in regressors):
            raise ValueError(f"future values are needed for regressors {regressors}")
        frame = frame.merge(future[["ds", *regressors]], on="ds", how="left")
        if frame[regressors].isna().any().any():
            raise ValueError("future regressor values do not cover the forecast horizon")
    pred = model.predict(frame)
    return pd.DataFrame(
        {
            "ds": pred["ds"],
            "p10": pred["yhat_lower"].clip(lower=0).to_numpy(),
            "p50": pred["yhat"].clip(lower=0).to_numpy(),
            "p90": pred["yhat_upper"].clip(lower=0).to_numpy(),
        }
    )


def fallback_forecast(history: pd.DataFrame, horizon: int, freq: str, kind: str) -> tuple[pd.DataFrame, str]:
    """Seasonal naive for short series, Croston SBA for intermittent ones (see module doc)."""
    from statsforecast import StatsForecast
    from statsforecast.models import CrostonSBA, Naive, SeasonalNaive

    season = SEASON[freq]
    y = history["y"].to_numpy(dtype=float)
    frame = pd.DataFrame({"unique_id": "s", "ds": history["ds"], "y": y})
    dates = _future_dates(history["ds"].max(), horizon, freq)
    if kind in ("intermittent", "lumpy"):
        sf = StatsForecast(models=[CrostonSBA()], freq=PANDAS_FREQ[freq])
        p50 = sf.forecast(df=frame, h=horizon)["CrostonSBA"].to_numpy()
        recent = y[-2 * season :]
        p10, p90 = np.percentile(recent, [10, 90])
        out = pd.DataFrame({"ds": dates, "p10": min(p10, p50.min()), "p50": p50, "p90": max(p90, p50.max())})
        method = "croston_sba"
    else:
        if len(y) >= season:
            model, name, method = SeasonalNaive(season_length=season), "SeasonalNaive", "seasonal_naive"
        else:
            model, name, method = Naive(), "Naive", "naive"
        sf = StatsForecast(models=[model], freq=PANDAS_FREQ[freq])
        fc = sf.forecast(df=frame, h=horizon, level=[80])
        out = pd.DataFrame(
            {"ds": dates, "p10": fc[f"{name}-lo-80"].to_numpy(), "p50": fc[name].to_numpy(), "p90": fc[f"{name}-hi-80"].to_numpy()}
        )
    for col in ("p10", "p50", "p90"):
        out[col] = out[col].clip(lower=0).astype(float)
    return out, method


def forecast_series(
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    *,
    min_history: int | None = None,
    country: str | None = None,
    regressors: list[str] | None = None,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast one series (``ds``, ``y`` sorted by ``ds``); the result has ds, p10, p50, p90,
    method and series_class."""
    if freq not in SEASON:
        raise ValueError(f"freq must be W or M, got {freq!r}")
    min_history = min_history if min_history is not None else max(SEASON[freq] // 2, 10)
    cls = classify(history["y"].to_numpy(), min_history=min_history)
    if cls.kind in ("smooth", "erratic"):
        out = prophet_forecast(history, horizon, freq, country=country, regressors=regressors, future=future)
        method = "prophet"
    else:
        out, method = fallback_forecast(history, horizon, freq, cls.kind)
    out["method"] = method
    out["series_class"] = cls.kind
    return out
