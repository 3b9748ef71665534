"""Candidate forecasters that compete per series on a rolling-origin backtest (see backtest.py).

Every candidate is forecast by :func:`forecast_models` (``names, history, horizon, freq,
**context``), which gives each a DataFrame with columns ``ds, p10, p50, p90``: never negative,
P10 <= P50 <= P90. ``history`` has ``ds`` (bucket starts, sorted, no gaps) and ``y``;
``context`` may carry ``country``, ``regressors`` and ``future``, which only the Prophet
configurations use (the statsforecast models see ``y`` alone).

Prophet configurations (:func:`forecasting.statistical.prophet_forecast`; yearly seasonality only
with two full seasons of data):

- ``prophet``: Prophet's defaults: additive seasonality, changepoint_prior_scale 0.05.
- ``prophet_mult``: multiplicative seasonality (seasonal swing proportional to the trend).
- ``prophet_flex``: changepoint_prior_scale 0.5, a trend that bends ten times more easily.
- ``prophet_log``: fitted on z = log(1 + y); each quantile q of z is returned as exp(q) - 1.

The lean competition (the default) backtests only :data:`COMPETING_PROPHETS` (prophet_mult and
prophet_log) among these and searches ARIMA's and ETS's forms once per series (see ``arima``).

statsforecast challengers:

- ``naive``: last value. ``seasonal_naive``: value one season ago (naive when the history is
  shorter than one season, so the baseline always exists).
- ``ets``: AutoETS (error/trend/season forms chosen by AICc, season_length 12 or 52).
- ``arima``: AutoARIMA, stepwise, orders limited to p, q <= 2 and P, Q <= 1 (about 3x faster than
  the default limits with the same backtest error on our test series); non-seasonal for weekly
  data, where a period-52 seasonal ARIMA costs ~10 s a series (ETS likewise drops seasonality
  above period 24; theta, Prophet and seasonal naive carry the weekly season). In the lean
  competition the orders (and ETS's form) are searched once, on the first backtest window, and
  refitted, parameters re-estimated by maximum likelihood, in the later windows and for the
  forecast (:func:`_searched_windows`, ``specs``). That one search uses Hyndman & Khandakar's
  approximation (candidates scored by conditional sums of squares, the chosen order refitted
  exactly; :data:`ARIMA_APPROXIMATE_ABOVE`): 0.25 s instead of 1.1 s on a 237-month window,
  and on the validation tails of 150 M3 and 150 Tourism series no measure worse than the exact
  search (``benchmarks/forecast_validation.py --arima-search``). With the search in every fit
  (``lean=False``) the approximation had made Tourism's pooled WAPE 2.9 % worse (November), so
  that path keeps the exact search.
- ``theta``: DynamicOptimizedTheta (Fiorucci et al. 2016; the best theta variant on M3/M4).
- intermittent demand: ``croston_sba`` (Croston with the Syntetos-Boylan correction), ``adida``
  (aggregate-disaggregate), ``imapa`` (multiple aggregation levels), ``tsb`` (Teunter-Syntetos-
  Babai; it updates the demand probability every period, so it follows obsolescence).
  TSB smoothing: alpha_d = 0.1 for the demand size (Croston's classic value) and alpha_p = 0.05
  for the probability: the probability is updated every period while the size is updated only on
  demand, so a smaller alpha_p gives both a memory of roughly the same length when demand
  occurs every second period or so.

Combinations (the members' forecasts are reused, never refitted):

- ``combo_stat`` = mean(ets, arima, theta).
- ``combo_all`` = mean(P, ets, theta) where P is the Prophet configuration with the lowest
  backtest MASE on that series (``prophet`` when there was no backtest).
- ``combo_fast`` = mean(ets, theta, seasonal_naive): the fast mode's forecast for regular series
  (no backtest; not a competition candidate).

Quantile rules:

- Prophet: its 80 % interval (``PROPHET_SAMPLES`` simulated paths) gives P10/P90.
- naive, seasonal naive, ETS, ARIMA, theta: statsforecast's 80 % interval (``level=[80]``).
- Croston family (no model-based interval): P10/P90 = the 10th/90th percentiles of the last two
  seasons of observed demand, widened where needed to contain P50. These methods estimate a
  stationary demand rate, so the recent per-period demand distribution is their forecast
  distribution.
- Combination: each quantile is the mean of the members' same quantile.

All quantiles are clipped at zero and ordered (P10 = min(P10, P50), P90 = max(P90, P50)).
"""

from __future__ import annotations

import resource
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from forecasting.statistical import (
    PANDAS_FREQ,
    SEASON,
    _future_dates,
    prophet_forecast,
    quiet_model_logging,
)

# imported once here (after statistical.py has quieted its logging), not inside the timed fits
import prophet as _prophet_lib  # noqa: E402, F401, I001

QUANTILES = ("p10", "p50", "p90")
PROPHET_SAMPLES = 300  # simulated paths for Prophet's P10/P90 in final forecasts
INTERVAL_LEVEL = 80  # P10..P90
TSB_ALPHA_DEMAND = 0.1
TSB_ALPHA_PROBABILITY = 0.05
# order limits, and no approximation in the order search: see the module doc
ARIMA_OPTIONS = {"max_p": 2, "max_q": 2, "max_P": 1, "max_Q": 1, "approximation": False}
# the lean competition's single order search approximates on windows longer than this (0: every
# search; None: never, the exact search): chosen on the validation tails, see the module doc
ARIMA_APPROXIMATE_ABOVE: int | None = 0
BEST_PROPHET = "<best prophet>"  # placeholder member of combo_all


def approximates(window: int) -> bool:
    """Whether the lean competition's ARIMA order search on ``window`` periods approximates."""
    return ARIMA_APPROXIMATE_ABOVE is not None and window > ARIMA_APPROXIMATE_ABOVE


@dataclass(frozen=True)
class ProphetConfig:
    seasonality_mode: str = "additive"
    changepoint_prior_scale: float = 0.05
    transform: str = "none"


PROPHET_CONFIGS: dict[str, ProphetConfig] = {
    "prophet": ProphetConfig(),
    "prophet_mult": ProphetConfig(seasonality_mode="multiplicative"),
    "prophet_log": ProphetConfig(transform="log1p"),
    "prophet_flex": ProphetConfig(changepoint_prior_scale=0.5),
}
STATS_WITH_INTERVALS = ("naive", "seasonal_naive", "theta", "ets", "arima")
STATS_WITHOUT_INTERVALS = ("croston_sba", "tsb", "adida", "imapa")
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "combo_stat": ("ets", "arima", "theta"),
    "combo_all": (BEST_PROPHET, "ets", "theta"),
    "combo_fast": ("ets", "theta", "seasonal_naive"),
}
# the fast mode's method for regular series (chosen on the validation tails, see default_method)
FAST_REGULAR = "combo_fast"


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished child processes (user + system): Prophet's
    Stan optimiser runs in a child process (cmdstanpy), which ``time.process_time`` misses."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class FitClock:
    """Time spent inside model fit + predict calls: wall seconds by family (``seconds``:
    prophet, statsforecast) and CPU seconds (:func:`cpu_seconds`) by model (``cpu``: the
    candidate's base model name; the wall clock of a loaded machine varies, CPU much less)."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def measure(self, family: str, model: str | None = None):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        try:
            yield
        finally:
            self.seconds[family] = self.seconds.get(family, 0.0) + time.perf_counter() - start
            key = model or family
            self.cpu[key] = self.cpu.get(key, 0.0) + cpu_seconds() - cpu_start

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def _clock(clock: FitClock | None) -> FitClock:
    return clock if clock is not None else FitClock()


def tidy_quantiles(ds: Iterable, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> pd.DataFrame:
    """ds, p10, p50, p90 clipped at zero, with P10 <= P50 <= P90."""
    p50 = np.clip(np.asarray(p50, dtype=float), 0, None)
    p10 = np.minimum(np.clip(np.asarray(p10, dtype=float), 0, None), p50)
    p90 = np.maximum(np.clip(np.asarray(p90, dtype=float), 0, None), p50)
    return pd.DataFrame({"ds": pd.DatetimeIndex(ds), "p10": p10, "p50": p50, "p90": p90})


# --- statsforecast -------------------------------------------------------------------------


def stats_model(name: str, season: int, n_obs: int, approximate: bool = False):
    """The statsforecast model ``name`` for a history of ``n_obs`` periods; ``approximate``: an
    AutoARIMA whose order search scores candidates by conditional sums of squares."""
    # statsforecast (with statsmodels) takes ~3 s to import: a worker that only fits Prophet never does
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoARIMA,
        AutoETS,
        CrostonSBA,
        DynamicOptimizedTheta,
        Naive,
        SeasonalNaive,
    )

    if name == "seasonal_naive":
        return SeasonalNaive(season_length=season, alias=name) if n_obs >= season else Naive(alias=name)
    factories = {
        "naive": lambda: Naive(alias=name),
        "ets": lambda: AutoETS(season_length=season, alias=name),
        # seasonal ARIMA at period 52 takes ~10 s a series here: weekly data get a non-seasonal one
        "arima": lambda: AutoARIMA(season_length=season, seasonal=season <= 24, alias=name,
                                   **{**ARIMA_OPTIONS, "approximation": approximate}),
        "theta": lambda: DynamicOptimizedTheta(season_length=season, alias=name),
        "croston_sba": lambda: CrostonSBA(alias=name),
        "adida": lambda: ADIDA(alias=name),
        "imapa": lambda: IMAPA(alias=name),
        "tsb": lambda: TSB(alpha_d=TSB_ALPHA_DEMAND, alpha_p=TSB_ALPHA_PROBABILITY, alias=name),
    }
    return factories[name]()


SEARCHED = ("arima", "ets")  # forms searched per fit; with reuse, searched once per series


def model_spec(name: str, fitted) -> dict:
    """The form a fitted AutoARIMA / AutoETS chose: ARIMA orders (statsforecast's ``arma``:
    p, q, P, Q, m, d, D) with intercept and drift flags; ETS components (error, trend, season,
    damped: e.g. ``MAdM`` is written ``MAMD``)."""
    if name == "arima":
        coef = fitted.model_["coef"]
        return {"arma": tuple(int(v) for v in fitted.model_["arma"]), "mean": "intercept" in coef, "drift": "drift" in coef}
    if name == "ets":
        return {"components": "".join(str(c) for c in fitted.model_["components"])}
    raise ValueError(f"no fixed form for {name!r}")


def _fixed_model(name: str, spec: dict, season: int):
    """The model of ``spec`` (:func:`model_spec`) with its parameters left to estimate."""
    from statsforecast.models import ARIMA, AutoETS

    if name == "arima":
        p, q, P, Q, m, d, D = spec["arma"]
        return ARIMA(order=(p, d, q), seasonal_order=(P, D, Q), season_length=max(m, 1),
                     include_mean=spec["mean"], include_drift=spec["drift"], alias=name)
    c = spec["components"]
    return AutoETS(season_length=season, model=c[:3], damped=c[3] != "N", alias=name)


def _sf_frame(history: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"unique_id": "s", "ds": pd.DatetimeIndex(history["ds"]), "y": history["y"].to_numpy(dtype=float)}
    )


def _sf_run(models: list, freq: str, call: Callable) -> pd.DataFrame:
    from statsforecast import StatsForecast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(StatsForecast(models=models, freq=PANDAS_FREQ[freq], n_jobs=1))


def _stats_forecasts(
    names: list[str], history: pd.DataFrame, horizon: int, freq: str, clock: FitClock,
    specs: dict[str, dict] | None = None,
) -> dict[str, pd.DataFrame | Exception]:
    """statsforecast models fitted on the full history, one call per model. A model with a form
    in ``specs`` (:func:`model_spec`, found by the backtest) is fitted in that form, its
    parameters re-estimated; if that fit fails, the form is searched again."""
    season, n_obs = SEASON[freq], len(history)
    y = history["y"].to_numpy(dtype=float)
    dates = _future_dates(history["ds"].max(), horizon, freq)
    frame = _sf_frame(history)
    out: dict[str, pd.DataFrame | Exception] = {}

    def run(group: list[str], level: list[int] | None) -> dict[str, pd.DataFrame | Exception]:
        result: dict[str, pd.DataFrame | Exception] = {}
        for n in group:  # one call per model: a failing model fails alone, and each is timed
            fc = None
            if specs and n in specs:
                try:
                    with clock.measure("statsforecast", n):
                        fixed = _fixed_model(n, specs[n], season)
                        fc = _sf_run([fixed], freq, lambda sf: sf.forecast(df=frame, h=horizon, level=level))
                    if not np.isfinite(fc[n].to_numpy(dtype=float)).all():
                        fc = None
                except Exception:  # noqa: BLE001 - search the form again below
                    fc = None
            if fc is None:
                try:
                    with clock.measure("statsforecast", n):
                        fc = _sf_run([stats_model(n, season, n_obs)], freq, lambda sf: sf.forecast(df=frame, h=horizon, level=level))
                except Exception as exc:  # noqa: BLE001 - recorded as this candidate's failure
                    result[n] = exc
                    continue
            p50 = fc[n].to_numpy(dtype=float)
            if level:
                p10, p90 = fc[f"{n}-lo-{level[0]}"].to_numpy(), fc[f"{n}-hi-{level[0]}"].to_numpy()
            else:
                lo, hi = np.percentile(y[-2 * season :], [10, 90])
                p10, p90 = np.minimum(lo, p50), np.maximum(hi, p50)
            if not np.isfinite(p50).all():
                result[n] = ValueError(f"{n}: non-finite forecast")
            else:
                result[n] = tidy_quantiles(dates, p10, p50, p90)
        return result

    with_iv = [n for n in names if n in STATS_WITH_INTERVALS]
    without_iv = [n for n in names if n in STATS_WITHOUT_INTERVALS]
    if with_iv:
        out.update(run(with_iv, [INTERVAL_LEVEL]))
    if without_iv:
        out.update(run(without_iv, None))
    return out


def _searched_windows(
    name: str, history: pd.DataFrame, freq: str, cutoffs: list[int], h: int, clock: FitClock
) -> tuple[np.ndarray, dict | None]:
    """AutoARIMA / AutoETS on rolling origins with the form searched once: on the first (shortest)
    window; the later windows fit that form (:func:`model_spec`), parameters re-estimated on each
    window's own data, so no window sees its test periods. Returns the P50 rows (NaN where a fit
    failed) and the form, or None when the search failed."""
    season, n_obs = SEASON[freq], len(history)
    y = history["y"].to_numpy(dtype=float)
    rows = np.full((len(cutoffs), h), np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with clock.measure("statsforecast", name):
            try:
                searched = stats_model(name, season, n_obs, approximates(cutoffs[0])).fit(y[: cutoffs[0]])
                rows[0] = searched.predict(h)["mean"]
                spec = model_spec(name, searched)
            except Exception:  # noqa: BLE001 - a failed search: the model has no backtest
                return rows, None
            for i, cut in enumerate(cutoffs[1:], 1):
                try:
                    rows[i] = _fixed_model(name, spec, season).fit(y[:cut]).predict(h)["mean"]
                except Exception:  # noqa: BLE001 - this window searched afresh
                    try:
                        rows[i] = stats_model(name, season, n_obs).fit(y[:cut]).predict(h)["mean"]
                    except Exception:  # noqa: BLE001 - scored as a failed window
                        pass
    return rows, spec


def _stats_windows(
    names: list[str], history: pd.DataFrame, freq: str, cutoffs: list[int], h: int, clock: FitClock,
    specs: dict[str, dict] | None = None,
) -> dict[str, np.ndarray]:
    """P50 of statsforecast models for each origin (training length) in ``cutoffs``: one
    ``cross_validation`` call per model when the origins are evenly spaced and the last window
    ends with the history, else one forecast per origin. Failed fits give NaN rows. With a
    ``specs`` dict, AutoARIMA and AutoETS search their form once (:func:`_searched_windows`) and
    the forms found are put in ``specs`` for the final fit."""
    season, n_obs = SEASON[freq], len(history)
    result = {n: np.full((len(cutoffs), h), np.nan) for n in names}
    if specs is not None:
        for n in [n for n in names if n in SEARCHED]:
            result[n], spec = _searched_windows(n, history, freq, cutoffs, h, clock)
            if spec is not None:
                specs[n] = spec
        names_cv = [n for n in names if n not in SEARCHED]
    else:
        names_cv = list(names)
    step = cutoffs[1] - cutoffs[0] if len(cutoffs) > 1 else h
    evenly = cutoffs[-1] + h == n_obs and all(b - a == step for a, b in zip(cutoffs, cutoffs[1:])) and step > 0
    # seasonal naive on a window shorter than a season is naive: done per window
    batch = [n for n in names_cv if not (n == "seasonal_naive" and cutoffs[0] < season)]
    done: set[str] = set()
    if evenly:
        frame = _sf_frame(history)
        for n in batch:  # one call per model, timed by model
            try:
                with clock.measure("statsforecast", n):
                    cv = _sf_run(
                        [stats_model(n, season, n_obs)],
                        freq,
                        lambda sf: sf.cross_validation(df=frame, h=h, n_windows=len(cutoffs), step_size=step, refit=True),
                    )
            except Exception:  # noqa: BLE001 - fall back to one fit per window
                continue
            result[n] = cv.sort_values(["cutoff", "ds"])[n].to_numpy(dtype=float).reshape(len(cutoffs), h)
            done.add(n)
    per_window = [n for n in names_cv if n not in done]
    for i, cut in enumerate(cutoffs):
        if not per_window:
            break
        fcs = _stats_forecasts(per_window, history.iloc[:cut], h, freq, clock)
        for n in per_window:
            if not isinstance(fcs[n], Exception):
                result[n][i] = fcs[n]["p50"].to_numpy()
    for n in names:
        result[n] = np.where(np.isfinite(result[n]), np.clip(result[n], 0, None), np.nan)
    return result


# --- Prophet -------------------------------------------------------------------------------


def _prophet(
    name: str,
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    clock: FitClock,
    *,
    country: str | None,
    regressors: list[str] | None,
    future: pd.DataFrame | None,
    samples: int,
) -> pd.DataFrame:
    cfg = PROPHET_CONFIGS[name]
    with clock.measure("prophet", name):
        return prophet_forecast(
            history,
            horizon,
            freq,
            country=country,
            regressors=regressors,
            future=future,
            seasonality_mode=cfg.seasonality_mode,
            changepoint_prior_scale=cfg.changepoint_prior_scale,
            transform=cfg.transform,
            uncertainty_samples=samples,
        )


def _prophet_windows(
    names: list[str],
    history: pd.DataFrame,
    freq: str,
    cutoffs: list[int],
    h: int,
    clock: FitClock,
    *,
    country: str | None,
    regressors: list[str] | None,
) -> dict[str, np.ndarray]:
    """Prophet P50 per origin, point forecast only (no uncertainty simulation): the backtest
    scores P50 and Prophet's P50 does not depend on the simulation."""
    result = {n: np.full((len(cutoffs), h), np.nan) for n in names}
    for n in names:
        for i, cut in enumerate(cutoffs):
            test = history.iloc[cut : cut + h]
            try:
                fc = _prophet(
                    n, history.iloc[:cut], h, freq, clock,
                    country=country, regressors=regressors, future=test if regressors else None, samples=0,
                )
                result[n][i] = fc["p50"].to_numpy()
            except Exception:  # noqa: BLE001 - scored as a failed window
                pass
    return result


# --- public: forecasts of named candidates -------------------------------------------------


def members_of(name: str, prophet_config: str = "prophet") -> tuple[str, ...]:
    """The base models a candidate needs (itself, or a combination's members)."""
    if name in COMBINATIONS:
        return tuple(prophet_config if m == BEST_PROPHET else m for m in COMBINATIONS[name])
    if name not in CANDIDATES:
        raise ValueError(f"model: unknown candidate {name!r}; known: {', '.join(CANDIDATES)}")
    return (name,)


def forecast_models(
    names: Iterable[str],
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    *,
    country: str | None = None,
    regressors: list[str] | None = None,
    future: pd.DataFrame | None = None,
    prophet_config: str = "prophet",
    clock: FitClock | None = None,
    specs: dict[str, dict] | None = None,
) -> dict[str, pd.DataFrame | Exception]:
    """Forecasts (ds, p10, p50, p90) of several candidates on one history. Each base model is
    fitted once and shared by the combinations that use it; a candidate that fails maps to its
    exception instead of a frame. ``specs``: ARIMA/ETS forms found by the backtest, fitted as
    they are rather than searched again."""
    if freq not in SEASON:
        raise ValueError(f"freq must be W or M, got {freq!r}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 period, got {horizon}")
    if prophet_config not in PROPHET_CONFIGS:
        raise ValueError(f"prophet_config: unknown {prophet_config!r}; known: {', '.join(PROPHET_CONFIGS)}")
    clock = _clock(clock)
    names = list(dict.fromkeys(names))
    base = list(dict.fromkeys(m for n in names for m in members_of(n, prophet_config)))
    results: dict[str, pd.DataFrame | Exception] = {}
    for n in base:
        if n in PROPHET_CONFIGS:
            try:
                results[n] = _prophet(
                    n, history, horizon, freq, clock,
                    country=country, regressors=regressors, future=future, samples=PROPHET_SAMPLES,
                )
            except Exception as exc:  # noqa: BLE001 - recorded as this candidate's failure
                results[n] = exc
    stats = [n for n in base if n not in PROPHET_CONFIGS]
    if stats:
        results.update(_stats_forecasts(stats, history, horizon, freq, clock, specs))
    out: dict[str, pd.DataFrame | Exception] = {}
    for n in names:
        members = members_of(n, prophet_config)
        if n not in COMBINATIONS:
            out[n] = results[n]
            continue
        failed = [m for m in members if isinstance(results[m], Exception)]
        if failed:
            out[n] = ValueError(f"{n}: member(s) {', '.join(failed)} failed")
            continue
        frames = [results[m] for m in members]
        mean = {q: np.mean([f[q].to_numpy() for f in frames], axis=0) for q in QUANTILES}
        out[n] = tidy_quantiles(frames[0]["ds"], mean["p10"], mean["p50"], mean["p90"])
    return out


def window_forecasts(
    names: Iterable[str],
    history: pd.DataFrame,
    freq: str,
    cutoffs: list[int],
    h: int,
    *,
    country: str | None = None,
    regressors: list[str] | None = None,
    clock: FitClock | None = None,
    specs: dict[str, dict] | None = None,
) -> dict[str, np.ndarray]:
    """P50 of base models (Prophet configurations and statsforecast models, not combinations)
    for the ``h`` periods after each origin; ``cutoffs`` are training lengths. Returns an array
    (len(cutoffs), h) per model, clipped at zero, NaN rows where a fit failed. Regressors' values
    in the test periods come from ``history`` itself. With a ``specs`` dict, AutoARIMA and AutoETS
    search their form on the first window only and the forms go into ``specs``."""
    clock = _clock(clock)
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n in COMBINATIONS or n not in CANDIDATES]
    if unknown:
        raise ValueError(f"window_forecasts takes base models only, not {unknown}")
    prophets = [n for n in names if n in PROPHET_CONFIGS]
    stats = [n for n in names if n not in PROPHET_CONFIGS]
    out: dict[str, np.ndarray] = {}
    if prophets:
        out.update(
            _prophet_windows(prophets, history, freq, cutoffs, h, clock, country=country, regressors=regressors)
        )
    if stats:
        out.update(_stats_windows(stats, history, freq, cutoffs, h, clock, specs))
    return {n: out[n] for n in names}


# Every candidate, simplest first: the order breaks ties in model selection.
CANDIDATES: tuple[str, ...] = (
    "naive", "seasonal_naive", "croston_sba", "tsb", "adida", "imapa", "theta", "ets", "arima",
    "prophet", "prophet_mult", "prophet_log", "prophet_flex", "combo_stat", "combo_all",
)
SIMPLICITY = {name: rank for rank, name in enumerate(CANDIDATES)}

# Prophet configurations in the lean competition of regular series. In the pools of five on the
# validation tails prophet_log was the configuration most often in on M3 (30 % of series) and
# prophet_mult on Tourism (33 %); prophet and prophet_flex were in for 5-12 %. Competing with these
# two lost no accuracy (benchmarks/forecast_validation.py, 2026-12-03).
COMPETING_PROPHETS: tuple[str, ...] = ("prophet_mult", "prophet_log")
REGULAR_SET = ("seasonal_naive", "theta", "ets", "arima", *COMPETING_PROPHETS, "combo_stat", "combo_all")
FULL_REGULAR_SET = ("seasonal_naive", "theta", "ets", "arima", *PROPHET_CONFIGS, "combo_stat", "combo_all")
INTERMITTENT_SET = ("seasonal_naive", "croston_sba", "tsb", "adida", "imapa")
SHORT_SET = ("naive", "seasonal_naive")


def candidate_set(kind: str, lean: bool = True) -> list[str]:
    """Candidates for a series class (:func:`forecasting.statistical.classify`): smooth/erratic
    -> Prophet configurations (``lean``: :data:`COMPETING_PROPHETS` only), ets/arima/theta,
    combinations and seasonal naive; intermittent/lumpy -> the Croston family and seasonal naive;
    short -> naive and seasonal naive."""
    regular = REGULAR_SET if lean else FULL_REGULAR_SET
    sets = {"smooth": regular, "erratic": regular, "intermittent": INTERMITTENT_SET,
            "lumpy": INTERMITTENT_SET, "short": SHORT_SET}
    if kind not in sets:
        raise ValueError(f"series class must be one of {', '.join(sets)}, got {kind!r}")
    return list(sets[kind])


def default_method(kind: str, n_obs: int, freq: str) -> str:
    """The one method per class used without selection (the fast mode): :data:`FAST_REGULAR` for
    smooth/erratic series, croston_sba for intermittent/lumpy, seasonal naive for short series
    (naive below one season)."""
    if kind in ("smooth", "erratic"):
        return FAST_REGULAR
    if kind in ("intermittent", "lumpy"):
        return "croston_sba"
    return "seasonal_naive" if n_obs >= SEASON[freq] else "naive"


quiet_model_logging()
