"""Where a Dask worker's time goes: the fits' own CPU against the whole worker process's CPU.

The same series are forecast (default mode) by a process pool of 2 and by Dask LocalClusters of
2 single-threaded workers under different worker settings. Each series is timed inside the
worker: wall seconds, the CPU seconds of the thread that ran it (``time.thread_time``) and of the
whole worker process (``time.process_time``). Process CPU minus thread CPU is what the worker's
other threads used meanwhile (for Dask: its event loop, the stack profiler, the system
monitor), which on a machine with as many cores as workers comes out of the fits' share.

Settings compared:

- ``default``: Dask's own (stack profiler every 10 ms, event-loop tick 20 ms, system monitor
  0.5 s);
- ``no-profile``: the profiler off;
- ``jointplan``: :data:`forecasting.engine.DASK_WORKER_CONFIG` (profiler off, tick 0.5 s,
  system monitor 5 s), as jointplan's own LocalCluster runs.

Each cluster is warmed up before its clock starts. Runs alternate in the order given, so drift
in the machine's speed hits every setting alike.

Run: ``python benchmarks/dask_worker_cpu.py [--series 20] [--order processes,default,no-profile,jointplan,...]``;
prints one line per run and writes ``benchmarks/last_dask_worker_cpu.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast_scale import tourism_panel  # noqa: E402

from forecasting.engine import (  # noqa: E402
    DASK_WORKER_CONFIG,
    ForecastOptions,
    _process_context,
    _split_panel,
    forecast_unit,
    local_cluster,
)

OUT = Path(__file__).with_name("last_dask_worker_cpu.json")
SETTINGS = {
    "default": {},
    "no-profile": {"distributed.worker.profile.enabled": False},
    "jointplan": DASK_WORKER_CONFIG,
}


def timed_unit(unit, options) -> tuple[float, float, float]:
    """(wall, thread CPU, process CPU) seconds of one series' forecast, measured in the worker."""
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    forecast_unit(unit, options)
    return time.perf_counter() - wall, time.thread_time() - thread, time.process_time() - process


def run(name: str, units, options) -> dict:
    if name == "processes":
        started = time.perf_counter()
        with ProcessPoolExecutor(2, mp_context=_process_context(True)) as pool:
            rows = list(pool.map(timed_unit, units, [options] * len(units)))
        wall = time.perf_counter() - started
    else:
        from distributed import Client

        with local_cluster(2, SETTINGS[name]) as cluster, Client(cluster) as client:
            client.gather(client.map(timed_unit, units[:2], [options] * 2, pure=False))  # warm up
            started = time.perf_counter()
            rows = client.gather(client.map(timed_unit, units, [options] * len(units), pure=False))
            wall = time.perf_counter() - started
    unit_wall, thread, process = (sum(r[i] for r in rows) for i in range(3))
    result = {"run": name, "wall_seconds": wall, "series_wall_seconds": unit_wall, "fit_thread_cpu_seconds": thread,
              "worker_process_cpu_seconds": process, "other_threads_cpu_seconds": process - thread}
    print(f"{name:>11}: wall {wall:6.1f} s  series wall {unit_wall:6.1f} s  fit-thread CPU {thread:6.1f} s  "
          f"worker CPU {process:6.1f} s  other threads {process - thread:4.1f} s", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=20)
    ap.add_argument("--order", default="processes,default,no-profile,jointplan,processes,jointplan,no-profile,default")
    args = ap.parse_args()
    order = args.order.split(",")
    unknown = [n for n in order if n != "processes" and n not in SETTINGS]
    if unknown:
        ap.error(f"--order: unknown run {unknown[0]!r} (processes, {', '.join(SETTINGS)})")
    units, _ = _split_panel(tourism_panel(args.series, 120), "M", 24, None, [], None)
    options = ForecastOptions(horizon=24, freq="M")
    print(f"{len(units)} monthly series x 120 months, horizon 24, default mode, 2 workers")
    runs = [run(name, units, options) for name in order]
    OUT.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "series": len(units), "runs": runs}, indent=2))
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
