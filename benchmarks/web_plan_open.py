"""How fast the web workbench opens a big plan: 5,000 SKU-locations against the bundled chain.

Solves (once; cached) a synthetic chain of benchmarks/plan_scale.py's kind with about 5,000
SKU-locations (product x site pairs; default 40 products at 2 plants, 8 DCs and 115 stores over 8
weekly periods, 193k variables, ~2 minutes of HiGHS) and the bundled small_chain, stores both
plans in a fresh SQLite service database as the plan job runner would, starts ``jointplan serve``
on it, signs in as a planner and, with Playwright in /usr/bin/chromium
(web/scripts/bench-plan-open.mjs), opens each plan page and measures:

- fetch: first to last byte of the plan's API requests (the plan, its tables, its scenario);
- render: from that last byte to the page fully drawn (KPIs, every chart, the first table page);
- the biggest chart table (inventory): switching the table picker to it, sorting it, and turning
  to its middle (the table is virtualised).

    python benchmarks/web_plan_open.py                        # this checkout (web/dist must be built)
    python benchmarks/web_plan_open.py --repo ../other-checkout   # serve another checkout's code
    python benchmarks/web_plan_open.py --size 40 2 8 115 8 --runs 3 --json out.json

The target (issue 15): a plan with 5,000 SKU-locations opens in under 2 s once fetched (render).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZE = (40, 2, 8, 115, 8)  # 40 products x 125 sites = 5,000 SKU-locations
USER, PASSWORD = "bench-planner", "bench planner passphrase"
PARTNERS = {"maker": "manufacturer", "wholesale": "wholesaler", "haul": "transporter", "shops": "retailer"}


def say(msg: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def solved(cache: Path, size: tuple[int, ...] | None) -> Path:
    """The plan runner's result (and the scenario) for ``size`` (None: small_chain), cached as JSON."""
    name = "small_chain" if size is None else "synthetic_" + "x".join(map(str, size))
    path = cache / f"{name}.json"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT))
    from api.jobs.runners import execute_plan

    if size is None:
        import yaml

        from scenarios.io import EXAMPLES_DIR

        content = json.loads(json.dumps(yaml.safe_load((EXAMPLES_DIR / "small_chain.yaml").read_text()), default=str))
    else:
        from planning.synthetic import synthetic_chain

        content = synthetic_chain(*size, seed=1, name=f"synthetic {name.split('_', 1)[1]}")
    say(f"solving {name} (cached in {path} afterwards)")
    t0 = time.perf_counter()
    out = execute_plan({"scenario": content, "options": {}, "time_limit": 1800},
                       lambda f, m: say(f"  {time.perf_counter() - t0:6.1f} s {m}"))
    out.pop("basis", None)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "content": content, "result": out}))
    return path


def seed(url: str, files: list[str]) -> None:
    """(Run with the served checkout's code.) Migrate ``url``; add the partners, a planner with a
    password, and per cached file a scenario and its done plan, stored as the runner stores one."""
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import FundingResultRecord, PartnerRecord, PlanRecord, ScenarioRecord, ScenarioVersion
    from api.security import create_user

    try:
        from api.plan_tables import store_plan_tables
    except ImportError:  # a checkout from before plan_tables
        store_plan_tables = None
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s:
        for pid, role in PARTNERS.items():
            s.add(PartnerRecord(id=pid, name=pid.title(), role=role))
        s.flush()
        user, _ = create_user(s, USER, "planner", password=PASSWORD)
        ids = []
        for f in files:
            data = json.loads(Path(f).read_text())
            scenario = ScenarioRecord(name=data["name"], created_by_id=user.id, latest_version=1)
            s.add(scenario)
            s.flush()
            version = ScenarioVersion(scenario_id=scenario.id, version=1, content=data["content"], fingerprint="0" * 64,
                                      author_id=user.id, comment="benchmark")
            s.add(version)
            s.flush()
            plan = PlanRecord(scenario_version_id=version.id, options={}, options_hash="0" * 64, status="done",
                              result=data["result"]["plan"], created_by_id=user.id)
            s.add(plan)
            s.flush()
            plan.finished_at = plan.created_at
            for partner, part in (data["result"].get("funding") or {}).items():
                s.add(FundingResultRecord(plan_id=plan.id, partner=partner, result=part))
            if store_plan_tables is not None:
                store_plan_tables(s, plan.id, plan.result)
            ids.append(plan.id)
        s.commit()
    engine.dispose()
    print(json.dumps(ids))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path) -> None:
    until = time.monotonic() + 120
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise SystemExit(f"jointplan serve exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"jointplan serve did not answer /health; see {log} (--keep keeps it)")


def sku_locations(path: Path) -> int:
    rows = json.loads(path.read_text())["result"]["plan"]["tables"].get("inventory") or []
    return len({(r["site"], r["product"]) for r in rows})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=5, type=int, default=list(DEFAULT_SIZE),
                        metavar=("PRODUCTS", "PLANTS", "DCS", "STORES", "PERIODS"))
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose service and web/dist are measured")
    parser.add_argument("--runs", type=int, default=3, help="page loads per plan")
    parser.add_argument("--timeout", type=float, default=1200, help="most seconds one page may take")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "jointplan-web-plan-open")
    parser.add_argument("--python", default=sys.executable, help="Python of the service")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the database and the service's log")
    parser.add_argument("--seed", nargs="+", metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:
        seed(args.seed[0], args.seed[1:])
        return 0

    repo = args.repo.resolve()
    if not (repo / "web" / "dist" / "index.html").exists():
        raise SystemExit(f"{repo}/web/dist is not built: npm run build in {repo}/web")
    small, big = solved(args.cache, None), solved(args.cache, tuple(args.size))
    say(f"big plan: {sku_locations(big):,} SKU-locations; small_chain: {sku_locations(small)}")
    tmp = Path(tempfile.mkdtemp(prefix="jointplan-web-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "PYTHONPATH": str(repo), "JOINTPLAN_DATABASE_URL": url,
           "JOINTPLAN_WEB_DIST": str(repo / "web" / "dist")}
    say(f"storing both plans in {url} with {repo}'s code")
    out = subprocess.run([args.python, str(Path(__file__).resolve()), "--seed", url, str(small), str(big)],
                         cwd=repo, env=env, check=True, capture_output=True, text=True)
    small_id, big_id = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"
    with open(log, "ab") as fh:
        serve = subprocess.Popen([args.python, "-m", "jointplan", "serve", "--port", str(port), "--workers", "1",
                                  "--no-access-log"], cwd=repo, env=env, stdout=fh, stderr=fh, start_new_session=True)
    try:
        wait_healthy(base, serve, log)
        say(f"serving {base}; opening plan {small_id} (small_chain) and plan {big_id} ({'x'.join(map(str, args.size))})")
        bench = subprocess.run(["node", "scripts/bench-plan-open.mjs", base, USER, PASSWORD, str(args.runs),
                                str(args.timeout), str(small_id), str(big_id)],
                               cwd=ROOT / "web", check=True, stdout=subprocess.PIPE, text=True)
    finally:
        sys.path.insert(0, str(ROOT))
        from jointplan.service_cli import stop_process

        stop_process(serve)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    figures = json.loads(bench.stdout.strip().splitlines()[-1])
    load = os.getloadavg()
    report(figures, small_id, big_id, load)
    if args.json:
        args.json.write_text(json.dumps({"repo": str(repo), "size": args.size, "loadavg": load, "runs": figures}, indent=2))
    return 0


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def report(figures: list[dict], small_id: int, big_id: int, load: tuple[float, ...]) -> None:
    print(f"{'plan':>14} {'requests':>8} {'MB':>6} {'fetch s':>8} {'render s':>9} {'total s':>8} "
          f"{'table':>10} {'rows':>7} {'switch s':>8} {'sort s':>7} {'turn s':>7}")
    med = {}
    for pid, label in ((small_id, "small_chain"), (big_id, "5k SKU-loc")):
        runs = [f for f in figures if f["plan_id"] == pid]
        first = runs[0]
        med[pid] = {k: _median([f[k] for f in runs]) for k in ("fetch_s", "render_s", "total_s")}
        print(f"{label:>14} {first['requests']:>8} {first['bytes'] / 2**20:>6.1f} {med[pid]['fetch_s']:>8.2f} "
              f"{med[pid]['render_s']:>9.2f} {med[pid]['total_s']:>8.2f} {first['table']:>10} {max(first['table_rows'], 0) or '':>7} "
              f"{first['table_switch_s']:>8.2f} {first['sort_s']:>7.2f} "
              f"{'-' if first['page_turn_s'] is None else format(first['page_turn_s'], '.2f'):>7}")
    s, b = med[small_id], med[big_id]
    print(f"median of {len([f for f in figures if f['plan_id'] == big_id])} loads each; big/small: fetch "
          f"{b['fetch_s'] / s['fetch_s']:.1f}x, render {b['render_s'] / max(s['render_s'], 1e-3):.1f}x, "
          f"total {b['total_s'] / s['total_s']:.1f}x; target: render (once fetched) < 2 s: "
          f"{'met' if b['render_s'] < 2 else 'NOT met'}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
