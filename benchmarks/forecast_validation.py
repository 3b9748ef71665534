"""Pooling rules compared on a validation split, without touching the competitions' test data.

The accuracy benchmark (``forecast_accuracy.py``) scores jointplan on each competition's
hold-out tail. Changing jointplan's rules because of those figures would tune on the test set.
This script holds the test tail out entirely: each series' *training* part is split again, its
last ``h`` months (the competition's horizon) becoming a validation tail, and every rule is
scored there. A rule that wins here can then be run once on the test tail.

Per series, on the training part minus the validation tail (what jointplan would see):

1. classify the series and backtest the class's candidates on 3 rolling origins, exactly as
   :func:`forecasting.engine.forecast_unit` does (ranking by mean MASE);
2. fit every candidate base model once and forecast the validation tail (P50; combinations are
   the mean of their members, as in the engine).

Then each rule builds its P50 from the same forecasts:

- ``poolK``: mean of the first K of the ranking, at most one Prophet configuration
  (:func:`forecasting.engine.pool_members`); ``pool5`` is jointplan's default rule.
- ``pool5+snaive``: pool5 with seasonal naive added when the ranking left it out.
- ``pool5-invmase``: pool5 weighted by 1 / backtest MASE.
- ``pool5-median``: the median of the pool of five, period by period; ``pool5-trim``: its
  trimmed mean, dropping the highest and the lowest member each period (mean of the middle
  three; with fewer than five members, the plain mean). Robust averages of forecasts (Jose &
  Winkler 2008, "Simple robust averages of forecasts: Some empirical results", IJF 24(1))
  guard the pool against one member running away over a long horizon.
- ``seasonal_naive``, ``theta``, ``ets``, ``arima``: single models, for reference.

Measures: mean MASE, WAPE pooled over the panel and mean WAPE per series, as in the accuracy
benchmark.

Decision rule, written down before the first full run (2026-11-29): a rule replaces ``pool5`` as
jointplan's default only if, on the validation tails, it has a lower pooled WAPE on Tourism and
is no worse than ``pool5`` on any other measure of either panel; otherwise ``pool5`` stays. The
test tails are then scored once with the rule chosen.

Decisions written down before their runs (2026-11-29, session 6):

- AutoARIMA's approximation (Hyndman & Khandakar 2008: the order search scores candidates by
  conditional sums of squares, the chosen order is refitted by maximum likelihood) halves the
  default run's ARIMA time. It is kept if, on the validation tails, each measure of ``pool5``
  on both panels is within 1 % (relative) of the exact-likelihood run above, or better;
  otherwise the exact search comes back.
- More backtest windows (``--windows 5`` against the default 3; Tashman 2000 recommends many
  origins, and a ranking from three windows is noisy) replace the default under the decision
  rule above, applied to ``pool5`` with 5 windows against ``pool5`` with 3 windows, and only if
  the default 300-series run of ``forecast_scale.py`` stays under 10 minutes.
- Robust pools (``pool5-median``, ``pool5-trim``, added before their first run): either
  replaces the mean of the pool under the decision rule above, against ``pool5`` of the same
  run; if both pass, the one with the lower Tourism pooled WAPE.

Outcomes: with the approximation, ``pool5`` was better on all three M3 measures and on Tourism's
mean WAPE (equal), but Tourism's MASE was 0.14 % worse and its pooled WAPE 2.9 % worse
(0.1794 against 0.1743; ``last_validation_arima_approx.json``), so the exact search stays, and
the five-window run uses it too (``last_validation_w5.json``). Five windows took 1.21x the
time of three on 15 of the 300 scale-benchmark series (serial, same process); on M3 the pool
was worse on all three measures with five windows, which settles the decision (the Tourism run
was stopped). Neither robust pool passed: both were worse than the mean on every measure of
both panels; on Tourism's pooled WAPE the trimmed mean had 0.185 and the median 0.188, against
0.174 for the mean.

Decisions written down before their runs (2026-12-03, issue 19, forecast throughput; runs on an
even spread of 150 series per panel, ``--limit 150``, for time):

- Reuse of searched forms (``--reuse-fits on``: AutoARIMA's orders and AutoETS's form searched
  on the first backtest window only, refitted with those forms in the later windows and for the
  forecast) becomes the default if no measure (mean MASE, pooled WAPE, mean WAPE) of ``pool5``
  on either panel is worse than with the search in every fit (``--reuse-fits off``, same
  series) by more than 1 % (relative).
- Pruning candidates (e.g. Prophet configurations that rarely enter the pool) is scored offline
  from the same run's kept backtest forecasts (rules ``prune:...``: the ranking recomputed without
  the pruned candidates, combo_all re-formed with the best remaining Prophet configuration); a
  pruned set is adopted under the same 1 % rule against ``pool5`` with the search in every fit.
- Fast mode (``--fast``, no backtest; rules ``fast:...``, from the forms searched on the whole
  fit part, as the fast mode does): a method for regular series qualifies only if it beats
  ``seasonal_naive`` on all three measures of both panels (intermittent series keep Croston SBA,
  short ones (seasonal) naive). Among those that qualify, the fast mode takes the one with the
  lowest sum over the six measures of (measure / seasonal naive's measure); if none qualifies,
  Prophet stays and the requirement is reported unmet.

Outcomes (2026-12-03; 40 series per panel: at load 8-13 on the shared 2-core machine the planned
150 would not have finished in the session; ``last_validation_lean.json`` is the run with the
forms reused (written as ``last_validation.json``, renamed to keep the full 2026-11-29 run's
file), ``last_validation_before.json`` the reference, ``last_validation_issue19.json``
every rule below scored on both):

- M3, ``pool5`` searching every fit: MASE 0.7942, pooled WAPE 0.2110, mean WAPE 0.2315. With the
  forms reused: 0.7962 (+0.25 %), 0.2086 (-1.1 %), 0.2272 (-1.9 %): within the rule.
- Pruned sets (M3, against the reference): keeping only prophet_log 0.7922 / 0.2073 / 0.2257;
  prophet_mult and prophet_log (``prune:mult+log``) 0.7975 (+0.41 %) / 0.2086 / 0.2272; one
  configuration other than log, or dropping ARIMA, cost MASE 1.0-1.3 %. On Tourism, against
  ``pool5`` of the reuse run (2.0782 / 0.1776 / 0.2437): log only 2.0927 / 0.1862 (+4.8 %) /
  0.2464, mult+log 2.0734 / 0.1776 / 0.2430. Several sets passing, the one saving the most CPU
  was to be taken (a tie-break set after the M3 figures, before Tourism's reference): log only
  failed on Tourism, so mult+log. Tourism against the reference (2.0951 / 0.1780 / 0.2437):
  mult+log 2.0734 (-1.0 %) / 0.1776 (-0.3 %) / 0.2430 (-0.3 %). Adopted: the lean competition
  (forms reused, prophet_mult and prophet_log) is the default.
- Fast mode, ratio to seasonal naive (MASE, pooled WAPE, mean WAPE; M3 then Tourism): Prophet
  1.00 / 0.94 / 0.98 and 1.05 / 1.22 / 1.07 (loses on Tourism); theta 0.80 / 0.72 / 0.73 and
  1.03 / 1.12 / 0.96 (loses on Tourism); ETS 0.92 / 0.85 / 0.90 and 0.96 / 0.97 / 0.92 (sum 5.52);
  mean(ETS, theta) sum 5.19; mean(ETS, theta, seasonal naive) 0.82 / 0.76 / 0.77 and
  0.93 / 0.93 / 0.90 (sum 5.11): the fast mode (``combo_fast``), MASE 0.7987 on M3 and 2.1649 on
  Tourism against the default's 0.7975 and 2.0734 and seasonal naive's 0.9775 and 2.3246.

Decisions written down before their run (2026-12-03, session 14; ``--cycle``, an even spread of
150 series per panel, the engine's own ``forecast_unit`` with default options):

- Reusing a kept selection (:mod:`forecasting.selection`, ``jointplan forecast --selection``):
  the default ``reselect_after`` for monthly data is the largest K of 6, 3 and 1 for which
  ``cycleK`` (the competition run K periods earlier, its selection reused with its checks) keeps
  every measure (mean MASE, pooled WAPE, mean WAPE) of both panels within 1 % (relative) of a
  fresh lean competition on the same series, or better. If none passes, the default is 0 (every
  run competes; the file only records). Weekly data get the same span in weeks (K x 52 / 12,
  rounded), there being no weekly panel to validate on.
- The same run confirms the lean competition (``lean``) against the one before 2026-12-03
  (``before``) on 150 series per panel with the issue's rule: no measure of either panel worse by
  more than 1 %.

Outcomes (2026-12-03, ``last_validation_cycle.json``; changes against ``lean``, MASE / pooled WAPE
/ mean WAPE): M3 cycle1 -0.05 / -0.33 / -0.52 %, cycle3 -0.23 / +0.80 / +0.29 %, cycle6 +0.94 /
+2.86 / +2.20 %; Tourism cycle1 +0.50 / +1.29 / +0.39 %, cycle3 -0.03 / +1.05 / -0.20 %, cycle6
-1.34 / -0.06 / -0.99 %. No K passes on both panels: ``reselect_after`` defaults to 0. ``before``
against ``lean``: M3 +1.72 / +2.27 / +2.37 %, Tourism +0.10 / +0.45 / -0.09 % (lean no worse
anywhere: the lean default is confirmed on 150 series per panel). Model CPU per series: M3 before
2.07 s, lean 0.74 s, cycle 0.11-0.15 s; Tourism 6.83 s, 2.18 s, 0.29-0.30 s.

Decisions written down before their run (2026-12-03, session 15; ``--arima-search``, the same even
spread of 150 series per panel, the engine's own ``forecast_unit`` with default options):

- The lean competition searches ARIMA's orders once per series, on the first backtest window;
  that search is 1.1 of the 2.5 s of model CPU a long Tourism series costs. Hyndman & Khandakar's
  approximation (orders scored by conditional sums of squares, the chosen order refitted by
  maximum likelihood) cuts it to about 0.25 s. Two rules are scored against ``lean`` (exact
  search) and ``before`` (the competition before 2026-12-03), all three run on the same series:
  ``approx150``, the approximation when the search window is longer than 150 periods (R's
  ``auto.arima`` default, ``approximation = length(x) > 150``), and ``approx``, the
  approximation on every search.
- A rule becomes the default if no measure (mean MASE, pooled WAPE, mean WAPE) of either panel is
  worse by more than 1 % (relative) than ``before`` (the issue's rule) nor than ``lean`` (the
  default it would replace). If both pass, ``approx`` (the cheaper); if neither, the exact search
  stays and the issue's target is reported unmet. The measures on the series whose search window
  is longer than 150 periods (``long``) are printed for information, not decided on.

Outcomes (2026-12-04, ``last_validation_arima_search.json``; MASE / pooled WAPE / mean WAPE
against ``lean``): M3 approx -0.83 / -1.22 / -1.04 %, approx150 identical (no M3 search window
is longer than 150); Tourism approx -0.03 / -0.16 / -0.16 %, approx150 -0.15 / -0.42 / -0.25 %.
Against ``before``: M3 approx -2.51 / -3.41 / -3.33 %, Tourism -0.13 / -0.61 / -0.07 %. Both
pass; ``approx`` is the default (``ARIMA_APPROXIMATE_ABOVE = 0``). ``lean`` against ``before``
reproduced the 2026-12-03 run exactly. Model CPU per series, Tourism: before 6.75 s, lean 2.14 s,
approx 1.20 s (x5.62 less than before); M3: 1.76, 0.63, 0.62 s. On Tourism's 116 series with a
search window longer than 150: before 1.5694 / 0.1751 / 0.1940, lean 1.5826 / 0.1753 / 0.1958,
approx 1.5795 / 0.1742 / 0.1952 (MASE +0.64 % and mean WAPE +0.62 % against before there).

The per-series forecasts of a run are kept in ``benchmarks/results/`` (not in git), so a rule
added later can be scored with ``--cached`` without refitting.

Run: ``python benchmarks/forecast_validation.py [--panel m3-shipments|tourism-monthly|all]
[--limit N] [--workers 2] [--windows 3] [--cycle | --arima-search | --fast-compare]``; the last
three run the engine's own ``forecast_unit`` per path (``--fast-compare``: default mode, fast mode
and seasonal naive, ``last_validation_fast.json``); prints the table and writes
``benchmarks/last_validation.json`` (``last_validation_w5.json`` etc. for other window counts).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_accuracy import SEASON, load_panel  # noqa: E402

from forecasting.backtest import DEFAULT_WINDOWS, backtest_series, mase, rank_models  # noqa: E402
from forecasting.models import SIMPLICITY  # noqa: E402
from forecasting.engine import combine_forecasts, pool_members  # noqa: E402
from forecasting.models import (  # noqa: E402
    ARIMA_OPTIONS,
    COMBINATIONS,
    PROPHET_CONFIGS,
    FitClock,
    candidate_set,
    forecast_models,
    members_of,
    window_forecasts,
)
from forecasting.statistical import classify, quiet_model_logging  # noqa: E402
from forecasting.engine import ForecastOptions, SeriesUnit, forecast_unit  # noqa: E402

OUT = Path(__file__).with_name("last_validation.json")
CACHE = Path(__file__).with_name("results")
OUT_TEST = Path(__file__).with_name("last_validation_test.json")
OUT_CYCLE = Path(__file__).with_name("last_validation_cycle.json")
OUT_SEARCH = Path(__file__).with_name("last_validation_arima_search.json")
OUT_FAST = Path(__file__).with_name("last_validation_fast.json")
# rules of the --arima-search run: the window length above which the order search approximates
SEARCH_RULES = {"lean": None, "approx150": 150, "approx": 0}
LONG_SEARCH = 150
CYCLE_AGES = (1, 3, 6)
SINGLES = ("seasonal_naive", "theta", "ets", "arima")
POOL_SIZES = (1, 2, 3, 5, 7)


def validate_series(s: dict, split: str = "validation", n_windows: int = DEFAULT_WINDOWS, reuse: bool = False) -> dict:
    """Backtest ranking on the training part minus its tail, and every candidate's P50 over the
    tail. ``split="test"``: the whole training part is fitted and the tail is the test tail.
    ``reuse``: the engine's reuse path (ARIMA/ETS forms searched on the first backtest window,
    refitted in the later windows and for the tail's forecast)."""
    quiet_model_logging()
    h = s["h"]
    full = s["train"] if split == "validation" else np.concatenate([s["train"], s["test"]])
    n_fit = len(full) - h
    ds = pd.date_range("2000-01-01", periods=len(full), freq="MS")
    history = pd.DataFrame({"ds": ds, "y": full})
    fit_part = history.iloc[:n_fit]
    kind = classify(fit_part["y"].to_numpy(), min_history=max(SEASON // 2, 10)).kind
    candidates = candidate_set(kind, lean=False)  # the full set: pruned sets are scored offline (prune:...)
    clock = FitClock()
    bt = backtest_series(fit_part, h, "M", candidates, n_windows=n_windows, reuse=reuse, clock=clock)
    ranking = rank_models(bt.metrics) if bt is not None else []
    best_prophet = (bt.best_prophet if bt is not None else None) or "prophet"
    scores = dict(zip(bt.metrics["model"], bt.metrics["mase"])) if bt is not None else {}
    specs = (bt.specs or {}) if bt is not None else {}
    names = list(dict.fromkeys([*candidates, *SINGLES]))
    base = list(dict.fromkeys(m for n in names for m in members_of(n, best_prophet)))
    # every Prophet configuration's tail forecast too, so that pruned sets can be scored offline
    if any(m in PROPHET_CONFIGS for m in base):
        base += [p for p in PROPHET_CONFIGS if p not in base]
    fixed = [m for m in base if m in specs]
    preds = {n: p[0] for n, p in window_forecasts([m for m in base if m not in specs], history, "M", [n_fit], h, clock=clock).items()}
    if fixed:
        fcs = forecast_models(fixed, fit_part, h, "M", specs=specs, clock=clock)
        for m in fixed:
            preds[m] = np.full(h, np.nan) if isinstance(fcs[m], Exception) else fcs[m]["p50"].to_numpy()
    for c in names:
        if c in COMBINATIONS:
            preds[c] = np.mean([preds[m] for m in members_of(c, best_prophet)], axis=0)
    return {"id": s["id"], "kind": kind, "ranking": ranking, "scores": scores, "preds": preds,
            "fit": full[:n_fit], "val": full[n_fit:], "cpu": dict(clock.cpu),
            "bt_preds": bt.preds if bt is not None else None,
            "cutoffs": list(bt.plan.cutoffs) if bt is not None else None}


def _engine_fit(s: dict) -> tuple[pd.DataFrame, ForecastOptions, dict]:
    """A series' fit part (its training part without the validation tail) as the engine's history,
    the engine's default options for its horizon, and the record its paths fill in."""
    quiet_model_logging()
    h = s["h"]
    full = np.asarray(s["train"], dtype=float)
    n_fit = len(full) - h
    fit = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=n_fit, freq="MS"), "y": full[:n_fit]})
    out: dict = {"id": s["id"], "fit": full[:n_fit], "val": full[n_fit:], "preds": {}, "cpu": {}, "status": {}}
    return fit, ForecastOptions(horizon=h, freq="M"), out


def _engine_path(out: dict, name: str, unit: SeriesUnit, options: ForecastOptions):
    """:func:`forecasting.engine.forecast_unit` on ``unit``: its P50, model CPU and selection status
    kept in ``out`` under ``name``."""
    result = forecast_unit(unit, options)
    out["preds"][name] = result.forecast["p50"].to_numpy()
    out["cpu"][name] = sum(result.fit_cpu.values())
    out["status"][name] = result.selection_status
    return result


def cycle_series(s: dict, ages: tuple[int, ...] = CYCLE_AGES, before: bool = True) -> dict:
    """The engine itself (:func:`forecasting.engine.forecast_unit`, default options) on the fit
    part, forecasting the validation tail: ``lean`` (the default competition), ``before``
    (``lean=False``, the competition before 2026-12-03) and ``cycleK``: the competition run K
    periods earlier (on the fit part without its last K periods), its kept selection
    (:mod:`forecasting.selection`) then forecasting from the whole fit part, with its checks
    (a series whose check fails competes afresh, as in a real cycle). P50 and model CPU per path."""
    fit, options, out = _engine_fit(s)
    n_fit = len(fit)

    def run(name: str, unit: SeriesUnit, opts: ForecastOptions):
        return _engine_path(out, name, unit, opts)

    fresh = run("lean", SeriesUnit(s["id"], fit), options)
    out["kind"] = fresh.series_class
    if before:
        run("before", SeriesUnit(s["id"], fit), options.model_copy(update={"lean": False}))
    for k in ages:
        previous = forecast_unit(SeriesUnit(s["id"], fit.iloc[: n_fit - k].reset_index(drop=True)), options) if n_fit - k >= 8 else None
        record = previous.record if previous is not None else None
        if record is None:  # no competition k periods earlier: the series competes now
            out["preds"][f"cycle{k}"], out["cpu"][f"cycle{k}"] = out["preds"]["lean"], out["cpu"]["lean"]
            out["status"][f"cycle{k}"] = "new"
            continue
        run(f"cycle{k}", SeriesUnit(s["id"], fit, selection=record), options.model_copy(update={"reselect_after": k}))
    return out


def search_series(s: dict) -> dict:
    """The engine (:func:`forecasting.engine.forecast_unit`, default options) on the fit part,
    forecasting the validation tail, once per rule of :data:`SEARCH_RULES` (ARIMA's order search
    exact, or approximated above a window length) and once as ``before`` (``lean=False``).
    ``long``: the search window (the first backtest window) is longer than 150 periods."""
    from forecasting import models
    from forecasting.backtest import plan_windows

    fit, options, out = _engine_fit(s)
    plan = plan_windows(len(fit), s["h"], "M")
    out["long"] = plan is not None and plan.cutoffs[0] > LONG_SEARCH
    paths = [*((name, above, options) for name, above in SEARCH_RULES.items()),
             ("before", None, options.model_copy(update={"lean": False}))]
    default = models.ARIMA_APPROXIMATE_ABOVE
    try:
        for name, above, opts in paths:
            models.ARIMA_APPROXIMATE_ABOVE = above
            _engine_path(out, name, SeriesUnit(s["id"], fit), opts)
    finally:
        models.ARIMA_APPROXIMATE_ABOVE = default
    return out


def fast_series(s: dict) -> dict:
    """The engine's default mode (``default``), its fast mode (``fast``, ``select=False``) and
    seasonal naive on the fit part, forecasting the validation tail: the README's comparison."""
    fit, options, out = _engine_fit(s)
    _engine_path(out, "default", SeriesUnit(s["id"], fit), options)
    _engine_path(out, "fast", SeriesUnit(s["id"], fit), options.model_copy(update={"select": False}))
    naive = forecast_models(["seasonal_naive"], fit, s["h"], "M")["seasonal_naive"]
    out["preds"]["seasonal_naive"], out["cpu"]["seasonal_naive"], out["status"]["seasonal_naive"] = naive["p50"].to_numpy(), 0.0, "-"
    return out


def score_paths(results: list[dict]) -> tuple[pd.DataFrame, dict]:
    """Mean MASE, pooled WAPE and mean WAPE of each path on the validation tails, model CPU per
    series, and how often each selection status occurred."""
    rows = []
    for r in results:
        for path, f in r["preds"].items():
            err = np.abs(r["val"] - f)
            rows.append({"path": path, "mase": mase(r["val"], f, r["fit"], SEASON), "abs_error": float(err.sum()),
                         "actual": float(np.abs(r["val"]).sum()), "wape": float(err.sum() / max(np.abs(r["val"]).sum(), 1e-12)),
                         "cpu": r["cpu"][path], "status": r["status"][path]})
    df = pd.DataFrame(rows)
    table = df.groupby("path").agg(mean_mase=("mase", "mean"), abs_error=("abs_error", "sum"), actual=("actual", "sum"),
                                   mean_wape=("wape", "mean"), cpu_per_series=("cpu", "mean"))
    table["pooled_wape"] = table["abs_error"] / table["actual"]
    statuses = {p: g["status"].value_counts().to_dict() for p, g in df.groupby("path")}
    return table[["mean_mase", "pooled_wape", "mean_wape", "cpu_per_series"]], statuses


def _against(table: pd.DataFrame, reference: str) -> None:
    ref = table.loc[reference]
    for path in table.index:
        if path != reference:
            rel = {m: table.loc[path, m] / ref[m] - 1 for m in ("mean_mase", "pooled_wape", "mean_wape")}
            cpu = table.loc[path, "cpu_per_series"]
            print(f"  {path} against {reference}: " + ", ".join(f"{m} {v:+.2%}" for m, v in rel.items())
                  + (f"; CPU x{ref['cpu_per_series'] / cpu:.2f} less" if cpu > 0 else ""))


def main_paths(args, series_fn: Callable[[dict], dict], kind: str, out: Path, report_extra: dict,
               reference: str = "lean") -> None:
    """Run ``series_fn`` on each series of the panels (kept in ``results/<kind>_<panel>_n<N>.pkl``),
    print each path's measures against ``reference`` (and ``before``, when run) and write ``out``."""
    panels = ["m3-shipments", "tourism-monthly"] if args.panel == "all" else [args.panel]
    report = {"when": time.strftime("%Y-%m-%d %H:%M"), "split": "validation", "limit": args.limit,
              **report_extra, "panels": {}}
    for name in panels:
        series = [s for s in load_panel(name, args.limit) if len(s["train"]) - s["h"] >= 8]
        t0 = time.perf_counter()
        cache = CACHE / f"{kind}_{name}_n{len(series)}.pkl"
        if args.cached and cache.exists():
            results = pickle.loads(cache.read_bytes())
        else:
            with ProcessPoolExecutor(args.workers) as pool:
                results = list(pool.map(series_fn, series, chunksize=1))
            CACHE.mkdir(exist_ok=True)
            cache.write_bytes(pickle.dumps(results))
        table, statuses = score_paths(results)
        elapsed = time.perf_counter() - t0
        print(f"\n== {name}: {len(series)} series, validation tail of {series[0]['h']} months, {elapsed:.0f} s ==")
        print(table.round(4).to_string())
        for path, counts in statuses.items():
            print(f"  {path}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        _against(table, reference)
        if "before" in table.index:
            _against(table, "before")
        entry = {"series": len(series), "seconds": elapsed, "statuses": statuses,
                 "paths": table.round(6).reset_index().to_dict(orient="records")}
        long = [r for r in results if r.get("long")]
        if long:
            long_table, _ = score_paths(long)
            print(f"  series whose search window is longer than {LONG_SEARCH} periods ({len(long)}):")
            print(long_table.round(4).to_string())
            entry["long"] = {"series": len(long), "paths": long_table.round(6).reset_index().to_dict(orient="records")}
        report["panels"][name] = entry
        out.write_text(json.dumps(report, indent=2, default=int))
    print(f"\nwritten to {out}")


def main_cycle(args) -> None:
    main_paths(args, cycle_series, "cycle", OUT_CYCLE, {"ages": list(CYCLE_AGES)})


def main_fast(args) -> None:
    main_paths(args, fast_series, "fast", OUT_FAST, {}, reference="default")


def main_search(args) -> None:
    main_paths(args, search_series, "search", OUT_SEARCH, {"rules": SEARCH_RULES, "long_search": LONG_SEARCH})


def _mean_of(preds: dict, names: list[str], weights: list[float] | None = None) -> np.ndarray:
    ok = [(n, w) for n, w in zip(names, weights or [1.0] * len(names)) if np.isfinite(preds[n]).all()]
    if not ok:
        return np.full_like(next(iter(preds.values())), np.nan)
    w = np.array([w for _, w in ok])
    return np.clip(np.average([preds[n] for n, _ in ok], axis=0, weights=w), 0, None)


REGULAR = ("smooth", "erratic")
# fast-mode candidates for regular series: the mean of these models' forecasts (no backtest)
FAST_RULES = {
    "fast:prophet": ("prophet",),
    "fast:ets": ("ets",),
    "fast:theta": ("theta",),
    "fast:ets+theta": ("ets", "theta"),
    "fast:ets+theta+snaive": ("ets", "theta", "seasonal_naive"),
}
# candidate sets removed from the competition, scored from the kept backtest forecasts
PRUNE_RULES = {
    "prune:-mult-flex": ("prophet_mult", "prophet_flex"),
    "prune:-mult-log": ("prophet_mult", "prophet_log"),
    "prune:-flex-log": ("prophet_flex", "prophet_log"),
    "prune:prophet-only": ("prophet_mult", "prophet_flex", "prophet_log"),
    "prune:log-only": ("prophet_mult", "prophet_flex", "prophet"),
    "prune:flex-only": ("prophet_mult", "prophet_log", "prophet"),
    "prune:-mult": ("prophet_mult",),
    "prune:mult+log": ("prophet", "prophet_flex"),
    "prune:mult-only": ("prophet", "prophet_flex", "prophet_log"),
    "prune:-flex": ("prophet_flex",),
    "prune:-arima": ("arima", "combo_stat"),
}


def fast_forecast(r: dict, members: tuple[str, ...]) -> np.ndarray:
    """The fast mode's P50: the mean of ``members`` for regular series, Croston SBA for
    intermittent/lumpy ones, seasonal naive (naive under a season) for short ones."""
    preds = r["preds"]
    if r["kind"] in REGULAR:
        return _mean_of(preds, list(members))
    if r["kind"] in ("intermittent", "lumpy") and "croston_sba" in preds:
        return preds["croston_sba"]
    return preds["seasonal_naive"]


def pruned_pool(r: dict, removed: tuple[str, ...], size: int = 5) -> np.ndarray | None:
    """pool``size`` with ``removed`` left out of the competition, from the kept backtest
    forecasts: the ranking is recomputed and combo_all re-formed with the best remaining Prophet
    configuration (dropped when none remains). None without kept backtest forecasts."""
    bp, cutoffs = r.get("bt_preds"), r.get("cutoffs")
    if bp is None or not cutoffs:
        return None
    y = np.asarray(r["fit"], dtype=float)
    scores = {n: v for n, v in r["scores"].items() if n not in removed}
    prophets = [p for p in PROPHET_CONFIGS if p in scores and np.isfinite(scores[p])]
    best = min(prophets, key=lambda p: (scores[p], SIMPLICITY[p])) if prophets else None
    if "combo_all" in scores:
        if best is None:
            scores.pop("combo_all")
        else:
            members = members_of("combo_all", best)
            stacked = np.mean([bp[m] for m in members], axis=0)
            h = stacked.shape[1]
            per = [mase(y[c : c + h], stacked[i], y[:c], SEASON) if np.isfinite(stacked[i]).all() else np.nan
                   for i, c in enumerate(cutoffs)]
            scores["combo_all"] = float(np.mean(per))
    ranking = rank_models(pd.DataFrame({"model": list(scores), "mase": list(scores.values())}))
    preds = dict(r["preds"])
    if best is not None and "combo_all" in preds:
        preds["combo_all"] = np.mean([preds[m] for m in members_of("combo_all", best)], axis=0)
    members = pool_members(ranking, size)
    return _mean_of(preds, members) if members else preds["seasonal_naive"]


def rule_forecasts(r: dict) -> dict[str, np.ndarray]:
    preds, ranking = r["preds"], r["ranking"]
    out = {name: preds[name] for name in SINGLES}
    for rule, members in FAST_RULES.items():
        out[rule] = fast_forecast(r, members)
    for rule, removed in PRUNE_RULES.items():
        pooled = pruned_pool(r, removed)
        if pooled is not None:
            out[rule] = pooled
    fallback = preds["seasonal_naive"]
    for k in POOL_SIZES:
        members = pool_members(ranking, k)
        out[f"pool{k}"] = _mean_of(preds, members) if members else fallback
    five = pool_members(ranking, 5)
    usable = [n for n in five if np.isfinite(preds[n]).all()]
    if len(usable) >= 2:
        stack = np.array([preds[n] for n in usable])
        out["pool5-median"] = np.clip(combine_forecasts(stack, "median"), 0, None)
        out["pool5-trim"] = np.clip(combine_forecasts(stack, "trimmed"), 0, None)
    else:
        out["pool5-median"] = out["pool5-trim"] = out["pool5"]
    if five:
        with_sn = five if "seasonal_naive" in five else [*five, "seasonal_naive"]
        out["pool5+snaive"] = _mean_of(preds, with_sn)
        weights = [1.0 / max(r["scores"].get(n, np.inf), 1e-9) for n in five]
        out["pool5-invmase"] = _mean_of(preds, five, weights)
    else:
        out["pool5+snaive"] = out["pool5-invmase"] = fallback
    return out


def score_panel(results: list[dict]) -> pd.DataFrame:
    rows = []
    for r in results:
        for rule, f in rule_forecasts(r).items():
            err = np.abs(r["val"] - f)
            rows.append({"series": r["id"], "rule": rule, "mase": mase(r["val"], f, r["fit"], SEASON),
                         "abs_error": float(err.sum()), "actual": float(np.abs(r["val"]).sum()),
                         "wape": float(err.sum() / max(np.abs(r["val"]).sum(), 1e-12))})
    df = pd.DataFrame(rows)
    table = df.groupby("rule").agg(mean_mase=("mase", "mean"), abs_error=("abs_error", "sum"),
                                   actual=("actual", "sum"), mean_wape=("wape", "mean"))
    table["pooled_wape"] = table["abs_error"] / table["actual"]
    return table[["mean_mase", "pooled_wape", "mean_wape"]].sort_values("mean_mase")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panel", default="all", choices=["m3-shipments", "tourism-monthly", "all"])
    ap.add_argument("--limit", type=int, default=None, help="an even spread of N series per panel")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cached", action="store_true", help="score the forecasts kept from the last run")
    ap.add_argument("--windows", type=int, default=DEFAULT_WINDOWS, help="backtest windows per series")
    ap.add_argument("--reuse-fits", default="on", choices=["on", "off"],
                    help="on: the engine's default (ARIMA/ETS forms searched once per series); off: searched in every fit")
    ap.add_argument("--split", default="validation", choices=["validation", "test"],
                    help="test: score the rules on the test tail (only once a rule has been chosen)")
    ap.add_argument("--cycle", action="store_true",
                    help="score the engine's paths instead: lean, before, and a kept selection reused 1, 3 and 6 "
                    "periods after its competition (cycle_series); writes last_validation_cycle.json")
    ap.add_argument("--arima-search", action="store_true",
                    help="score ARIMA's order search exact and approximated (search_series); "
                    "writes last_validation_arima_search.json")
    ap.add_argument("--fast-compare", action="store_true",
                    help="score the default mode, the fast mode and seasonal naive (fast_series); "
                    "writes last_validation_fast.json")
    args = ap.parse_args()
    if args.fast_compare:
        main_fast(args)
        return
    if args.cycle:
        main_cycle(args)
        return
    if args.arima_search:
        main_search(args)
        return
    panels = ["m3-shipments", "tourism-monthly"] if args.panel == "all" else [args.panel]
    report = {"when": time.strftime("%Y-%m-%d %H:%M"), "split": args.split, "windows": args.windows,
              "reuse_fits": args.reuse_fits == "on", "limit": args.limit,
              "arima": dict(ARIMA_OPTIONS), "panels": {}}
    for name in panels:
        series = load_panel(name, args.limit)
        if args.split == "validation":
            series = [s for s in series if len(s["train"]) - s["h"] >= 8]
        t0 = time.perf_counter()
        tag = "" if args.reuse_fits == "on" else "_search"
        cache = CACHE / f"validation_{name}_{args.split}_w{args.windows}_n{len(series)}{tag}.pkl"
        if args.cached and cache.exists():
            results = pickle.loads(cache.read_bytes())
        else:
            with ProcessPoolExecutor(args.workers) as pool:
                results = list(pool.map(partial(validate_series, split=args.split, n_windows=args.windows,
                                                 reuse=args.reuse_fits == "on"), series, chunksize=2))
            CACHE.mkdir(exist_ok=True)
            cache.write_bytes(pickle.dumps(results))
        table = score_panel(results)
        elapsed = time.perf_counter() - t0
        tail = "validation tail (test tail untouched)" if args.split == "validation" else "test tail"
        print(f"\n== {name}: {len(series)} series, {tail} of {series[0]['h']} months, {elapsed:.0f} s ==")
        print(table.round(4).to_string())
        cpu: dict[str, float] = {}
        for r in results:
            for k, v in r.get("cpu", {}).items():
                cpu[k] = cpu.get(k, 0.0) + v / len(results)
        if cpu:
            print(f"model CPU per series {sum(cpu.values()):.2f}s: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
        report["panels"][name] = {"series": len(series), "seconds": elapsed, "cpu_per_series_by_model": cpu,
                                  "rules": table.round(6).reset_index().to_dict(orient="records")}
    out = OUT if args.split == "validation" else OUT_TEST
    if args.windows != DEFAULT_WINDOWS:
        out = out.with_name(f"{out.stem}_w{args.windows}.json")
    if args.reuse_fits == "off":
        out = out.with_name(f"{out.stem}_before.json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
