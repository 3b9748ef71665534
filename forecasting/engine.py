"""Forecast a panel of series: a per-series model competition on a rolling-origin backtest (or one
method per series class in the faster ``select=False`` mode), run serially, in a process pool or
on a Dask cluster, with identical results.

Per series (:func:`forecast_unit`, the unit of parallel work):

1. classify the series (:func:`forecasting.statistical.classify`: short, smooth, erratic,
   intermittent, lumpy);
2. ``select=True``: backtest the class's candidate set (:func:`forecasting.models.candidate_set`;
   ``lean``, the default: two Prophet configurations, ARIMA/ETS forms searched once and reused for
   the final fit) and rank the models by mean MASE (:mod:`forecasting.backtest`); the best ``pool`` (default 5),
   with at most one Prophet configuration among them (:func:`pool_members`), are refitted on the
   whole history and their forecasts averaged, quantile by quantile (forecast pooling:
   Kourentzes, Barrow & Petropoulos 2019, "Another look at forecast selection and combination:
   evidence from forecast pooling", IJPE 209). The four Prophet configurations share one trend
   model and err together, so letting several into a pool of five mostly re-weights Prophet;
   capping them at one improved MASE and WAPE on held-out M3 and Tourism series, and pooling beat
   picking the single best on both (README, benchmarks/forecast_accuracy.py). ``pool=1``
   forecasts with the single best. If fewer than two of the pool fit, the best single model that
   fits forecasts.
   ``select=False``: :func:`forecasting.models.default_method` of the class, no backtest
   (Prophet for regular series when regressors are given: the other models ignore them);
3. the forecast has P10/P50/P90, never negative, and names its method.

Parallel runs send the model competition one series per task (each takes seconds); the fast
mode's series take a tenth of a second, too little to carry a task's scheduling cost (about 9 ms
of the Dask client's and scheduler's CPU each on a LocalCluster, which shares the workers'
cores), so they go in :func:`task_batches` of consecutive series, about ``BATCHES_PER_WORKER``
per worker. Results are put back in ``unique_id`` order, and every model is deterministic
(Prophet's simulation is seeded from the series), so serial, process-pool and Dask runs give the
same tables. The LocalCluster this module starts (:func:`local_cluster`) runs its workers without
Dask's stack profiler (:data:`DASK_WORKER_CONFIG`), which otherwise takes about 5 % of the cores
from the fits.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from forecasting.backtest import BASELINE, DEFAULT_WINDOWS, backtest_series, rank_models
from forecasting.models import (
    FAST_REGULAR,
    INTERVAL_LEVEL,
    PROPHET_CONFIGS,
    FitClock,
    candidate_set,
    default_method,
    forecast_models,
    members_of,
    stats_model,
    tidy_quantiles,
)
from forecasting.selection import (
    COMPETED,
    NO_COMPETITION,
    RESELECT_AFTER,
    REUSED,
    Selection,
    SelectionOptions,
    SeriesSelection,
    reuse_status,
    series_record,
)
from forecasting.statistical import PANDAS_FREQ, SEASON, classify, quiet_model_logging

SCHEDULER_ENV = "JOINTPLAN_DASK_SCHEDULER"
Backend = Literal["auto", "serial", "processes", "dask"]
ProgressHook = Callable[[int, int], None]
ACCURACY_COLUMNS = [
    "unique_id", "model", "mase", "wape", "bias", "n_windows", "test_horizon", "members", "selected", "pooled",
]
DEFAULT_POOL = 5
# Dask settings for the LocalCluster this module starts (and recommended for standing workers,
# as DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False etc.): the worker's stack profiler samples
# the running task every 10 ms and, with the event loop's 20 ms tick and 0.5 s system monitor,
# took ~3 s of CPU per 60 s of model fits on 2 cores (5 %, plus GIL waits in the fit thread);
# with these settings ~0.6 s (README, "Forecasting throughput").
DASK_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
}
Combine = Literal["mean", "median", "trimmed"]
DEFAULT_COMBINE: Combine = "mean"
BATCHES_PER_WORKER = 8  # fast mode: tasks per worker (load balance vs per-task cost)


class ForecastOptions(BaseModel):
    """What every series' forecast needs to know; validated once, sent to each worker."""

    model_config = ConfigDict(frozen=True)

    horizon: int = Field(gt=0, description="periods to forecast (weeks for W, months for M)")
    freq: Literal["W", "M"] = Field(description="planning bucket: W (weeks from Monday) or M (months)")
    select: bool = Field(True, description="backtest the candidates and forecast with the best (else one method per class)")
    n_windows: int = Field(DEFAULT_WINDOWS, ge=1, le=12, description="rolling-origin backtest windows per series")
    country: str | None = Field(None, description="country code for Prophet's holiday effects (e.g. US, DE)")
    regressors: tuple[str, ...] = Field((), description="regressor columns used by the Prophet configurations")
    min_history: int | None = Field(None, ge=2, description="observations below which a series is 'short' (periods)")
    pool: int = Field(
        DEFAULT_POOL, ge=1, le=10,
        description="forecast with the mean of the best `pool` candidates on the backtest (1: the single best)",
    )
    lean: bool = Field(
        True,
        description="lean competition: AutoARIMA's orders and AutoETS's form searched once per series (first "
        "backtest window) and refitted in the later windows and for the forecast, and only the Prophet "
        "configurations of forecasting.models.COMPETING_PROPHETS; False: the competition before 2026-12-03 "
        "(every fit searched, all four Prophet configurations)",
    )
    reselect_after: int = Field(
        RESELECT_AFTER, ge=0, le=520,
        description="periods a kept model selection is reused for before the competition runs again "
        "(forecasting.selection; 0: every run competes)",
    )
    combine: Combine = Field(
        DEFAULT_COMBINE,
        description="how the pool's forecasts are averaged, period by period and quantile by quantile: "
        "mean; median; trimmed (mean without the highest and the lowest member, with 5 or more members)",
    )


@dataclass
class SeriesUnit:
    unique_id: str
    history: pd.DataFrame  # ds, y (+ regressors)
    future: pd.DataFrame | None = None  # ds + regressors over the horizon
    selection: SeriesSelection | None = None  # the kept selection to reuse, if it passes its checks


@dataclass
class SeriesResult:
    unique_id: str
    series_class: str
    method: str
    forecast: pd.DataFrame  # ds, p10, p50, p90
    winner: str  # best candidate on the backtest (or the method, without a backtest)
    accuracy: pd.DataFrame  # ACCURACY_COLUMNS without unique_id
    fit_seconds: dict[str, float]  # inside model fit + predict, by family
    wall_seconds: float  # whole unit in the worker
    fit_cpu: dict[str, float] = field(default_factory=dict)  # CPU inside model fit + predict, by base model
    record: SeriesSelection | None = None  # the selection to keep for the next run
    selection_status: str = NO_COMPETITION  # reused, competition, none, or why a kept selection was not reused


@dataclass
class PanelForecast:
    """Result of :func:`forecast_panel`.

    - ``forecasts``: unique_id, key columns, ds, p10, p50, p90, method.
    - ``accuracy``: one row per (unique_id, model) scored on the backtest: mase, wape, bias,
      n_windows, test_horizon, members (of a combination), selected (ranked first), pooled
      (part of the forecast's pool).
    - ``wins``: method, series (count), share: how often each candidate ranked first on the
      backtest; ``series``: unique_id, series_class, method (``poolK:a+b+...`` for a pooled
      forecast), winner, selection (``reused``: a kept selection forecast it without a backtest;
      ``competition``; ``none``; or the check that sent it back to the competition,
      :mod:`forecasting.selection`).
    - ``summary``: series, classes, mean MASE of the selected models and of seasonal naive on
      the backtested series, share of series where the selection beats the baseline, wins.
      The selected model's backtest MASE is the best of the candidates on the same windows, so
      it is optimistic by construction; accuracy on a held-out tail is the honest measure.
    - ``selection``: the model selection to keep for the next run (:class:`forecasting.selection.Selection`),
      one record per series forecast from a competition's pool.
    - ``timings``: total_seconds (wall), model_seconds (sum of per-series fit + predict time,
      also split into prophet_seconds and statsforecast_seconds), series_seconds (sum of
      per-series work), workers, backend, overhead = 1 - model_seconds / (total_seconds x
      workers): the share of the workers' time not spent inside the models; model_cpu_seconds
      and cpu_by_model: CPU seconds inside the models (Stan's child processes included), in
      total and by base model (a combination's members are counted once, under their names).
    """

    forecasts: pd.DataFrame
    accuracy: pd.DataFrame
    wins: pd.DataFrame
    series: pd.DataFrame
    summary: dict
    timings: dict = field(default_factory=dict)
    selection: Selection | None = None


# --- one series ----------------------------------------------------------------------------


def forecast_unit(unit: SeriesUnit, options: ForecastOptions) -> SeriesResult:
    """Classify, (backtest and select, or reuse a kept selection,) and forecast one series."""
    quiet_model_logging()
    start = time.perf_counter()
    clock = FitClock()
    history = unit.history
    freq, horizon = options.freq, options.horizon
    y = history["y"].to_numpy(dtype=float)
    min_history = options.min_history if options.min_history is not None else max(SEASON[freq] // 2, 10)
    kind = classify(y, min_history=min_history).kind
    regressors = list(options.regressors) or None
    context = dict(country=options.country, regressors=regressors, future=unit.future, clock=clock)
    status = NO_COMPETITION
    reused = None
    if options.select and unit.selection is not None:
        status = reuse_status(unit.selection, history, kind, freq, options.reselect_after)
        if status == REUSED:
            reused = _reused_forecast(unit, history, options, context)
            status = REUSED if reused is not None else "failed"
    if reused is not None:
        forecast, method, pooled, winner, accuracy, record = reused
    else:
        forecast, method, pooled, winner, accuracy, record, competed = _competition_forecast(
            unit, history, kind, options, context
        )
        if competed and status == NO_COMPETITION:
            status = COMPETED
    return SeriesResult(
        unit.unique_id, kind, method, forecast, winner, accuracy, dict(clock.seconds), time.perf_counter() - start,
        dict(clock.cpu), record, status,
    )


def _competition_forecast(unit: SeriesUnit, history: pd.DataFrame, kind: str, options: ForecastOptions, context: dict):
    """The model competition (``options.select``) and the forecast of its pool, or the class's one
    method. Returns forecast, method, pooled members, winner, accuracy, the selection record
    (None without a competition) and whether a competition ran."""
    freq, horizon = options.freq, options.horizon
    accuracy = pd.DataFrame(columns=ACCURACY_COLUMNS[1:])
    ranking: list[str] = []
    prophet_config = "prophet"
    specs = None
    if options.select:
        bt = backtest_series(
            history, horizon, freq, candidate_set(kind, lean=options.lean),
            n_windows=options.n_windows, country=options.country, regressors=context["regressors"],
            clock=context["clock"], reuse=options.lean,
        )
        if bt is not None:
            ranking = rank_models(bt.metrics)
            prophet_config = bt.best_prophet or "prophet"
            accuracy = bt.metrics
            specs = bt.specs
    context = dict(context, prophet_config=prophet_config, specs=specs)
    forecast, method, pooled = None, None, []
    if len(ranking) > 1 and options.pool > 1:
        forecast, pooled = _pooled_forecast(
            pool_members(ranking, options.pool), history, horizon, freq, context, options.combine
        )
        if forecast is not None:
            method = _pool_label(pooled, options.combine)
    fast = default_method(kind, len(history), freq)
    if context["regressors"] and fast == FAST_REGULAR:
        fast = "prophet"  # the statsforecast models would ignore the regressors
    fallback = [fast, BASELINE, "naive"]
    errors = []
    if forecast is None:
        for name in dict.fromkeys([*ranking, *fallback]):
            result = forecast_models([name], history, horizon, freq, **context)[name]
            if isinstance(result, Exception):
                errors.append(f"{name}: {result}")
                continue
            forecast, method, pooled = result, name, [name]
            break
    if forecast is None:
        raise RuntimeError(f"series {unit.unique_id}: every method failed ({'; '.join(errors)})")
    winner = ranking[0] if ranking else method
    accuracy = accuracy.assign(selected=accuracy["model"] == winner, pooled=accuracy["model"].isin(pooled))
    record = None
    if ranking and all(m in ranking for m in pooled):
        record = series_record(
            unit.unique_id, kind, history, pool=pooled, winner=winner, prophet_config=prophet_config, specs=specs,
            accuracy=accuracy, p50=forecast["p50"].to_numpy(),
        )
    return forecast, method, pooled, winner, accuracy, record, bool(ranking)


def _reused_forecast(unit: SeriesUnit, history: pd.DataFrame, options: ForecastOptions, context: dict):
    """The forecast of a kept selection's pool (its forms refitted, no backtest), with the
    competition's accuracy rows; None when fewer than two of the pool (or a pool of one) fit."""
    rec = unit.selection
    specs = rec.specs()
    context = dict(context, prophet_config=rec.prophet_config, specs=specs)
    if len(rec.pool) > 1:
        forecast, pooled = _pooled_forecast(rec.pool, history, options.horizon, options.freq, context, options.combine)
        if forecast is None:
            return None
        method = _pool_label(pooled, options.combine)
    else:
        forecast = forecast_models(rec.pool, history, options.horizon, options.freq, **context)[rec.pool[0]]
        if isinstance(forecast, Exception):
            return None
        method, pooled = rec.pool[0], list(rec.pool)
    accuracy = rec.accuracy_frame()
    accuracy = accuracy.assign(selected=accuracy["model"] == rec.winner, pooled=accuracy["model"].isin(pooled))
    record = series_record(
        unit.unique_id, rec.series_class, history, pool=pooled, winner=rec.winner, prophet_config=rec.prophet_config,
        specs=specs, accuracy=accuracy, p50=forecast["p50"].to_numpy(), selected_n_obs=rec.selected_n_obs,
        backtest_mase=rec.backtest_mase,
    )
    return forecast, method, pooled, rec.winner, accuracy[ACCURACY_COLUMNS[1:]], record


def _pool_label(pooled: list[str], combine: Combine) -> str:
    label = "" if combine == "mean" else f"-{combine}"
    return f"pool{len(pooled)}{label}:" + "+".join(pooled)


def pool_members(ranking: list[str], size: int) -> list[str]:
    """The first ``size`` models of the backtest ranking, skipping every Prophet configuration
    after the best-ranked one (the configurations are one model family and err together)."""
    members: list[str] = []
    prophet_in = False
    for name in ranking:
        if name in PROPHET_CONFIGS:
            if prophet_in:
                continue
            prophet_in = True
        members.append(name)
        if len(members) == size:
            break
    return members


def combine_forecasts(stack: np.ndarray, how: Combine) -> np.ndarray:
    """Average member forecasts (rows of ``stack``) period by period: ``mean``; ``median``;
    ``trimmed`` = mean of the members left after dropping each period's highest and lowest
    (Jose & Winkler 2008, IJF 24(1)), the plain mean with fewer than five members."""
    if how == "mean":
        return stack.mean(axis=0)
    if how == "median":
        return np.median(stack, axis=0)
    if how == "trimmed":
        return (np.sort(stack, axis=0)[1:-1] if len(stack) >= 5 else stack).mean(axis=0)
    raise ValueError(f"combine must be mean, median or trimmed, got {how!r}")


def _pooled_forecast(names, history, horizon, freq, context, how: Combine = DEFAULT_COMBINE) -> tuple[pd.DataFrame | None, list[str]]:
    """Forecast pooling (Kourentzes, Barrow & Petropoulos 2019, IJPE 209): each quantile is the
    average (:func:`combine_forecasts`) of that quantile over the pool's candidates that fit;
    None when fewer than two fit."""
    results = forecast_models(names, history, horizon, freq, **context)
    ok = [n for n in names if not isinstance(results[n], Exception)]
    if len(ok) < 2:
        return None, []
    q = {c: combine_forecasts(np.array([results[n][c].to_numpy() for n in ok]), how) for c in ("p10", "p50", "p90")}
    p50 = np.clip(q["p50"], 0, None)
    frame = pd.DataFrame({
        "ds": results[ok[0]]["ds"].to_numpy(),
        "p10": np.minimum(np.clip(q["p10"], 0, None), p50),
        "p50": p50,
        "p90": np.maximum(q["p90"], p50),
    })
    return frame, ok


# --- input -------------------------------------------------------------------------------


def _split_panel(
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    keys: list[str] | None,
    regressors: list[str],
    future: pd.DataFrame | None,
) -> tuple[list[SeriesUnit], pd.DataFrame]:
    """Checks the long history and cuts it into per-series units; returns the key table too."""
    missing = [c for c in ("unique_id", "ds", "y", *regressors) if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing column(s) {', '.join(missing)} (see forecasting.history.prepare_history)")
    if history.empty:
        raise ValueError("history: no rows")
    df = history.copy()
    df["unique_id"] = df["unique_id"].astype(str)
    try:
        df["ds"] = pd.to_datetime(df["ds"])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"ds: not dates ({exc})") from exc
    df["y"] = pd.to_numeric(df["y"], errors="coerce")
    if not np.isfinite(df["y"].to_numpy(dtype=float)).all():
        raise ValueError("y: missing or non-numeric values")
    if (df["y"] < 0).any():
        raise ValueError("y: negative quantities")
    if df.duplicated(["unique_id", "ds"]).any():
        raise ValueError("ds: duplicate rows for the same unique_id and date")
    if keys is None:
        keys = [c for c in df.columns if c not in {"unique_id", "ds", "y", *regressors}]
    varying = [k for k in keys if (df.groupby("unique_id")[k].nunique(dropna=False) > 1).any()]
    if varying:
        raise ValueError(
            f"column(s) {', '.join(varying)} vary within a series: pass them as regressors or drop them"
        )
    key_table = df.groupby("unique_id", sort=True)[keys].first().reset_index() if keys else (
        pd.DataFrame({"unique_id": sorted(df["unique_id"].unique())})
    )
    if future is not None and regressors:
        fmiss = [c for c in ("unique_id", "ds", *regressors) if c not in future.columns]
        if fmiss:
            raise ValueError(f"future: missing column(s) {', '.join(fmiss)}")
        future = future.assign(unique_id=future["unique_id"].astype(str), ds=pd.to_datetime(future["ds"]))
        future_by_id = {uid: g[["ds", *regressors]].reset_index(drop=True) for uid, g in future.groupby("unique_id")}
    else:
        future_by_id = {}
    if regressors and future is None:
        raise ValueError(f"future: values of regressors {', '.join(regressors)} over the horizon are needed")
    units = []
    step = pd.tseries.frequencies.to_offset(PANDAS_FREQ[freq])
    for uid, g in df.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=True):
        ds = pd.DatetimeIndex(g["ds"])
        expected = pd.date_range(ds[0], periods=len(ds), freq=step)
        if not ds.equals(expected):
            raise ValueError(
                f"ds: series {uid} is not on consecutive {'weekly (Monday)' if freq == 'W' else 'monthly (1st)'} "
                "buckets; run forecasting.history.prepare_history first"
            )
        unit_future = future_by_id.get(uid) if regressors else None
        if regressors and unit_future is None:
            raise ValueError(f"future: no regressor values for series {uid}")
        units.append(SeriesUnit(uid, g[["ds", "y", *regressors]].reset_index(drop=True), unit_future))
    return units, key_table


# --- progress ------------------------------------------------------------------------------


@contextmanager
def rich_progress(description: str = "forecasting") -> Iterator[ProgressHook]:
    """A rich progress bar (series done / total, elapsed and remaining time) as a
    ``progress(done, total)`` hook, for the command line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def hook(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield hook


@contextmanager
def _progress_hook(progress: bool | ProgressHook | None) -> Iterator[ProgressHook]:
    if progress is True:
        with rich_progress() as hook:
            yield hook
    elif callable(progress):
        yield progress
    else:
        yield lambda done, total: None


# --- backends ------------------------------------------------------------------------------


def task_batches(units: list, workers: int, select: bool) -> list[list]:
    """Units grouped into parallel tasks: one per task for the model competition; for the fast
    mode ``min(len(units), workers * BATCHES_PER_WORKER)`` runs of consecutive units whose
    sizes differ by at most one."""
    if select or not units:
        return [[u] for u in units]
    n_tasks = min(len(units), workers * BATCHES_PER_WORKER)
    bounds = np.linspace(0, len(units), n_tasks + 1).round().astype(int)
    return [units[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def forecast_batch(units: list[SeriesUnit], options: ForecastOptions) -> list[SeriesResult]:
    """:func:`forecast_unit` of each unit, in order (one parallel task). In the fast mode the
    batch's regular series are fitted by :func:`_fast_regular` (statsforecast's batch path);
    the others, and any the batch path could not forecast, one by one."""
    done = {} if options.select else _fast_regular(units, options)
    return [done.get(unit.unique_id) or forecast_unit(unit, options) for unit in units]


def _fast_regular(units: list[SeriesUnit], options: ForecastOptions) -> dict[str, SeriesResult]:
    """Fast mode, regular (smooth/erratic) series of at least one season: the members of
    :data:`forecasting.models.FAST_REGULAR` fitted on all of them at once, one statsforecast call
    per model over the panel (each series is still fitted on its own, so the forecasts equal the
    one-series path's), combined quantile by quantile as the combination is. CPU and wall time
    are shared evenly among the series. Series with a non-finite forecast, and every series when
    a call fails, are left to :func:`forecast_unit`."""
    from statsforecast import StatsForecast

    quiet_model_logging()
    freq, horizon, season = options.freq, options.horizon, SEASON[options.freq]
    if options.regressors:  # regular series with regressors get Prophet, which uses them
        return {}
    picked = []
    for unit in units:
        y = unit.history["y"].to_numpy(dtype=float)
        min_history = options.min_history if options.min_history is not None else max(season // 2, 10)
        kind = classify(y, min_history=min_history).kind
        if kind in ("smooth", "erratic") and len(y) >= season:
            picked.append((unit, kind))
    if not picked:
        return {}
    members = members_of(FAST_REGULAR)
    panel = pd.concat(
        [pd.DataFrame({"unique_id": u.unique_id, "ds": pd.DatetimeIndex(u.history["ds"]),
                       "y": u.history["y"].to_numpy(dtype=float)}) for u, _ in picked],
        ignore_index=True,
    )
    start = time.perf_counter()
    clock = FitClock()
    try:
        fcs = {}
        for m in members:
            with clock.measure("statsforecast", m), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sf = StatsForecast(models=[stats_model(m, season, season)], freq=PANDAS_FREQ[freq], n_jobs=1)
                fcs[m] = sf.forecast(df=panel, h=horizon, level=[INTERVAL_LEVEL]).set_index("unique_id")
    except Exception:  # noqa: BLE001 - every series of the batch goes the one-by-one way
        return {}
    share = 1.0 / len(picked)
    wall = (time.perf_counter() - start) * share
    out = {}
    for unit, kind in picked:
        dates = fcs[members[0]].loc[[unit.unique_id], "ds"]
        tidied = [
            tidy_quantiles(dates, *(fcs[m].loc[[unit.unique_id], f"{m}{suffix}"].to_numpy(dtype=float)
                                    for suffix in (f"-lo-{INTERVAL_LEVEL}", "", f"-hi-{INTERVAL_LEVEL}")))
            for m in members
        ]
        q = {col: np.mean([t[col].to_numpy() for t in tidied], axis=0) for col in ("p10", "p50", "p90")}
        if not all(np.isfinite(v).all() and len(v) == horizon for v in q.values()):
            continue
        out[unit.unique_id] = SeriesResult(
            unit.unique_id, kind, FAST_REGULAR, tidy_quantiles(dates, q["p10"], q["p50"], q["p90"]), FAST_REGULAR,
            pd.DataFrame(columns=ACCURACY_COLUMNS[1:]).assign(selected=False, pooled=False),
            {k: v * share for k, v in clock.seconds.items()}, wall,
            {k: v * share for k, v in clock.cpu.items()},
        )
    return out


def _run_serial(units, options, progress) -> list[SeriesResult]:
    results = []
    with _progress_hook(progress) as hook:
        hook(0, len(units))
        for batch in task_batches(units, 1, options.select):
            results.extend(forecast_batch(batch, options))
            hook(len(results), len(units))
    return results


def _process_context(select: bool = True):
    """Start method of the worker processes.

    - ``fork`` when this process runs a single Python thread: the workers inherit the model
      libraries already imported here and start in milliseconds. For the model competition
      statsforecast (~3 s to import) is imported here first, once, rather than in each worker.
    - ``forkserver`` otherwise (forking a process with other Python threads can copy a lock one
      of them holds), with the libraries preloaded in the server; ``spawn`` where neither exists.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        if select:
            import statsforecast.models  # noqa: F401 - inherited by the forked workers
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["forecasting.engine", "prophet", *(["statsforecast.models"] if select else [])])
    return ctx


def _run_processes(units, options, progress, workers: int) -> tuple[list[SeriesResult], str]:
    results = []
    context = _process_context(options.select)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Submitted before the progress bar starts its refresh thread: with fork, the pool forks
        # all its workers at the first submit, while this process still runs one thread.
        futures = [pool.submit(forecast_batch, batch, options) for batch in task_batches(units, workers, options.select)]
        with _progress_hook(progress) as hook:
            hook(0, len(units))
            for fut in as_completed(futures):
                results.extend(fut.result())
                hook(len(results), len(units))
    return results, context.get_start_method()


def local_cluster(workers: int, config: dict | None = None):
    """A LocalCluster of ``workers`` single-threaded worker processes with the Dask settings
    ``config`` (default :data:`DASK_WORKER_CONFIG`; ``{}`` keeps Dask's own), no dashboard and
    quiet logs; the caller closes it."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(DASK_WORKER_CONFIG if config is None else config):  # the nannies pass it to their workers
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )


def _run_dask(units, options, progress, workers: int, address: str | None) -> tuple[list[SeriesResult], int]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with _progress_hook(progress) as hook:
        hook(0, len(units))
        cluster = None
        if address:
            client = Client(address)
        else:
            cluster = local_cluster(workers)
            client = Client(cluster)
        try:
            info = client.scheduler_info()["workers"].values()
            n_workers = max(1, sum(w["nthreads"] for w in info)) if address else workers
            batches = task_batches(units, n_workers, options.select)
            futures = [client.submit(forecast_batch, batch, options, pure=False) for batch in batches]
            results = []
            for fut in dask_completed(futures):
                results.extend(fut.result())
                hook(len(results), len(units))
            return results, n_workers
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# --- panel ---------------------------------------------------------------------------------


def forecast_panel(
    history: pd.DataFrame,
    horizon: int,
    freq: str,
    *,
    select: bool = True,
    n_windows: int = DEFAULT_WINDOWS,
    pool: int = DEFAULT_POOL,
    combine: Combine = DEFAULT_COMBINE,
    lean: bool = True,
    selection: Selection | None = None,
    reselect_after: int | None = None,
    backend: Backend = "auto",
    workers: int | None = None,
    scheduler_address: str | None = None,
    progress: bool | ProgressHook | None = True,
    country: str | None = None,
    keys: list[str] | None = None,
    regressors: list[str] | None = None,
    future: pd.DataFrame | None = None,
    min_history: int | None = None,
) -> PanelForecast:
    """Forecast every series of a long ``history`` (unique_id, ds, y, + key columns and
    regressors, as :func:`forecasting.history.prepare_history` makes it).

    ``backend``: ``serial``; ``processes`` (a process pool of ``workers``, default the CPU count);
    ``dask`` (the scheduler at ``scheduler_address`` or ``$JOINTPLAN_DASK_SCHEDULER``, else an
    in-process LocalCluster of ``workers`` single-threaded worker processes); ``auto`` = dask when
    an address is known, processes when more than one worker and series, else serial.
    ``progress``: True for a rich progress bar, or a ``progress(done, total)`` callable.
    ``keys``: key columns copied onto the forecasts (default: every column other than
    unique_id, ds, y and the regressors). ``future``: unique_id, ds and the regressors' values
    over the horizon (needed with ``regressors``). ``selection``: the previous run's
    :attr:`PanelForecast.selection`, reused for the series whose history only gained periods
    (checks in :mod:`forecasting.selection`; ``reselect_after`` periods at most, default
    :data:`forecasting.selection.RESELECT_AFTER`); ignored when the run's options differ from those it was made with.

    The processes and dask backends start worker processes that import the calling script's
    main module, so a script needs the usual ``if __name__ == "__main__":`` guard."""
    started = time.perf_counter()
    options = ForecastOptions(
        horizon=horizon, freq=freq, select=select, n_windows=n_windows, country=country,
        regressors=tuple(regressors or ()), min_history=min_history, pool=pool, combine=combine,
        lean=lean, reselect_after=RESELECT_AFTER if reselect_after is None else reselect_after,
    )
    if backend not in ("auto", "serial", "processes", "dask"):
        raise ValueError(f"backend must be auto, serial, processes or dask, got {backend!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if scheduler_address and backend not in ("auto", "dask"):
        raise ValueError(f"scheduler_address is used by the dask backend, not {backend!r}")
    address = scheduler_address
    if address is None and backend in ("auto", "dask"):
        address = os.environ.get(SCHEDULER_ENV) or None
    units, key_table = _split_panel(history, options.freq, options.horizon, keys, list(options.regressors), future)
    kept_options = _selection_options(options)
    options_match = selection is not None and selection.options == kept_options
    if options_match and options.select:
        kept = selection.by_id()
        for unit in units:
            unit.selection = kept.get(unit.unique_id)
    n_workers = workers or os.cpu_count() or 1
    if backend == "auto":
        backend = "dask" if address else ("processes" if n_workers > 1 and len(units) > 1 else "serial")
    start_method = None
    if backend == "serial":
        n_workers = 1
        results = _run_serial(units, options, progress)
    elif backend == "processes":
        results, start_method = _run_processes(units, options, progress, n_workers)
    else:
        results, n_workers = _run_dask(units, options, progress, n_workers, address)
    results.sort(key=lambda r: r.unique_id)
    if options.select and selection is not None:
        for r in results:
            if r.selection_status == "competition":
                r.selection_status = "new" if options_match else "options"
    out = _assemble(results, key_table, options)
    if options.select:
        out.selection = Selection(options=kept_options, series=[r.record for r in results if r.record is not None])
    total = time.perf_counter() - started
    model = sum(sum(r.fit_seconds.values()) for r in results)
    cpu_by_model: dict[str, float] = {}
    for r in results:
        for name, sec in r.fit_cpu.items():
            cpu_by_model[name] = cpu_by_model.get(name, 0.0) + sec
    out.timings = {
        "total_seconds": total,
        "model_seconds": model,
        "prophet_seconds": sum(r.fit_seconds.get("prophet", 0.0) for r in results),
        "statsforecast_seconds": sum(r.fit_seconds.get("statsforecast", 0.0) for r in results),
        "series_seconds": sum(r.wall_seconds for r in results),
        "workers": n_workers,
        "backend": backend,
        "start_method": start_method,
        "overhead": 1.0 - model / (total * n_workers) if total > 0 else 0.0,
        "model_cpu_seconds": sum(cpu_by_model.values()),
        "cpu_by_model": dict(sorted(cpu_by_model.items(), key=lambda kv: -kv[1])),
    }
    return out


def _selection_options(options: ForecastOptions) -> SelectionOptions:
    return SelectionOptions(
        freq=options.freq, horizon=options.horizon, n_windows=options.n_windows, pool=options.pool,
        lean=options.lean, country=options.country, regressors=options.regressors,
    )


def _assemble(results: list[SeriesResult], key_table: pd.DataFrame, options: ForecastOptions) -> PanelForecast:
    keys = [c for c in key_table.columns if c != "unique_id"]
    frames = [r.forecast.assign(unique_id=r.unique_id, method=r.method) for r in results]
    forecasts = pd.concat(frames, ignore_index=True).merge(key_table, on="unique_id", how="left")
    forecasts = forecasts[["unique_id", *keys, "ds", "p10", "p50", "p90", "method"]]
    forecasts = forecasts.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    acc_frames = [r.accuracy.assign(unique_id=r.unique_id) for r in results if len(r.accuracy)]
    if acc_frames:
        accuracy = pd.concat(acc_frames, ignore_index=True)[ACCURACY_COLUMNS]
        accuracy = accuracy.sort_values(["unique_id", "model"], kind="stable").reset_index(drop=True)
        accuracy["selected"] = accuracy["selected"].astype(bool)
    else:
        accuracy = pd.DataFrame(columns=ACCURACY_COLUMNS)
    series = pd.DataFrame(
        {"unique_id": [r.unique_id for r in results], "series_class": [r.series_class for r in results],
         "method": [r.method for r in results], "winner": [r.winner for r in results],
         "selection": [r.selection_status for r in results]}
    )
    counts = series["winner"].value_counts()
    wins = pd.DataFrame({"method": counts.index, "series": counts.to_numpy()})
    wins = wins.sort_values(["series", "method"], ascending=[False, True], kind="stable").reset_index(drop=True)
    wins["share"] = wins["series"] / max(len(series), 1)
    return PanelForecast(forecasts, accuracy, wins, series, _summary(series, accuracy, wins, options))


def _summary(series: pd.DataFrame, accuracy: pd.DataFrame, wins: pd.DataFrame, options: ForecastOptions) -> dict:
    summary: dict = {
        "series": int(len(series)),
        "classes": {str(k): int(v) for k, v in series["series_class"].value_counts().sort_index().items()},
        "select": options.select,
        "n_windows": options.n_windows if options.select else 0,
        "wins": {str(m): int(n) for m, n in zip(wins["method"], wins["series"])},
        "selection": {str(k): int(v) for k, v in series["selection"].value_counts().sort_index().items()},
    }
    if len(accuracy):
        selected = accuracy[accuracy["selected"]].set_index("unique_id")["mase"]
        baseline = accuracy[accuracy["model"] == BASELINE].set_index("unique_id")["mase"]
        both = pd.concat([selected.rename("selected"), baseline.rename("baseline")], axis=1).dropna()
        summary.update(
            backtested_series=int(accuracy["unique_id"].nunique()),
            mean_mase_selected=float(both["selected"].mean()) if len(both) else float("nan"),
            mean_mase_seasonal_naive=float(both["baseline"].mean()) if len(both) else float("nan"),
            share_beating_seasonal_naive=float((both["selected"] < both["baseline"]).mean()) if len(both) else float("nan"),
        )
    return summary
