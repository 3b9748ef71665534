"""The value-of-integration study: warm starts and worker processes against a cold serial run,
in the same process (finance/integration_value.py).

Runs one grid three ways on one scenario: warm serial (the default), cold serial (each solve from
scratch) and, with ``--workers N``, warm in N processes. Prints per point the seconds (whole
point, joint solve, HiGHS inside it) and the joint solve's simplex iterations, warm and cold; the
totals; the ratios warm / cold (point seconds, joint HiGHS seconds, iterations) and parallel /
serial (wall time); and checks that every way gives the same figures (profits to 1e-6
relative). Written to benchmarks/results/last_integration_value.json.

    python benchmarks/integration_value.py                               # small_chain, 5 limits
    python benchmarks/integration_value.py --scenario credit_chain --limit-share 0.5,1,2 --rate scenario,0.24
    python benchmarks/integration_value.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "last_integration_value.json"


def _axis(text: str, kind=float):
    return tuple(None if p.strip() == "scenario" else kind(float(p)) for p in text.split(","))


def main() -> None:
    from finance.integration_value import Grid, value_of_integration
    from scenarios.io import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="small_chain")
    ap.add_argument("--limit-share", default="0.25,0.5,0.75,1,1.5")
    ap.add_argument("--rate", default="scenario")
    ap.add_argument("--buyer-terms", default="scenario")
    ap.add_argument("--demand", default="1")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    scenario, _ = load_scenario(args.scenario)
    grid = Grid(limit_share=_axis(args.limit_share), rate=_axis(args.rate), buyer_terms=_axis(args.buyer_terms, int),
                demand=_axis(args.demand))
    runs = {}
    ways = [("warm", dict(warm=True)), ("cold", dict(warm=False))]
    if args.workers > 1:
        ways.append((f"warm_{args.workers}_workers", dict(warm=True, workers=args.workers)))
    for name, kw in ways:
        t0 = time.perf_counter()
        study = value_of_integration(scenario, grid, **kw)
        runs[name] = (time.perf_counter() - t0, study.rows)
        print(f"{name}: {runs[name][0]:.1f} s for {len(study.rows)} points", flush=True)
    warm, cold = runs["warm"][1], runs["cold"][1]
    print(f"\n{'point':>5} {'warm s':>7} {'cold s':>7} {'joint warm':>10} {'joint cold':>10} {'HiGHS warm':>10} "
          f"{'HiGHS cold':>10} {'iter warm':>9} {'iter cold':>9}")
    for a, b in zip(warm, cold):
        print(f"{a['index']:>5} {a['seconds']:7.2f} {b['seconds']:7.2f} {a['seconds_joint']:10.2f} {b['seconds_joint']:10.2f} "
              f"{a['highs_seconds_joint']:10.3f} {b['highs_seconds_joint']:10.3f} {a['simplex_iterations_joint'] or 0:9d} "
              f"{b['simplex_iterations_joint'] or 0:9d}")
    same = True
    for name, (_, rows) in runs.items():
        for a, b in zip(warm, rows):
            for k in ("sequential_chain_profit", "joint_chain_profit"):
                x, y = a.get(k), b.get(k)
                if (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-6 * max(1.0, abs(x))):
                    same = False
                    print(f"  differs: {name} point {a['index']} {k}: {x} vs {y}")

    def total(rows, key):
        return sum(r.get(key) or 0.0 for r in rows[1:])  # the first point is cold either way

    out = {
        "scenario": scenario.name, "grid": grid.to_dict(), "points": len(warm),
        "wall_seconds": {name: wall for name, (wall, _) in runs.items()},
        "warm_over_cold": {
            "point_seconds": total(warm, "seconds") / max(1e-9, total(cold, "seconds")),
            "joint_seconds": total(warm, "seconds_joint") / max(1e-9, total(cold, "seconds_joint")),
            "joint_highs_seconds": total(warm, "highs_seconds_joint") / max(1e-9, total(cold, "highs_seconds_joint")),
            "joint_simplex_iterations": total(warm, "simplex_iterations_joint")
            / max(1.0, total(cold, "simplex_iterations_joint")),
        },
        "same_figures": same,
    }
    if args.workers > 1:
        out["parallel_over_serial_wall"] = runs[f"warm_{args.workers}_workers"][0] / runs["warm"][0]
    print("\nwarm / cold, points 2..n: " + ", ".join(f"{k} {v:.3f}" for k, v in out["warm_over_cold"].items()))
    if "parallel_over_serial_wall" in out:
        print(f"{args.workers} workers / serial, wall: {out['parallel_over_serial_wall']:.2f}")
    print(f"same figures every way: {same}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
