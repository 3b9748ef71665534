"""How long the plan's Excel workbook (planning/workbook.py) takes to build, against the reference.

Plans a synthetic four-partner chain (planning.synthetic, as benchmarks/plan_scale.py) once,
keeps the plan's JSON in a cache file (HiGHS takes minutes at these sizes), then, in this one
process, builds the workbook bytes with the reference implementation (benchmarks/
workbook_reference.py: planning/workbook.py as it was before it was made fast, cell-by-cell
openpyxl) and with today's planning/workbook.py, and prints seconds, file size and the ratio.

    python benchmarks/workbook.py                    # ~2,100 SKU-locations (20 products x 107 sites)
    python benchmarks/workbook.py --large            # also ~5,000 SKU-locations (the plan scaled 2.4x)
    python benchmarks/workbook.py --size 5 1 2 10 26 # one size: products plants dcs stores periods
    python benchmarks/workbook.py --profile          # cProfile of each build, top 25 by own time
    python benchmarks/workbook.py --no-reference     # today's build only
    python benchmarks/workbook.py --no-reference --api  # and three downloads through the API
    python benchmarks/workbook.py --json out.json

SKU-locations = products x (plants + DCs + stores). The plan is the API's stored result shape
(``Plan.to_dict()`` through JSON), which is what ``GET /plans/{id}/xlsx`` builds from.

``--large`` does not plan a chain of ~5,000 SKU-locations (HiGHS takes most of an hour on one of
~790k variables, benchmarks/last_ladder.json): it scales the ~2,100 plan's tables by 2.4, copying
the rows of 2.4 times as many products under new names (and 2.4 times the rows of the tables
without a product, e.g. the cash flows), which is what the workbook's time depends on.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT = (20, 2, 5, 100, 26)  # 20 x 107 = 2,140 SKU-locations, 26 weeks
LARGE_SCALE = 2.4  # 48 x 107 = 5,136 SKU-locations
CACHE = Path(os.environ.get("JOINTPLAN_BENCH_CACHE", "/tmp/jointplan-bench"))


def sku_locations(size) -> int:
    products, plants, dcs, stores, _ = size
    return products * (plants + dcs + stores)


def plan_json(size, *, time_limit: float | None = None) -> dict:
    """The plan of the synthetic chain of ``size`` as the service stores it (cached on disk)."""
    path = CACHE / f"plan-{'x'.join(map(str, size))}.json"
    if path.exists():
        return json.loads(path.read_text())
    from planning.plan import json_default, plan_scenario
    from planning.synthetic import synthetic_chain
    from scenarios.io import parse_scenario

    print(f"# planning {size} (HiGHS; cached in {path})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    scenario, _ = parse_scenario(synthetic_chain(*size, seed=1))
    plan = plan_scenario(scenario, time_limit=time_limit)
    print(f"# planned in {time.perf_counter() - t0:.0f} s: {plan.status}", file=sys.stderr, flush=True)
    text = json.dumps(plan.to_dict(), default=json_default)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return json.loads(text)


def scaled_plan(plan: dict, factor: float) -> dict:
    """The plan with ``factor`` times the rows: each product's rows copied under new product
    names (``p003~1``) for ``factor`` times as many products; tables without a product column
    repeat their first rows to ``factor`` times their length."""
    tables = {}
    for name, rows in (plan.get("tables") or {}).items():
        if rows and "product" in rows[0]:
            products = sorted({r["product"] for r in rows})
            out = list(rows)
            for k in range(1, int(factor + 0.999999)):
                keep = set(products[:round((factor - k) * len(products))]) if factor - k < 1 else set(products)
                out += [{**r, "product": f"{r['product']}~{k}"} for r in rows if r["product"] in keep]
        else:
            out = (list(rows) * int(factor + 1))[:round(len(rows) * factor)] if len(rows) > 1000 else list(rows)
        tables[name] = out
    return {**plan, "tables": tables}


def build(module, plan: dict, profile: bool) -> tuple[float, float, bytes]:
    """Wall-clock and CPU seconds (this process, all threads) of writing the workbook, and its bytes."""
    gc.collect()
    prof = cProfile.Profile() if profile else None
    c0 = time.process_time()
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    buf = io.BytesIO()
    module.write_workbook(buf, plan)
    if prof:
        prof.disable()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if prof:
        print(f"\n# profile: {module.__name__}", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return seconds, cpu, buf.getvalue()


def run_size(size, *, reference: bool, profile: bool, time_limit: float | None, scale: float = 1.0) -> dict:
    import planning.workbook as today

    plan = plan_json(size, time_limit=time_limit)
    label = "x".join(map(str, size))
    if scale != 1.0:
        plan = scaled_plan(plan, scale)
        label += f" x{scale:g}"
    rows = sum(len(r) for r in (plan.get("tables") or {}).values())
    out = {"size": label, "sku_locations": round(sku_locations(size) * scale), "table_rows": rows,
           "load_1min": os.getloadavg()[0]}
    if reference:
        import workbook_reference as ref

        out["reference_s"], out["reference_cpu_s"], data = build(ref, plan, profile)
        out["reference_bytes"] = len(data)
    out["today_s"], out["today_cpu_s"], data = build(today, plan, profile)
    out["today_bytes"] = len(data)
    out["load_1min_after"] = os.getloadavg()[0]
    if reference:
        out["ratio"] = out["reference_s"] / out["today_s"]
        out["cpu_ratio"] = out["reference_cpu_s"] / out["today_cpu_s"]
    return out


def api_downloads(size, n: int = 3) -> list[tuple[float, float, int]]:
    """``GET /plans/{id}/xlsx`` ``n`` times for the plan of ``size`` stored as a done plan in a
    fresh SQLite database (the service's app in process, tests/api_world.py's users): wall and
    CPU seconds and bytes of each download. The first builds the workbook, the others get the
    bytes the process kept."""
    import tempfile
    from datetime import datetime, timezone

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fastapi.testclient import TestClient

    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import PlanRecord, ScenarioVersion
    from api_world import make_app, scenario_content, seed_users

    plan = plan_json(size)
    url = f"sqlite:///{tempfile.mkdtemp()}/workbook-bench.db"
    upgrade(url)
    engine = make_engine(url)
    tokens, _ = seed_users(engine)
    out = []
    with TestClient(make_app(url, engine)) as client:
        auth = {"Authorization": f"Bearer {tokens['pl']}"}
        r = client.post("/scenarios", json={"name": "bench", "content": scenario_content()}, headers=auth)
        r.raise_for_status()
        with session_factory(engine)() as s:
            version = s.query(ScenarioVersion).filter_by(scenario_id=r.json()["scenario_id"]).one()
            record = PlanRecord(scenario_version_id=version.id, options={}, options_hash="bench", status="done",
                                result=plan, finished_at=datetime.now(timezone.utc))
            s.add(record)
            s.commit()
            plan_id = record.id
        for _ in range(n):
            c0, t0 = time.process_time(), time.perf_counter()
            r = client.get(f"/plans/{plan_id}/xlsx", headers=auth)
            r.raise_for_status()
            out.append((time.perf_counter() - t0, time.process_time() - c0, len(r.content)))
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=5, type=int, metavar=("PRODUCTS", "PLANTS", "DCS", "STORES", "PERIODS"))
    parser.add_argument("--large", action="store_true", help=f"also the plan scaled {LARGE_SCALE}x (~5,000 SKU-locations)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference (slow) build")
    parser.add_argument("--profile", action="store_true", help="cProfile each build (slower; to stderr)")
    parser.add_argument("--time-limit", type=float, default=None, help="HiGHS time limit when planning")
    parser.add_argument("--api", action="store_true",
                        help="also time GET /plans/{id}/xlsx three times (first builds, then kept bytes)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    size = tuple(args.size) if args.size else DEFAULT
    runs = [(size, 1.0)] + ([(size, LARGE_SCALE)] if args.large else [])
    print("seconds: wall-clock (CPU of this process, all threads); the machine's 1-minute load before")
    print(f"{'size (PxPLxDCxSTxT)':>24} {'SKU-locs':>8} {'rows':>8} {'reference s':>15} {'MB':>6} "
          f"{'today s':>13} {'MB':>6} {'ratio (CPU)':>12} {'load':>5}")
    results = []
    for size, scale in runs:
        r = run_size(size, reference=not args.no_reference, profile=args.profile, time_limit=args.time_limit,
                     scale=scale)
        results.append(r)
        ref_s = (f"{r['reference_s']:>7.2f} ({r['reference_cpu_s']:>5.1f}) {r['reference_bytes'] / 1e6:>6.2f}"
                 if "reference_s" in r else f"{'-':>15} {'-':>6}")
        ratio = f"{r['ratio']:>5.1f} ({r['cpu_ratio']:>4.1f})" if "ratio" in r else f"{'-':>12}"
        print(f"{r['size']:>24} {r['sku_locations']:>8,} {r['table_rows']:>8,} {ref_s} {r['today_s']:>6.2f} "
              f"({r['today_cpu_s']:>4.1f}) {r['today_bytes'] / 1e6:>6.2f} {ratio} {r['load_1min']:>5.2f}", flush=True)
    if args.api:
        downloads = api_downloads(size)
        for k, (wall, cpu, n) in enumerate(downloads, start=1):
            print(f"GET /plans/{{id}}/xlsx #{k}: {wall:.2f} s ({cpu:.2f} s CPU), {n / 1e6:.2f} MB")
        results.append({"api_downloads": [{"wall_s": w, "cpu_s": c, "bytes": n} for w, c, n in downloads],
                        "load_1min": os.getloadavg()[0]})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
