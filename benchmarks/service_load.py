"""The service under load: ``jointplan serve --workers N`` driven by concurrent keep-alive clients.

For each database (a temporary SQLite file; and PostgreSQL when ``--postgres URL`` or the local
default server answers: a fresh database, dropped afterwards) the script

1. migrates and populates the database in-process (4 partners, one user per role, the partners'
   sales history and forecasts, a consensus, ``--scenarios`` scenarios and a solved plan of the
   bundled ``medium_chain`` scenario, about 1.3 MB of result JSON, stored as the plan runner stores it);
2. starts ``jointplan serve --workers N`` as a subprocess on a free port of 127.0.0.1 (the only
   host it will talk to) and waits for ``/health``;
3. drives ``--clients`` concurrent clients (threads with one keep-alive ``http.client`` connection
   each: a much lighter client than httpx, so the generator takes less of the CPU it shares with
   the server) through each route for ``--seconds`` seconds or ``--max-requests`` requests,
   whichever comes first, after a short warm-up; writes (new scenario versions: each client edits
   its own scenario with its ETag) run after the reads;
4. times one ``--upload-rows``-row CSV upload (``POST /uploads``) on its own, after the loops of
   the last run (``GET /uploads`` of a later run would list it);
5. repeats 2-3 with ``--reference-workers`` (default 1) and prints the ratios.

Per route: req/s, p50/p95/p99 latency [ms], errors (non-2xx or failed connections), and the
CPU used by the load generator and by the server processes, as shares of the machine
(cores x wall time). The machine load (``os.getloadavg``) is recorded before and after each run.
Targets (issue 14): every read route at least 300 req/s with p95 under 100 ms (16 clients,
2 cores); the 50k-row upload under 2 s. Figures go to ``benchmarks/results/last_service_load.json``.

``--server-code DIR`` runs the server from another checkout (e.g. ``git archive`` of an older
commit, for a before/after comparison); the database is still populated by this checkout's code.
A server that does not know ``--workers`` runs as one process.

Usage::

    PYTHONPATH=$PWD python benchmarks/service_load.py                 # SQLite and PostgreSQL
    PYTHONPATH=$PWD python benchmarks/service_load.py --db sqlite --seconds 5 --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "last_service_load.json"
HOST = "127.0.0.1"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
READ_TARGET_RPS = 300.0
READ_TARGET_P95_MS = 100.0
UPLOAD_TARGET_S = 2.0
PARTNERS = {"shops": "retailer", "wholesale": "wholesaler", "maker": "manufacturer", "haul": "transporter"}


# ----------------------------------------------------------------------------- safety


def _loopback_only(url_or_host: str) -> None:
    """Refuse any database or server that is not on 127.0.0.1 / localhost (this is a load test)."""
    host = url_or_host
    if "://" in url_or_host:
        from sqlalchemy.engine import make_url

        u = make_url(url_or_host)
        if u.drivername.startswith("sqlite"):
            return
        host = u.host or "localhost"
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"service_load: refusing to load {host!r}: only 127.0.0.1 is allowed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- databases


def postgres_reachable(url: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - no server: skip PostgreSQL
        return False
    finally:
        engine.dispose()


class PostgresDatabase:
    """A fresh database on the server of ``base_url``, dropped on exit."""

    def __init__(self, base_url: str):
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        _loopback_only(base_url)
        self.name = f"jp_load_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
        self.url = make_url(base_url).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        import sqlalchemy as sa

        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc) -> None:
        import sqlalchemy as sa

        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _csv(path: Path, site: str | None = None, round_first: bool = False) -> str:
    import pandas as pd

    df = pd.read_csv(path, dtype=str)
    if site:
        df = df[df["site"] == site]
    if round_first:
        df = df[df["round"] == sorted(df["round"].unique())[0]].drop(columns="round")
    return df.to_csv(index=False)


def solved_plan(name: str) -> dict[str, Any]:
    """The plan runner's result for a bundled scenario (as ``jointplan worker`` stores it)."""
    from api.jobs.runners import execute_plan

    return execute_plan({"scenario": scenario_content(name), "options": {}, "time_limit": 300}, lambda *_: None)


def scenario_content(name: str = "small_chain") -> dict[str, Any]:
    import yaml

    from scenarios.io import EXAMPLES_DIR

    return json.loads(json.dumps(yaml.safe_load((EXAMPLES_DIR / f"{name}.yaml").read_text()), default=str))


def populate(url: str, n_scenarios: int, plan: dict[str, Any], clients: int) -> dict[str, Any]:
    """Migrate and fill the database through the API in-process; the plan as the runner stores it."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import FundingResultRecord, PartnerRecord, PlanRecord, ScenarioVersion
    from api.security import create_user
    from api.settings import Settings
    from scenarios.io import EXAMPLES_DIR

    upgrade(url)
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    with session_factory(engine)() as s:
        for pid, role in PARTNERS.items():
            s.add(PartnerRecord(id=pid, name=pid.title(), role=role))
        s.flush()
        for name, role, partner in (("adm", "admin", None), ("pl", "planner", None), ("fi", "finance", None),
                                    ("ana", "partner", "shops"), ("wil", "partner", "wholesale")):
            _user, tokens[name] = create_user(s, name, role, partner)
        # one planner per client (a token each, as separate people would have)
        for i in range(clients):
            _user, tokens[f"pl{i}"] = create_user(s, f"pl{i}", "planner")
        s.commit()
    app = create_app(Settings(database_url=url), engine=engine)
    ids: dict[str, Any] = {}
    with TestClient(app) as client:
        def ok(r, code=201):
            if r.status_code != code:
                raise RuntimeError(f"populate: {r.request.method} {r.request.url} -> {r.status_code} {r.text[:300]}")
            return r.json()

        def h(user: str, **extra: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[user]}", **extra}

        csv = {"Content-Type": "text/csv"}
        history = EXAMPLES_DIR / "small_chain_history.csv"
        for user, site in (("ana", "store-north"), ("wil", "store-south")):
            ok(client.post("/uploads", content=_csv(history, site), headers=h(user, **csv)))
        for user, partner, site in (("ana", "shops", "store-north"), ("wil", "wholesale", "store-south")):
            ok(client.post("/submissions", content=_csv(EXAMPLES_DIR / f"small_chain_submissions_{partner}.csv", site,
                                                        round_first=True), headers=h(user, **csv)))
        ok(client.post("/consensus", json={"rule": "weighted"}, headers=h("pl")))
        content = scenario_content()
        scenario_ids = []
        for i in range(n_scenarios):
            body = {"name": f"scenario-{i:03d}", "content": content, "comment": "load test"}
            scenario_ids.append(ok(client.post("/scenarios", json=body, headers=h(f"pl{i % clients}")))["scenario_id"])
        ids["scenarios"] = scenario_ids
        ids["scenario"] = scenario_ids[0]
    with session_factory(engine)() as s:
        sv = s.query(ScenarioVersion).filter_by(scenario_id=scenario_ids[0], version=1).one()
        rec = PlanRecord(scenario_version_id=sv.id, options={}, options_hash="0" * 64, status="done",
                         result=plan["plan"], created_by_id=1)
        s.add(rec)
        s.flush()
        for partner, data in (plan.get("funding") or {}).items():
            s.add(FundingResultRecord(plan_id=rec.id, partner=partner, result=data))
        s.commit()
        ids["plan"] = rec.id
    engine.dispose()
    return {"tokens": tokens, "ids": ids, "plan_json_bytes": len(json.dumps(plan["plan"]))}


# ----------------------------------------------------------------------------- the server


class Server:
    """``jointplan serve`` in a subprocess on a free loopback port."""

    def __init__(self, url: str, workers: int, code: Path, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = url
        self.workers = workers
        self.code = code
        self.env = {**os.environ, "PYTHONPATH": str(code), **(env or {})}
        self.env.pop("JOINTPLAN_DATABASE_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def supports_workers(self) -> bool:
        out = subprocess.run([sys.executable, "-m", "jointplan", "serve", "--help"], env=self.env, cwd=self.code,
                             capture_output=True, text=True, timeout=120).stdout
        return "--workers" in out

    def __enter__(self) -> "Server":
        cmd = [sys.executable, "-m", "jointplan", "serve", "--host", HOST, "--port", str(self.port),
               "--database-url", self.url]
        self.used_workers = 1
        if self.supports_workers():
            cmd += ["--workers", str(self.workers)]
            self.used_workers = self.workers
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.code, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode()[-2000:]}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server did not become healthy in 120 s")
            time.sleep(0.2)
        time.sleep(1.0 if self.used_workers > 1 else 0.2)  # let every worker finish importing
        return self

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        return total

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ----------------------------------------------------------------------------- the load


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def drive(port: int, make_request, clients: int, seconds: float, max_requests: int, warmup: float = 0.5,
          server: Server | None = None) -> dict[str, Any]:
    """``clients`` threads calling ``make_request(i, conn) -> status`` until the time or count is
    up; latencies of the requests after the warm-up."""
    stop = threading.Event()
    measuring = threading.Event()
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    statuses: dict[int, int] = {}
    count = [0]
    lock = threading.Lock()

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                status = make_request(i, conn)
            except (OSError, http.client.HTTPException):
                status = -1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            dt = time.perf_counter() - t0
            if measuring.is_set() and not stop.is_set():
                lat[i].append(dt)
                if not 200 <= status < 300:
                    errors[i] += 1
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                with lock:
                    count[0] += 1
                    if count[0] >= max_requests:
                        stop.set()
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    cpu0, srv0, t0 = time.process_time(), (server.cpu_seconds() if server else 0.0), time.perf_counter()
    measuring.set()
    stop.wait(seconds)
    stop.set()
    wall = time.perf_counter() - t0
    cpu1, srv1 = time.process_time(), (server.cpu_seconds() if server else 0.0)
    for t in threads:
        t.join(timeout=120)
    all_lat = sorted(x for per in lat for x in per)
    ncpu = os.cpu_count() or 1
    n = len(all_lat)
    return {
        "requests": n,
        "seconds": round(wall, 3),
        "req_per_s": round(n / wall, 1) if wall else None,
        "p50_ms": round(1000 * _percentile(all_lat, 50), 2) if n else None,
        "p95_ms": round(1000 * _percentile(all_lat, 95), 2) if n else None,
        "p99_ms": round(1000 * _percentile(all_lat, 99), 2) if n else None,
        "errors": sum(errors),
        "error_statuses": {str(k): v for k, v in sorted(statuses.items())},
        # shares of the machine (all cores) over the measured interval
        "generator_cpu_share": round((cpu1 - cpu0) / (wall * ncpu), 3),
        "server_cpu_share": round((srv1 - srv0) / (wall * ncpu), 3) if server else None,
    }


def _get(path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(_i: int, conn: http.client.HTTPConnection) -> int:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status

    return call


def _new_versions(scenario_ids: list[int], tokens: list[str], content: dict[str, Any], port: int):
    """Each client edits its own scenario: POST /scenarios/{id}/versions with its current ETag."""
    etags: dict[int, str] = {}
    for i, sid in enumerate(scenario_ids):
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.request("GET", f"/scenarios/{sid}", headers={"Authorization": f"Bearer {tokens[i]}"})
        r = conn.getresponse()
        r.read()
        etags[i] = r.getheader("ETag")
        conn.close()
    body_for = {}

    def call(i: int, conn: http.client.HTTPConnection) -> int:
        body = body_for.get(i)
        if body is None:
            body = body_for[i] = json.dumps({"content": content, "comment": f"client {i}"}).encode()
        conn.request("POST", f"/scenarios/{scenario_ids[i]}/versions", body=body, headers={
            "Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json", "If-Match": etags[i]})
        r = conn.getresponse()
        r.read()
        if r.status == 201:
            etags[i] = r.getheader("ETag")
        return r.status

    return call


def upload_csv(rows: int) -> bytes:
    """A sales history of ``rows`` rows: 50 series (product x site) of rows/50 days each."""
    import datetime as dt

    series = [(f"p{p:02d}", f"site-{s}") for p in range(10) for s in range(5)]
    per = max(1, rows // len(series))
    start = dt.date(2020, 1, 1)
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(per)]
    lines = ["product,site,date,quantity"]
    n = 0
    for prod, site in series:
        for d, day in enumerate(days):
            lines.append(f"{prod},{site},{day},{(d * 7 + len(prod)) % 97 + 1}")
            n += 1
            if n >= rows:
                break
    return ("\n".join(lines) + "\n").encode()


def time_upload(port: int, token: str, body: bytes) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/uploads?partner_id=maker", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    r = conn.getresponse()
    text = r.read()
    dt = time.perf_counter() - t0
    conn.close()
    return {"seconds": round(dt, 3), "status": r.status, "bytes": len(body),
            "detail": None if r.status < 300 else text[:300].decode(errors="replace")}


def run_config(db_url: str, data: dict[str, Any], workers: int, args, label: str, upload: bool = True) -> dict[str, Any]:
    tokens, ids = data["tokens"], data["ids"]
    pl = tokens["pl"]
    reads = [
        ("GET /health", _get("/health", None)),
        ("GET /scenarios", _get("/scenarios", pl)),
        (f"GET /scenarios/{{id}}", _get(f"/scenarios/{ids['scenario']}", pl)),
        (f"GET /plans/{{id}}", _get(f"/plans/{ids['plan']}", pl)),
        ("GET /uploads", _get("/uploads", pl)),
        ("GET /consensus", _get("/consensus", pl)),
    ]
    out: dict[str, Any] = {"label": label, "workers_asked": workers, "routes": {}}
    with Server(db_url, workers, args.server_code, env=args.server_env) as srv:
        out["workers"] = srv.used_workers
        out["load_before"] = [round(x, 2) for x in os.getloadavg()]
        for name, call in reads:
            res = drive(srv.port, call, args.clients, args.seconds, args.max_requests, server=srv)
            out["routes"][name] = res
            print(f"  [{label}] {_line(name, res)}", flush=True)
        plan_tokens = [tokens[f"pl{i}"] for i in range(args.clients)]
        write = _new_versions(ids["scenarios"][: args.clients], plan_tokens, scenario_content(), srv.port)
        res = drive(srv.port, write, args.clients, args.seconds, args.max_requests, server=srv)
        out["routes"]["POST /scenarios/{id}/versions"] = res
        print(f"  [{label}] {_line('POST /scenarios/{id}/versions', res)}", flush=True)
        if args.upload_rows and upload:  # last: GET /uploads lists it (with its rows) from then on
            body = upload_csv(args.upload_rows)
            out["upload"] = time_upload(srv.port, tokens["adm"], body)
            out["upload"]["rows"] = args.upload_rows
            print(f"  [{label}] POST /uploads ({args.upload_rows} rows CSV, on its own): "
                  f"{out['upload']['seconds']:.2f} s (status {out['upload']['status']})", flush=True)
        out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _line(name: str, r: dict[str, Any]) -> str:
    def f(v):
        return "-" if v is None else f"{v:7.1f}"
    srv = "-" if r["server_cpu_share"] is None else f"{100 * r['server_cpu_share']:.0f}%"
    return (f"{name:34s} {f(r['req_per_s'])} req/s  p50 {f(r['p50_ms'])}  p95 {f(r['p95_ms'])}  p99 {f(r['p99_ms'])} ms"
            f"  errors {r['errors']}{' ' + str(r['error_statuses']) if r['errors'] else ''}"
            f"  cpu: generator {100 * r['generator_cpu_share']:.0f}%, server {srv}")


READ_ROUTES = ("GET /scenarios", "GET /scenarios/{id}", "GET /plans/{id}", "GET /uploads", "GET /consensus",
               "GET /health")


def verdicts(main: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in READ_ROUTES:
        r = main["routes"].get(name)
        if r:
            ok = (r["req_per_s"] or 0) >= READ_TARGET_RPS and (r["p95_ms"] or 1e9) < READ_TARGET_P95_MS and r["errors"] == 0
            out[name] = {"target": f">= {READ_TARGET_RPS:.0f} req/s, p95 < {READ_TARGET_P95_MS:.0f} ms, no errors",
                         "pass": ok}
    if main.get("upload"):
        out["POST /uploads 50k rows"] = {"target": f"< {UPLOAD_TARGET_S:.0f} s",
                                         "pass": main["upload"]["status"] == 201 and main["upload"]["seconds"] < UPLOAD_TARGET_S}
    return out


def bench_database(kind: str, db_url: str, plan: dict[str, Any], args) -> dict[str, Any]:
    print(f"\n== {kind}: populating ...", flush=True)
    t0 = time.time()
    data = populate(db_url, args.scenarios, plan, args.clients)
    print(f"   populated in {time.time() - t0:.1f} s (plan result {data['plan_json_bytes'] / 1e6:.2f} MB of JSON)", flush=True)
    res: dict[str, Any] = {"database": kind, "plan_json_bytes": data["plan_json_bytes"], "runs": []}
    configs = []
    if args.reference_workers is not None and args.reference_workers != args.workers:
        configs.append((args.reference_workers, f"{kind}, {args.reference_workers} worker(s)"))
    configs.append((args.workers, f"{kind}, {args.workers} workers"))
    for n, (workers, label) in enumerate(configs):
        print(f"-- {label}", flush=True)
        res["runs"].append(run_config(db_url, data, workers, args, label, upload=n == len(configs) - 1))
    main = res["runs"][-1]
    res["targets"] = verdicts(main)
    if len(res["runs"]) == 2:
        ref = res["runs"][0]
        res["ratios_vs_reference"] = {
            name: {"req_per_s": round(r["req_per_s"] / ref["routes"][name]["req_per_s"], 2) if ref["routes"][name]["req_per_s"] else None,
                   "p95": round(r["p95_ms"] / ref["routes"][name]["p95_ms"], 2) if ref["routes"][name]["p95_ms"] else None}
            for name, r in main["routes"].items() if name in ref["routes"]
        }
        print(f"   {label_short(main)} vs {label_short(ref)}:", flush=True)
        for name, q in res["ratios_vs_reference"].items():
            print(f"     {name:34s} req/s x{q['req_per_s']}  p95 x{q['p95']}")
    print("   targets:")
    for name, v in res["targets"].items():
        print(f"     {name:34s} {v['target']:45s} {'PASS' if v['pass'] else 'FAIL'}")
    return res


def label_short(run: dict[str, Any]) -> str:
    return f"{run['workers']} worker(s)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both",
                   help="databases (both: PostgreSQL only when reachable)")
    p.add_argument("--postgres", default=os.environ.get("JOINTPLAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                   help="PostgreSQL server URL (127.0.0.1 only); a fresh database is made on it and dropped")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server worker processes (default: CPUs)")
    p.add_argument("--reference-workers", type=int, default=1,
                   help="reference run's workers, for the ratios (default 1; -1: no reference run)")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=6.0, help="measured seconds per route")
    p.add_argument("--max-requests", type=int, default=20_000, help="at most this many requests per route")
    p.add_argument("--scenarios", type=int, default=20, help="scenarios stored (GET /scenarios lists them)")
    p.add_argument("--upload-rows", type=int, default=50_000, help="rows of the timed CSV upload (0: none)")
    p.add_argument("--plan-scenario", default="medium_chain", help="bundled scenario whose solved plan GET /plans/{id} reads")
    p.add_argument("--server-code", type=Path, default=ROOT, help="checkout the server runs from (default: this one)")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment of the server (e.g. JOINTPLAN_TOKEN_TOUCH_SECONDS=0)")
    p.add_argument("--json", type=Path, default=RESULTS, help="where the figures go")
    args = p.parse_args(argv)
    if args.reference_workers is not None and args.reference_workers < 1:
        args.reference_workers = None
    args.clients = max(1, args.clients)
    args.server_code = args.server_code.resolve()
    args.server_env = dict(kv.split("=", 1) for kv in args.server_env)
    if args.db != "sqlite":
        _loopback_only(args.postgres)

    print(f"service load: {args.clients} clients, {args.seconds:g} s or {args.max_requests} requests per route, "
          f"{args.workers} workers (reference {args.reference_workers}), {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"solving {args.plan_scenario} once ...", flush=True)
    plan = solved_plan(args.plan_scenario)
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_start": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"clients": args.clients, "seconds": args.seconds, "max_requests": args.max_requests,
                     "workers": args.workers, "reference_workers": args.reference_workers, "scenarios": args.scenarios,
                     "upload_rows": args.upload_rows, "plan_scenario": args.plan_scenario,
                     "server_code": str(args.server_code), "server_env": args.server_env,
                     "client": "threads, one keep-alive http.client connection each"},
        "databases": [],
    }
    with tempfile.TemporaryDirectory(prefix="jp_load_") as tmp:
        if args.db in ("sqlite", "both"):
            results["databases"].append(bench_database("sqlite", f"sqlite:///{Path(tmp) / 'load.db'}", plan, args))
        if args.db in ("postgres", "both"):
            if postgres_reachable(args.postgres):
                with PostgresDatabase(args.postgres) as url:
                    results["databases"].append(bench_database("postgresql", url, plan, args))
            else:
                print(f"PostgreSQL unreachable at {args.postgres}: skipped", flush=True)
                if args.db == "postgres":
                    return 1
    results["machine"]["load_end"] = [round(x, 2) for x in os.getloadavg()]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
