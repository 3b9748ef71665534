"""What-if re-plans: cold against warm-started from the base plan's basis, on the synthetic ladder.

For each size (planning.synthetic, as benchmarks/plan_scale.py) a base plan is solved cold and
its final HiGHS basis kept (planning/warm.py); then each what-if scenario is solved twice in the
same process, cold and warm-started from the base plan's basis (mapped by variable and constraint
names). Printed per what-if: cold HiGHS time and simplex iterations, warm HiGHS time (plus the
time to map the basis and have HiGHS factor it) and iterations, both objectives, their relative
difference, and the ratio warm / cold (HiGHS time, the mapping included). Written to
benchmarks/results/last_whatif.json.

    python benchmarks/whatif.py                 # the ladder up to the 57k-variable chain
    python benchmarks/whatif.py --with-271k     # ... and the 271k-variable chain
    python benchmarks/whatif.py --with-788k     # ... and the 788k-variable chain (hours)
    python benchmarks/whatif.py --size 10 2 4 40 26 --whatifs demand new_lane

What-ifs (the issue's battery; every edit is seeded, so a run is repeatable):
- demand: 20 % of the demand series, each period changed by up to +-10 %;
- capacity: one plant's capacity (hours per worker, or its regular capacity) cut by 30 % for 4 periods;
- price: one product's consumer price up 5 % at every store;
- payment_terms: the manufacturer collects one period sooner (its customers pay sooner);
- new_lane: a new lane from the first plant straight to the first store (new columns and rows).
``--whatifs all`` adds costs, safety_stock, opening_stock (data) and new_product, new_site
(structure): every kind the tests check.

Targets (issue 16): warm / cold <= 0.05 at 271k variables for data-only changes, <= 0.25 for a new lane.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LADDER = {
    "8k": (5, 1, 2, 10, 26),
    "57k": (10, 2, 4, 40, 26),
    "271k": (20, 2, 5, 100, 26),
    "788k": (36, 3, 8, 160, 26),
}
DATA_WHATIFS = ("demand", "capacity", "price", "payment_terms", "costs", "safety_stock", "opening_stock")
STRUCTURE_WHATIFS = ("new_lane", "new_product", "new_site")
BATTERY = ("demand", "capacity", "price", "payment_terms", "new_lane")
RESULTS = ROOT / "benchmarks" / "results" / "last_whatif.json"


# ---------------------------------------------------------------------------------------------
# Edits: scenario dict -> edited copy (seeded)
# ---------------------------------------------------------------------------------------------


def _series(value: Any, T: int) -> list[float]:
    return list(map(float, value)) if isinstance(value, list) else [float(value)] * T


def _scale(value: Any, factor: Any, T: int) -> list[float] | dict[str, list[float]]:
    if isinstance(value, dict):  # per product
        return {p: _scale(v, factor, T) for p, v in value.items()}
    f = np.broadcast_to(np.asarray(factor, dtype=float), (T,))
    return [round(v * k, 4) for v, k in zip(_series(value, T), f)]


def _plants(d: dict) -> list[dict]:
    return [s for s in d["sites"] if s.get("production")]


def edit_demand(d: dict, rng: np.random.Generator) -> dict:
    """20 % of the demand series (at least one), each period changed by up to +-10 %."""
    T = d["time"]["periods"]
    rows = d["demand"]
    k = max(1, round(0.2 * len(rows)))
    for i in rng.choice(len(rows), size=k, replace=False):
        q = _series(rows[i]["quantity"], T)
        rows[i]["quantity"] = [float(np.round(v * f)) for v, f in zip(q, rng.uniform(0.9, 1.1, size=T))]
    return d


def edit_capacity(d: dict, rng: np.random.Generator) -> dict:
    """One plant's capacity cut by 30 % for 4 periods (from a third of the horizon)."""
    T = d["time"]["periods"]
    factor = np.ones(T)
    start = T // 3
    factor[start:start + 4] = 0.7
    prod = _plants(d)[0]["production"]
    if prod.get("workforce"):
        wf = prod["workforce"]
        wf["hours_per_worker"] = _scale(wf.get("hours_per_worker", 160.0), factor, T)
    else:
        prod["regular_capacity"] = _scale(prod["regular_capacity"], factor, T)
    return d


def edit_price(d: dict, rng: np.random.Generator) -> dict:
    """One product's consumer price up 5 % at every store."""
    product = d["products"][int(rng.integers(len(d["products"])))]["id"]
    T = d["time"]["periods"]
    for row in d["demand"]:
        if row["product"] == product:
            row["price"] = _scale(row["price"], 1.05, T)
    return d


def edit_payment_terms(d: dict, rng: np.random.Generator) -> dict:
    """The manufacturer collects one period sooner (or, already at 0, one period later)."""
    for p in d["partners"]:
        if p["role"] == "manufacturer":
            terms = p.setdefault("payment_terms", {})
            lag = int(terms.get("collection_lag", 0))
            terms["collection_lag"] = lag - 1 if lag > 0 else 1
            return d
    raise ValueError("no manufacturer")


def edit_costs(d: dict, rng: np.random.Generator) -> dict:
    """Holding costs up 10 % everywhere, the first plant's material costs up 5 %."""
    T = d["time"]["periods"]
    for s in d["sites"]:
        if s.get("holding_cost") is not None:
            s["holding_cost"] = _scale(s["holding_cost"], 1.1, T)
    prod = _plants(d)[0]["production"]
    mc = prod.get("material_cost")
    if isinstance(mc, dict):
        prod["material_cost"] = {p: _scale(v, 1.05, T) for p, v in mc.items()}
    elif mc is not None:
        prod["material_cost"] = _scale(mc, 1.05, T)
    return d


def edit_safety_stock(d: dict, rng: np.random.Generator) -> dict:
    """Every positive safety stock up 20 %."""
    T = d["time"]["periods"]
    for s in d["sites"]:
        for p in s.get("products") or []:
            if p.get("safety_stock"):
                p["safety_stock"] = _scale(p["safety_stock"], 1.2, T)
    return d


def edit_opening_stock(d: dict, rng: np.random.Generator) -> dict:
    """Every opening inventory down 20 %."""
    for s in d["sites"]:
        for p in s.get("products") or []:
            if p.get("opening_inventory"):
                p["opening_inventory"] = round(float(p["opening_inventory"]) * 0.8, 2)
    return d


def edit_new_lane(d: dict, rng: np.random.Generator) -> dict:
    """A new lane from the first plant straight to the first store (new ship columns, a new lane's
    rows, new terms in the inventory and cash balances)."""
    plant = _plants(d)[0]["id"]
    store = next(s["id"] for s in d["sites"] if s.get("kind") == "store")
    template = next(ln for ln in d["lanes"] if ln["destination"] == store)
    lane = {k: v for k, v in template.items() if k not in ("capacity",)}
    lane.update(id=f"{plant}-direct-{store}", origin=plant, destination=store, lead_time=1,
                cost_per_unit=round(float(template.get("cost_per_unit", 0.5)) * 1.5, 2))
    d["lanes"].append(lane)
    # the plant's partner now sells straight to the store's: at the price the store pays today
    partner = {s["id"]: s["partner"] for s in d["sites"]}
    seller, buyer = partner[plant], partner[store]
    if seller != buyer:
        prices = d.setdefault("transfer_prices", [])
        have = {r["product"] for r in prices if r["seller"] == seller and r["buyer"] == buyer}
        for r in [r for r in prices if r["buyer"] == buyer]:
            if r["product"] not in have:
                prices.append({**copy.deepcopy(r), "seller": seller})
                have.add(r["product"])
    return d


def _copy_entity(obj: Any, key: str, old: str, new: str) -> None:
    """Wherever a list holds a dict with ``key == old``, append a copy with ``key = new``; wherever
    a dict is keyed by ``old`` (a per-product mapping), add ``new`` with the same value; wherever
    a list of ids holds ``old``, append ``new``."""
    if isinstance(obj, dict):
        if old in obj:
            obj[new] = copy.deepcopy(obj[old])
        for v in list(obj.values()):
            _copy_entity(v, key, old, new)
    elif isinstance(obj, list):
        extra = [dict(copy.deepcopy(x), **{key: new}) for x in obj if isinstance(x, dict) and x.get(key) == old]
        extra += [new for x in obj if x == old]
        for x in obj:
            _copy_entity(x, key, old, new)
        obj.extend(extra)


def edit_new_product(d: dict, rng: np.random.Generator) -> dict:
    """A new product made like the first one (same plants, stocking points, demand, prices)."""
    old = d["products"][0]["id"]
    new = f"{old}-new"
    d["products"].append({**copy.deepcopy(d["products"][0]), "id": new, **({"name": "New"} if "name" in d["products"][0] else {})})
    for section in ("sites", "demand", "transfer_prices"):
        _copy_entity(d.get(section), "product", old, new)
    return d


def edit_new_site(d: dict, rng: np.random.Generator) -> dict:
    """A new store like the last one (its demand, service policy and inbound lane copied)."""
    stores = [s for s in d["sites"] if s.get("kind") == "store"]
    old = stores[-1]["id"]
    new = f"{old}-new"
    d["sites"].append({**copy.deepcopy(stores[-1]), "id": new})
    d["demand"] += [{**copy.deepcopy(r), "site": new} for r in d["demand"] if r["site"] == old]
    d["service"] = (d.get("service") or []) + [{**copy.deepcopy(r), "site": new} for r in d.get("service") or []
                                               if r["site"] == old]
    d["lanes"] += [{**copy.deepcopy(ln), "id": f"{ln['id']}-new", "destination": new} for ln in d["lanes"]
                   if ln["destination"] == old]
    return d


EDITS: dict[str, Callable[[dict, np.random.Generator], dict]] = {
    "demand": edit_demand,
    "capacity": edit_capacity,
    "price": edit_price,
    "payment_terms": edit_payment_terms,
    "costs": edit_costs,
    "safety_stock": edit_safety_stock,
    "opening_stock": edit_opening_stock,
    "new_lane": edit_new_lane,
    "new_product": edit_new_product,
    "new_site": edit_new_site,
}


def whatif(data: dict, kind: str, seed: int = 7) -> dict:
    """The scenario ``data`` (a dict) with one what-if applied (a new dict)."""
    return EDITS[kind](copy.deepcopy(data), np.random.default_rng(seed))


# ---------------------------------------------------------------------------------------------
# Solves
# ---------------------------------------------------------------------------------------------


def solve(data: dict, warm=None, threads: int | None = None) -> dict[str, Any]:
    """Build and solve ``data``; HiGHS figures and the result (its basis kept)."""
    from planning.data import compile_data
    from planning.model import build_model
    from planning.solve import compile_model, run_highs
    from scenarios.io import parse_scenario

    scenario, _ = parse_scenario(copy.deepcopy(data))
    t0 = time.perf_counter()
    m = build_model(compile_data(scenario))
    cm = compile_model(m)
    build = time.perf_counter() - t0
    r = run_highs(cm, warm=warm, warm_label="base plan", threads=threads)
    return {
        "result": r,
        "variables": cm.lp.num_col_,
        "constraints": cm.lp.num_row_,
        "build_s": build,
        "highs_s": r.timings["highs"],
        "map_s": r.timings.get("warm_map", 0.0),
        "names_s": 0.0,
        "iterations": r.simplex_iterations,
        "objective": r.objective,
        "status": r.status,
        "warm_start": r.warm_start,
    }


def run_size(label: str, size: tuple[int, ...], kinds: list[str], threads: int | None, log=print) -> dict[str, Any]:
    from planning.synthetic import synthetic_chain

    base_data = synthetic_chain(*size, seed=1)
    base = solve(base_data, threads=threads)
    basis = base["result"].basis
    out: dict[str, Any] = {
        "size": label, "shape": "x".join(map(str, size)), "variables": base["variables"],
        "constraints": base["constraints"], "base": {k: base[k] for k in ("highs_s", "iterations", "objective", "status")},
        "basis_bytes": len(basis.to_bytes()) if basis is not None else None, "whatifs": [],
    }
    log(f"# {label} ({out['shape']}): {base['variables']:,} variables, {base['constraints']:,} constraints; base plan "
        f"{base['highs_s']:.2f} s, {base['iterations']:,} iterations; basis {out['basis_bytes'] or 0:,} bytes")
    for kind in kinds:
        data = whatif(base_data, kind)
        cold = solve(data, threads=threads)
        warm = solve(data, warm=basis, threads=threads)
        ws = warm["warm_start"] or {}
        warm_total = warm["highs_s"] + warm["map_s"]
        rel = (abs(warm["objective"] - cold["objective"]) / max(1.0, abs(cold["objective"]))
               if warm["objective"] is not None and cold["objective"] is not None else None)
        row = {
            "whatif": kind,
            "kind": "data" if kind in DATA_WHATIFS else "structure",
            "variables": cold["variables"],
            "build_s": cold["build_s"],
            "cold_s": cold["highs_s"],
            "cold_iterations": cold["iterations"],
            "warm_s": warm_total,
            "warm_highs_s": warm["highs_s"],
            "warm_map_s": warm["map_s"],
            "warm_iterations": warm["iterations"],
            "cold_objective": cold["objective"],
            "warm_objective": warm["objective"],
            "relative_difference": rel,
            "ratio": warm_total / cold["highs_s"] if cold["highs_s"] > 0 else None,
            "warm_used": bool(ws.get("used")) and not ws.get("fallback"),
            "matched": ws.get("matched"),
            "new": ws.get("new"),
            "dropped": ws.get("dropped"),
            "fallback": ws.get("fallback") or ws.get("reason"),
            "status": (cold["status"], warm["status"]),
        }
        out["whatifs"].append(row)
        log(f"{label:>5} {kind:<14} {row['cold_s']:>9.2f} {row['cold_iterations']:>9,} {row['warm_s']:>8.2f} "
            f"{row['warm_iterations']:>8,} {row['cold_objective']:>16,.2f} {row['warm_objective']:>16,.2f} "
            f"{(rel if rel is not None else float('nan')):>9.1e} {row['ratio']:>7.3f}"
            + ("" if row["warm_used"] else f"  (cold: {row['fallback']})"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=5, type=int, metavar=("PRODUCTS", "PLANTS", "DCS", "STORES", "PERIODS"),
                        help="one size instead of the ladder")
    parser.add_argument("--with-271k", action="store_true", help="also the 271k-variable chain (about 10 min here)")
    parser.add_argument("--with-788k", action="store_true", help="also the 788k-variable chain (hours)")
    parser.add_argument("--only", nargs="+", choices=list(LADDER), help="only these ladder sizes")
    parser.add_argument("--whatifs", nargs="+", default=list(BATTERY), help=f"what-ifs to run, or 'all' ({', '.join(EDITS)})")
    parser.add_argument("--threads", type=int, default=None, help="HiGHS threads")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures (default {RESULTS})")
    args = parser.parse_args(argv)
    kinds = list(EDITS) if args.whatifs == ["all"] else args.whatifs
    unknown = [k for k in kinds if k not in EDITS]
    if unknown:
        parser.error(f"unknown what-if {unknown}; choose from {', '.join(EDITS)} or all")
    if args.size:
        sizes = [("x".join(map(str, args.size)), tuple(args.size))]
    else:
        labels = args.only or ["8k", "57k"] + (["271k"] if args.with_271k else []) + (["788k"] if args.with_788k else [])
        sizes = [(lab, LADDER[lab]) for lab in labels]
    load_before = os.getloadavg()
    print(f"# machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"{'size':>5} {'what-if':<14} {'cold s':>9} {'cold it':>9} {'warm s':>8} {'warm it':>8} "
          f"{'cold objective':>16} {'warm objective':>16} {'rel diff':>9} {'w/c':>7}")
    results = []
    for label, size in sizes:
        results.append(run_size(label, size, kinds, args.threads))
        print(flush=True)
    load_after = os.getloadavg()
    summary = []
    for r in results:
        data = [w["ratio"] for w in r["whatifs"] if w["kind"] == "data" and w["ratio"] is not None]
        struct = [w["ratio"] for w in r["whatifs"] if w["kind"] == "structure" and w["ratio"] is not None]
        worst_rel = max((w["relative_difference"] or 0.0 for w in r["whatifs"]), default=0.0)
        line = (f"{r['size']}: warm/cold data-only max {max(data):.3f}" if data else f"{r['size']}:")
        if struct:
            line += f", structural max {max(struct):.3f}"
        line += f"; objectives agree to {worst_rel:.1e} (relative)"
        summary.append(line)
        print(line)
    print("targets at 271k: data-only <= 0.05, new lane <= 0.25")
    print(f"# load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "cores": os.cpu_count(),
                                     "sizes": results, "summary": summary}, indent=2, default=str))
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
