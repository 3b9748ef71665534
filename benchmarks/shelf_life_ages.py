"""What exact ages across lanes cost: LP size and solve time on a perishable chain.

A synthetic four-partner chain (planning.synthetic: plants -> every DC -> stores, lanes of lead
1 and 0/1) with every product perishable (life 3 or 4, alternating) is planned three ways in
this process, each from the same scenario:

- ``no life``: the products' shelf_life removed (the reference size);
- ``one-row``: ages tracking switched off (``PlanningData.age_sites`` emptied), so every stock
  point gets the former one-row bound, a shipment counted fresh when it left its origin
  (optimistic by up to L-1 periods per intermediate site);
- ``exact``: the model as built (stock and shipments by entry cohort on lanes).

For each it prints columns, rows and nonzeros handed to HiGHS, the build + hand-over time, HiGHS's
time, the objective, and the ratios exact / one-row.

    python benchmarks/shelf_life_ages.py                      # 20 products x 10 sites (200 SKU-locations), 26 weeks
    python benchmarks/shelf_life_ages.py --size 20 1 2 7 26   # products plants dcs stores periods
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planning.data import compile_data  # noqa: E402
from planning.model import build_model  # noqa: E402
from planning.solve import compile_model, run_highs  # noqa: E402
from planning.synthetic import synthetic_chain  # noqa: E402
from scenarios.io import parse_scenario  # noqa: E402


def perishable(size: tuple[int, int, int, int, int], lives: tuple[int, ...] = (3, 4)) -> dict:
    data = synthetic_chain(*size, name="perishable-chain")
    for i, p in enumerate(data["products"]):
        p["shelf_life"] = lives[i % len(lives)]
        p["scrap_cost"] = 1.0
    return data


def run(data: dict, mode: str) -> dict:
    if mode == "no life":
        for p in data["products"]:
            p.pop("shelf_life", None)
    scenario, _ = parse_scenario(data)
    t0 = time.perf_counter()
    d = compile_data(scenario)
    if mode == "one-row":
        d.age_sites.clear()
        d.age_opening.clear()
        d.age_cohorts.clear()
        d.age_lanes = []
    m = build_model(d)
    cm = compile_model(m)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = run_highs(cm, keep_basis=False)
    highs = time.perf_counter() - t1
    return {"mode": mode, "cols": cm.lp.num_col_, "rows": cm.lp.num_row_, "nnz": len(cm.lp.a_matrix_.value_),
            "build": built, "highs": highs, "objective": res.objective, "status": res.status,
            "sku_locations": len(d.stock_keys), "tracked": len(d.age_sites)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", nargs=5, type=int, default=[20, 1, 2, 7, 26],
                    metavar=("PRODUCTS", "PLANTS", "DCS", "STORES", "PERIODS"))
    ap.add_argument("--lives", nargs="+", type=int, default=[3, 4], help="shelf lives, product by product in turn")
    ap.add_argument("--repeat", type=int, default=2, help="solves per mode; the fastest is shown")
    args = ap.parse_args()
    size = tuple(args.size)
    out = {}
    for mode in ("no life", "one-row", "exact"):
        runs = [run(perishable(size, tuple(args.lives)), mode) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["highs"])
        best["build"] = min(r["build"] for r in runs)
        out[mode] = best
    first = out["exact"]
    print(f"chain {size}: {first['sku_locations']} SKU-locations, {first['tracked']} tracked by age; "
          f"lives {'/'.join(map(str, args.lives))}")
    print(f"{'':9}{'cols':>9}{'rows':>9}{'nnz':>10}{'build s':>9}{'HiGHS s':>9}  objective")
    for mode, r in out.items():
        print(f"{mode:9}{r['cols']:9d}{r['rows']:9d}{r['nnz']:10d}{r['build']:9.2f}{r['highs']:9.2f}  "
              f"{r['objective']:,.2f} ({r['status']})")
    a, b = out["exact"], out["one-row"]
    print(f"exact / one-row: cols {a['cols'] / b['cols']:.2f}, rows {a['rows'] / b['rows']:.2f}, "
          f"nnz {a['nnz'] / b['nnz']:.2f}, build {a['build'] / b['build']:.2f}, HiGHS {a['highs'] / b['highs']:.2f}; "
          f"objective {a['objective'] - b['objective']:,.2f}")


if __name__ == "__main__":
    main()
