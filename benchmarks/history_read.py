"""Reading a large shared history: time and memory of the history reads behind forecasts, FVA,
exceptions and consensus, for a history of ``--points`` stored points.

For each database (a temporary SQLite file; PostgreSQL when ``--postgres URL`` or the local
default server answers: a fresh database, dropped afterwards) the script

1. migrates, creates two partners and a user each, and uploads through the API (in-process,
   ``POST /uploads``) a daily history of ``--series`` series split between the two partners, in
   uploads of at most 250,000 rows; then ``--corrections`` (share) of the points again as
   corrections (new versions: stored points exceed the current ones by that share);
2. times :func:`api.tables.history_frame` (every current point, the key columns, date and quantity)
   and :func:`api.tables.actuals_frame` (bucketed to weeks), and ``GET /fva?freq=W`` as a partner;
3. measures the Python heap peak of ``history_frame`` (tracemalloc, in a second pass: tracing
   slows the code, so the times come from the first pass) per current point;
4. runs the reference, the read before migration 0005 (grouping every stored version to find the
   current ones, rows as ORM objects), on the same database in the same process, and prints the
   ratios (speed-up, memory).

Usage::

    PYTHONPATH=$PWD python benchmarks/history_read.py --points 2000000
    PYTHONPATH=$PWD python benchmarks/history_read.py --db sqlite --points 500000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = Path(__file__).resolve().parent / "results" / "last_history_read.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UPLOAD_ROWS = 250_000


def _csv(series: list[tuple[str, str]], days: list[str], start: int, stop: int, bump: int = 0) -> bytes:
    lines = ["product,site,date,quantity"]
    for i in range(start, stop):
        prod, site = series[i]
        lines.extend(f"{prod},{site},{d},{(k * 7 + i + bump) % 97 + 1}" for k, d in enumerate(days))
    return ("\n".join(lines) + "\n").encode()


def populate(client, tokens: dict[str, str], n_points: int, n_series: int, corrections: float) -> dict[str, Any]:
    """Uploads of the two partners' series; returns counts and upload seconds."""
    per = max(1, n_points // n_series)
    start = dt.date(2020, 1, 1)
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(per)]
    series = [(f"p{i:05d}", "north" if i % 2 == 0 else "south") for i in range(n_series)]
    owner = {"north": "ana", "south": "wil"}
    by_owner = {u: [i for i, (_p, site) in enumerate(series) if owner[site] == u] for u in owner.values()}
    per_upload = max(1, UPLOAD_ROWS // per)
    t0, uploads = time.perf_counter(), 0

    def send(user: str, idx: list[int], bump: int) -> None:
        nonlocal uploads
        for k in range(0, len(idx), per_upload):
            chunk = idx[k:k + per_upload]
            sub = [series[i] for i in chunk]
            r = client.post("/uploads", content=_csv(sub, days, 0, len(sub), bump),
                            headers={"Authorization": f"Bearer {tokens[user]}", "Content-Type": "text/csv"})
            if r.status_code != 201:
                raise RuntimeError(f"upload -> {r.status_code} {r.text[:300]}")
            uploads += 1
            print(f"   upload {uploads}: {len(sub) * len(days):,} rows", flush=True)

    for user, idx in by_owner.items():
        send(user, idx, 0)
    n_corr = int(round(corrections * n_series))
    for user, idx in by_owner.items():
        send(user, idx[: n_corr // 2], 3)
    return {"current_points": per * n_series, "stored_points": per * (n_series + (n_corr // 2) * 2),
            "uploads": uploads, "upload_seconds": round(time.perf_counter() - t0, 2)}


def reference_history_frame(session) -> "Any":
    """The read before migration 0005 (the reference): the current point of each (series, date)
    found by grouping every stored version (:func:`api.history.current_points`), rows as ORM Row
    objects, then the same frame."""
    import numpy as np
    import pandas as pd
    from sqlalchemy import select

    from api.history import current_points, key_columns
    from api.models import HistoryPoint, HistorySeries

    keys = key_columns(session) or []
    latest = current_points().subquery()
    p = HistoryPoint
    rows = session.execute(select(p.series_pk, p.date, p.quantity).join(latest, latest.c.id == p.id)
                           .order_by(p.series_pk, p.date)).all()
    pks, dates, qty = zip(*rows)
    values = dict(session.execute(select(HistorySeries.id, HistorySeries.key_values)).all())
    out = pd.DataFrame({"series_pk": np.fromiter(pks, dtype=np.int64, count=len(pks))})
    series = pd.DataFrame([[pk, *values[pk]] for pk in sorted(set(pks))], columns=["series_pk", *keys])
    out = out.merge(series, on="series_pk", how="left").drop(columns="series_pk")
    out["date"] = [d.isoformat() for d in dates]
    out["quantity"] = np.asarray(qty, dtype=float)
    return out


def measure(url: str, args) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import PartnerRecord
    from api.security import create_user
    from api.settings import Settings
    from api.tables import actuals_frame, history_frame

    upgrade(url)
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    with session_factory(engine)() as s:
        for pid, role in (("shops", "retailer"), ("wholesale", "wholesaler")):
            s.add(PartnerRecord(id=pid, name=pid.title(), role=role))
        s.flush()
        for name, partner in (("ana", "shops"), ("wil", "wholesale")):
            _u, tokens[name] = create_user(s, name, "partner", partner)
        s.commit()
    settings = Settings(database_url=url, max_upload_rows=UPLOAD_ROWS, max_upload_cells=4 * UPLOAD_ROWS,
                        max_history_points=max(2_000_000, 2 * args.points))
    app = create_app(settings, engine=engine)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        out.update(populate(client, tokens, args.points, args.series, args.corrections))
        print(f"   {out['stored_points']:,} stored points ({out['current_points']:,} current) "
              f"in {out['upload_seconds']} s", flush=True)
        Session = session_factory(engine)
        with Session() as s:
            t0 = time.perf_counter()
            hist = history_frame(s)
            out["history_frame_s"] = round(time.perf_counter() - t0, 2)
            out["history_frame_rows"] = len(hist)
            del hist
            t0 = time.perf_counter()
            act = actuals_frame(s, "W")
            out["actuals_frame_W_s"] = round(time.perf_counter() - t0, 2)
            out["actuals_rows"] = 0 if act is None else len(act)
            del act
        t0 = time.perf_counter()
        r = client.get("/fva", params={"freq": "W"}, headers={"Authorization": f"Bearer {tokens['ana']}"})
        out["get_fva_s"] = round(time.perf_counter() - t0, 2)
        out["get_fva_status"] = r.status_code
        with Session() as s:
            t0 = time.perf_counter()
            ref = reference_history_frame(s)
            out["reference_grouping_read_s"] = round(time.perf_counter() - t0, 2)
            assert len(ref) == out["history_frame_rows"], (len(ref), out["history_frame_rows"])
            del ref
            tracemalloc.start()
            ref = reference_history_frame(s)
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out["reference_peak_mb"] = round(peak / 2**20, 1)
            del ref
        out["speedup_vs_reference"] = round(out["reference_grouping_read_s"] / max(out["history_frame_s"], 1e-9), 2)
        with Session() as s:
            tracemalloc.start()
            hist = history_frame(s)
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out["history_frame_peak_mb"] = round(peak / 2**20, 1)
            out["history_frame_peak_bytes_per_point"] = round(peak / max(1, len(hist)), 1)
            del hist
    engine.dispose()
    out["memory_ratio_vs_reference"] = round(out["history_frame_peak_mb"] / max(out["reference_peak_mb"], 1e-9), 3)
    for k in ("history_frame_s", "reference_grouping_read_s", "speedup_vs_reference", "actuals_frame_W_s", "get_fva_s",
              "history_frame_peak_mb", "reference_peak_mb", "memory_ratio_vs_reference",
              "history_frame_peak_bytes_per_point"):
        print(f"   {k:38s} {out[k]}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--postgres", default=os.environ.get("JOINTPLAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    p.add_argument("--points", type=int, default=2_000_000, help="current points (series x days)")
    p.add_argument("--series", type=int, default=2_000, help="series (half per partner)")
    p.add_argument("--corrections", type=float, default=0.25, help="share of series uploaded again as corrections")
    p.add_argument("--json", type=Path, default=RESULTS)
    args = p.parse_args()
    results: dict[str, Any] = {"when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "load_start": list(os.getloadavg()), "settings": vars(args) | {"json": str(args.json)},
                               "databases": {}}
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("== sqlite", flush=True)
            results["databases"]["sqlite"] = measure(f"sqlite:///{tmp}/history.db", args)
    if args.db in ("postgres", "both"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(args.postgres)
        name = f"jp_hist_{uuid.uuid4().hex[:8]}"
        try:
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - no server: say so and go on
            print(f"== postgresql skipped: {exc.__class__.__name__}: {str(exc)[:200]}")
        else:
            try:
                print("== postgresql", flush=True)
                results["databases"]["postgresql"] = measure(base.set(database=name).render_as_string(hide_password=False), args)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    results["load_end"] = list(os.getloadavg())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
