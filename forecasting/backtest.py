"""Rolling-origin backtest of the candidate forecasters on one series, and model selection.

Windows (:func:`plan_windows`), for a series of n observations, forecast horizon H, W windows and
season m (12 monthly, 52 weekly):

- every window trains on at least ``min_train = min(2m, n // 2)`` observations: two seasons,
  so yearly seasonality is fitted in the windows as in the final model, but never more than half
  of a short history;
- test horizon ``h = min(H, n - min_train - (W - 1))``: the full forecast horizon when the history
  leaves room for it (long horizons are where models differ most), else as long as W origins
  one period apart allow; W shrinks when fewer than W periods are left;
- consecutive origins are ``step = min(m, h, (n - min_train - h) // (W - 1))`` periods apart
  (one season, or back to back when h is shorter), the last window ending with the history.
  Training lengths (``cutoffs``) are ``n - h - (W - 1 - k) * step`` for k = 0 .. W-1.

Metrics per window, with actuals a, forecast P50 f over the h test periods and training part y:

- MASE = mean|a - f| / scale, scale = mean|y[t] - y[t - m]| over the training part (the in-sample
  seasonal-naive MAE), with m = 1 (naive) when the training part is not longer than a season;
  when that scale is 0 (a flat or exactly periodic history) the mean |y| is used, and 1 when the
  history is all zero. The scale is the same for every model in a window, so ranks are unaffected.
- WAPE = sum|a - f| / sum|a|, bias = sum(f - a) / sum(a) (positive: over-forecast); both are
  undefined (NaN) when the actuals sum to zero.

A model's score is the mean over windows (NaN windows skipped for WAPE and bias). A model that
failed in any window has no MASE and cannot be selected. :func:`rank_models` orders by
mean MASE; ties (within 1e-9 relative) go to the simpler model (registry order in models.py).
Seasonal naive is always scored: it is the baseline every report compares against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.models import (
    BEST_PROPHET,
    COMBINATIONS,
    PROPHET_CONFIGS,
    SIMPLICITY,
    FitClock,
    members_of,
    window_forecasts,
)
from forecasting.statistical import SEASON

BASELINE = "seasonal_naive"
DEFAULT_WINDOWS = 3


def _scale(train: np.ndarray, season: int) -> float:
    train = np.asarray(train, dtype=float)
    lag = season if len(train) > season else 1
    if len(train) > lag:
        scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
        if scale > 0:
            return scale
    level = float(np.mean(np.abs(train))) if len(train) else 0.0
    return level if level > 0 else 1.0


def mase(actual, forecast, train, season: int) -> float:
    """Mean absolute error of ``forecast`` on ``actual`` divided by the in-sample MAE of the
    seasonal-naive forecast on ``train`` (naive when ``train`` is not longer than a season;
    fallbacks for a zero scale in the module doc)."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    if actual.shape != forecast.shape:
        raise ValueError(f"actual and forecast differ in length: {actual.shape} vs {forecast.shape}")
    return float(np.mean(np.abs(actual - forecast)) / _scale(train, season))


def wape(actual, forecast) -> float:
    """sum|actual - forecast| / sum|actual|; NaN when the actuals are all zero."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denom = float(np.sum(np.abs(actual)))
    return float(np.sum(np.abs(actual - forecast)) / denom) if denom > 0 else float("nan")


def bias(actual, forecast) -> float:
    """sum(forecast - actual) / sum(actual): +0.1 means 10 % over-forecast; NaN when the
    actuals sum to zero."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denom = float(np.sum(actual))
    return float(np.sum(forecast - actual) / denom) if denom != 0 else float("nan")


@dataclass(frozen=True)
class WindowPlan:
    cutoffs: tuple[int, ...]  # training length of each window, ascending
    test_horizon: int  # periods scored after each origin
    step: int  # periods between consecutive origins


def plan_windows(n_obs: int, horizon: int, freq: str, n_windows: int = DEFAULT_WINDOWS) -> WindowPlan | None:
    """Origins of the rolling backtest (rules in the module doc); None when the series is too
    short for any window (fewer than 8 observations)."""
    if freq not in SEASON:
        raise ValueError(f"freq must be W or M, got {freq!r}")
    if horizon < 1 or n_windows < 1:
        raise ValueError(f"horizon and n_windows must be at least 1, got {horizon} and {n_windows}")
    season = SEASON[freq]
    min_train = min(2 * season, n_obs // 2)
    if min_train < 4:
        return None
    available = n_obs - min_train
    windows = min(n_windows, available)
    h = min(horizon, available - (windows - 1))
    step = min(season, h, (available - h) // (windows - 1)) if windows > 1 else h
    cutoffs = tuple(n_obs - h - (windows - 1 - k) * step for k in range(windows))
    return WindowPlan(cutoffs, h, step)


@dataclass
class SeriesBacktest:
    """``metrics``: one row per model (model, mase, wape, bias, n_windows, test_horizon,
    members); ``windows``: one row per model and window; ``best_prophet``: the Prophet
    configuration with the lowest MASE (the Prophet member of combo_all); ``specs``: the ARIMA
    and ETS forms searched on the first window (with ``reuse``), for the final fit."""

    metrics: pd.DataFrame
    windows: pd.DataFrame
    plan: WindowPlan
    best_prophet: str | None
    specs: dict[str, dict] | None = None
    preds: dict[str, np.ndarray] | None = None  # P50 per model: (windows, test_horizon)


def _best_of(metrics: dict[str, float], names: list[str]) -> str | None:
    scored = [(metrics[n], SIMPLICITY[n], n) for n in names if n in metrics and np.isfinite(metrics[n])]
    return min(scored)[2] if scored else None


def backtest_series(
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    candidates: list[str],
    *,
    n_windows: int = DEFAULT_WINDOWS,
    country: str | None = None,
    regressors: list[str] | None = None,
    clock: FitClock | None = None,
    reuse: bool = False,
) -> SeriesBacktest | None:
    """Score ``candidates`` (plus the seasonal-naive baseline) on rolling origins of ``history``
    (ds, y sorted). Base models are fitted once per window and shared by the combinations.
    ``reuse``: AutoARIMA's orders and AutoETS's form are searched on the first window only and
    refitted in the later ones (their forms are returned for the final fit).
    None when the series is too short for a backtest."""
    plan = plan_windows(len(history), horizon, freq, n_windows)
    if plan is None:
        return None
    season = SEASON[freq]
    names = list(dict.fromkeys([*candidates, BASELINE]))
    combos = [n for n in names if n in COMBINATIONS]
    needed = [n for n in names if n not in COMBINATIONS]
    for c in combos:
        members = COMBINATIONS[c]
        if BEST_PROPHET in members:
            prophets = [p for p in names if p in PROPHET_CONFIGS] or ["prophet"]
            needed += [p for p in prophets if p not in needed]
        needed += [m for m in members if m != BEST_PROPHET and m not in needed]
    y = history["y"].to_numpy(dtype=float)
    h, cutoffs = plan.test_horizon, list(plan.cutoffs)
    specs: dict[str, dict] | None = {} if reuse else None
    preds = window_forecasts(
        needed, history, freq, cutoffs, h, country=country, regressors=regressors, clock=clock, specs=specs
    )

    def score(pred: np.ndarray) -> list[tuple[float, float, float]]:
        rows = []
        for i, cut in enumerate(cutoffs):
            actual, f = y[cut : cut + h], pred[i]
            if not np.isfinite(f).all():
                rows.append((np.nan, np.nan, np.nan))
            else:
                rows.append((mase(actual, f, y[:cut], season), wape(actual, f), bias(actual, f)))
        return rows

    scores = {n: score(p) for n, p in preds.items()}
    mean_mase = {n: float(np.mean([r[0] for r in s])) for n, s in scores.items()}
    best_prophet = _best_of(mean_mase, [p for p in PROPHET_CONFIGS if p in preds])
    members_used: dict[str, str] = {}
    for c in combos:
        members = members_of(c, best_prophet or "prophet")
        stacked = np.mean([preds[m] for m in members], axis=0)  # NaN if any member failed
        preds[c] = stacked
        scores[c] = score(stacked)
        members_used[c] = "+".join(members)

    window_rows, metric_rows = [], []
    for n in names:
        s = scores[n]
        for i, (m, w, b) in enumerate(s):
            window_rows.append({"model": n, "window": i, "cutoff": history["ds"].iloc[cutoffs[i] - 1],
                                "mase": m, "wape": w, "bias": b})
        ok = [r for r in s if np.isfinite(r[0])]
        failed = len(ok) < len(s)
        metric_rows.append({
            "model": n,
            "mase": np.nan if failed else float(np.mean([r[0] for r in s])),
            "wape": _nanmean([r[1] for r in ok]),
            "bias": _nanmean([r[2] for r in ok]),
            "n_windows": len(ok),
            "test_horizon": h,
            "members": members_used.get(n, ""),
        })
    return SeriesBacktest(pd.DataFrame(metric_rows), pd.DataFrame(window_rows), plan, best_prophet, specs, preds)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def rank_models(metrics: pd.DataFrame, *, rtol: float = 1e-9) -> list[str]:
    """Models with a MASE, best first: lowest mean MASE, then (within ``rtol``) the simpler."""
    rows = metrics[np.isfinite(metrics["mase"].to_numpy(dtype=float))]
    if rows.empty:
        return []
    best = float(rows["mase"].min())
    # bucket near-equal scores so that float noise never beats simplicity
    tol = rtol * max(abs(best), 1e-12)
    ordered = sorted(
        rows[["model", "mase"]].itertuples(index=False),
        key=lambda r: (r.mase if r.mase - best > tol else best, SIMPLICITY.get(r.model, len(SIMPLICITY))),
    )
    return [r.model for r in ordered]

