"""How jointplan's planning pipeline scales: build, hand-over, HiGHS, read-back.

Generates synthetic four-partner chains (planning.synthetic) of growing size and, for each,
prints variables, constraints, the time of every phase, peak memory, and the ratio of
end-to-end time to HiGHS time (the target: at most 1.5 on the largest size).

    python benchmarks/plan_scale.py                  # the ladder, small to >= 750k variables
    python benchmarks/plan_scale.py --size 20 2 5 100 26   # one size: products plants dcs stores periods
    python benchmarks/plan_scale.py --json results.json
    python benchmarks/plan_scale.py --compare --size 20 2 5 100 26   # side by side, see below

Phases: "load" parses and checks the scenario (pydantic + check_*), "build" derives the data
and builds the Pyomo model, "handover" compiles it to standard form and passes it to highspy,
"highs" is HiGHS's own run, "readback" turns the solution into the plan's tables and KPIs.
End-to-end = build + handover + highs + readback (the scenario is already loaded, as in the API).

--compare also solves each size's compiled model the way jointplan did before issue 16 (dual
simplex whatever the size: ``lp_method="simplex"``) in the same process, after the default
(``auto``: interior point with crossover from planning.solve.IPM_MIN_COLUMNS columns), and prints
both HiGHS times (wall and CPU), the methods, both objectives and the ratio reference / new.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planning.data import compile_data  # noqa: E402
from planning.model import build_model  # noqa: E402
from planning.plan import read_plan  # noqa: E402
from planning.solve import compile_model, run_highs  # noqa: E402
from planning.synthetic import approximate_variables, synthetic_chain  # noqa: E402
from scenarios.io import parse_scenario  # noqa: E402

LADDER = [
    (5, 1, 2, 10, 26),
    (10, 2, 4, 40, 26),
    (20, 2, 5, 100, 26),
    (36, 3, 8, 160, 26),
]


class PeakRSS:
    """Samples this process's resident memory every 50 ms; .peak in bytes."""

    def __init__(self):
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def _highs(cm, threads: int | None, lp_method: str):
    c0 = time.process_time()
    result = run_highs(cm, threads=threads, lp_method=lp_method, keep_basis=False)
    return result, time.process_time() - c0


def run_size(size: tuple[int, int, int, int, int], threads: int | None = None, compare: bool = False) -> dict:
    gc.collect()
    data = synthetic_chain(*size, seed=1)
    t0 = time.perf_counter()
    scenario, _ = parse_scenario(data)
    load = time.perf_counter() - t0
    del data
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        d = compile_data(scenario)
        m = build_model(d)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        cm = compile_model(m)
        compile_time = time.perf_counter() - t0
        result, highs_cpu = _highs(cm, threads, "auto")
        handover = compile_time + result.timings["pass_model"]
        highs = result.timings["highs"]
        t0 = time.perf_counter()
        tables, kpis, _ = read_plan(m, d, result, cm)
        readback = time.perf_counter() - t0
    end_to_end = build + handover + highs + readback
    reference = None
    if compare:
        print(f"# {size}: the reference solve (dual simplex)", file=sys.stderr, flush=True)
        ref, ref_cpu = _highs(cm, threads, "simplex")
        reference = {"method": ref.method, "status": ref.status, "objective": ref.objective,
                     "highs_s": ref.timings["highs"], "highs_cpu_s": ref_cpu,
                     "simplex_iterations": ref.simplex_iterations}
    return {
        "size": "x".join(map(str, size)),
        "variables": cm.lp.num_col_,
        "constraints": cm.lp.num_row_,
        "nonzeros": len(cm.lp.a_matrix_.value_),
        "status": result.status,
        "load_s": load,
        "build_s": build,
        "handover_s": handover,
        "highs_s": highs,
        "readback_s": readback,
        "end_to_end_s": end_to_end,
        "peak_rss_mb": mem.peak / 2**20,
        "ratio": end_to_end / highs if highs > 0 else float("nan"),
        "objective": result.objective,
        "method": result.method,
        "highs_cpu_s": highs_cpu,
        "ipm_iterations": result.ipm_iterations,
        "simplex_iterations": result.simplex_iterations,
        **({"reference": reference} if reference else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=5, type=int, metavar=("PRODUCTS", "PLANTS", "DCS", "STORES", "PERIODS"))
    parser.add_argument("--threads", type=int, default=None, help="HiGHS threads")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--compare", action="store_true",
                        help="also solve each size by dual simplex (the formulation before issue 16) and print the ratio")
    args = parser.parse_args(argv)
    sizes = [tuple(args.size)] if args.size else LADDER
    header = (
        f"{'size (PxPLxDCxSTxT)':>22} {'vars':>9} {'cons':>9} {'load':>7} {'build':>7} {'handover':>8} "
        f"{'highs':>8} {'readback':>8} {'e2e':>8} {'peakMB':>7} {'e2e/highs':>9}"
    )
    print(header)
    results = []
    for size in sizes:
        print(f"# running {size} (~{approximate_variables(*size):,} variables)", file=sys.stderr, flush=True)
        r = run_size(size, args.threads, args.compare)
        results.append(r)
        print(
            f"{r['size']:>22} {r['variables']:>9,} {r['constraints']:>9,} {r['load_s']:>7.2f} {r['build_s']:>7.2f} "
            f"{r['handover_s']:>8.2f} {r['highs_s']:>8.2f} {r['readback_s']:>8.2f} {r['end_to_end_s']:>8.2f} "
            f"{r['peak_rss_mb']:>7.0f} {r['ratio']:>9.2f}",
            flush=True,
        )
        if args.compare:
            ref = r["reference"]
            same = abs(ref["objective"] - r["objective"]) <= 1e-6 * max(1.0, abs(ref["objective"]))
            print(f"{'':>22} new ({r['method']}): HiGHS {r['highs_s']:.2f} s wall, {r['highs_cpu_s']:.2f} s CPU; "
                  f"reference ({ref['method']}): {ref['highs_s']:.2f} s wall, {ref['highs_cpu_s']:.2f} s CPU; "
                  f"reference/new = {ref['highs_s'] / r['highs_s']:.2f} wall, {ref['highs_cpu_s'] / r['highs_cpu_s']:.2f} CPU; "
                  f"objectives {'equal' if same else 'DIFFER'} ({r['objective']:.6f} vs {ref['objective']:.6f})",
                  flush=True)
    last = results[-1]
    print(
        f"largest size {last['size']}: {last['variables']:,} variables, end-to-end {last['end_to_end_s']:.1f} s, "
        f"HiGHS {last['highs_s']:.1f} s, ratio end-to-end/HiGHS = {last['ratio']:.2f} (target <= 1.5)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
