"""Resources: idempotent uploads (also concurrent), ETag/If-Match on scenario edits (also
concurrent: no lost update), body and page limits, partner isolation, consensus, reviews."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from api.models import DataUpload, FinanceReview, ForecastRun, PlanRecord, ScenarioVersion
from api_world import history_csv, make_app, scenario_content, submission_csv

CSV = {"Content-Type": "text/csv"}


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread (real concurrent requests)."""

    def __init__(self, app):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def concurrently(n: int, call):
    """Run ``call(i)`` from n threads released together; their results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


# ----------------------------------------------------------------------------- uploads


def test_upload_idempotency_key_replays_and_refuses_other_body(world):
    c, h = world.client, world.headers("ana", **CSV, **{"Idempotency-Key": "nightly-2027-01-05"})
    body = history_csv("store-north", limit=3)
    first = c.post("/uploads", content=body, headers=h)
    assert first.status_code == 201
    again = c.post("/uploads", content=body, headers=h)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = c.post("/uploads", content=history_csv("store-north", limit=2), headers=h)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    with world.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(DataUpload)
                        .where(DataUpload.idempotency_key == "nightly-2027-01-05")) == 1


def test_concurrent_uploads_same_key_applied_once_and_distinct_ones_all_kept(world):
    body = history_csv("store-north", limit=4)
    with LiveServer(make_app(world.url, world.engine)) as base:
        def same_key(i):
            h = world.headers("ana", **CSV, **{"Idempotency-Key": "retry-me"})
            return httpx.post(f"{base}/uploads", content=body, headers=h, timeout=60)

        replies = concurrently(6, same_key)
        codes = sorted(r.status_code for r in replies)
        assert codes == [200] * 5 + [201], [r.text for r in replies]
        assert len({r.json()["id"] for r in replies}) == 1

        def distinct(i):
            h = world.headers("ana", **CSV, **{"Idempotency-Key": f"batch-{i}"})
            return httpx.post(f"{base}/uploads", content=body, headers=h, timeout=60)

        assert [r.status_code for r in concurrently(6, distinct)] == [201] * 6
    with world.session() as s:
        keys = s.scalars(sa.select(DataUpload.idempotency_key).where(DataUpload.partner_id == "shops")).all()
    assert keys.count("retry-me") == 1
    assert sorted(k for k in keys if k and k.startswith("batch-")) == [f"batch-{i}" for i in range(6)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_upload_bad_table_names_fields(world):
    c, h = world.client, world.headers("ana", **CSV)
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,x,2026-13-01,5\nwidget,x,2026-01-01,-3\n", headers=h)
    assert r.status_code == 422
    fields = {e["field"]: e["msg"] for e in r.json()["detail"]}
    assert "row" in fields["body.date"] and "negative" in fields["body.quantity"]
    r = c.post("/uploads", json={"rows": [{"product": "w", "date": "2026-01-01"}]}, headers=world.headers("ana"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.quantity"
    r = c.post("/uploads", json={"rows": []}, headers=world.headers("ana"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.rows"
    r = c.post("/uploads", content=b"\xff\xfe", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = c.post("/uploads", content="x", headers=world.headers("ana", **{"Content-Type": "application/xml"}))
    assert r.status_code == 415


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_json_upload_round_trips(world):
    rows = [{"product": "widget", "site": "store-north", "date": "2027-01-01", "quantity": 5},
            {"product": "widget", "site": "store-north", "date": "2027-02-01", "quantity": 7.5}]
    r = world.client.post("/uploads", json={"rows": rows}, headers=world.headers("ana"))
    assert r.status_code == 201 and r.json()["format"] == "json" and r.json()["row_count"] == 2
    got = world.client.get(r.headers["Location"], headers=world.headers("ana")).json()
    assert got["rows"] == [{**x, "quantity": float(x["quantity"])} for x in rows]
    assert got["uploader"] == "ana" and got["keys"] == ["product", "site"]


# ----------------------------------------------------------------------------- limits


def test_oversized_body_is_413(db_url, tmp_path):
    from api.migrate import upgrade
    from api_world import seed_users

    upgrade(db_url)
    app = make_app(db_url, max_body_bytes=2_000)
    tokens, _ = seed_users(app.state.engine)
    from fastapi.testclient import TestClient

    c = TestClient(app)
    h = {"Authorization": f"Bearer {tokens['ana']}", **CSV}
    big = history_csv("store-north")
    assert len(big) > 2_000
    r = c.post("/uploads", content=big, headers=h)
    assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: refused while streaming
        for i in range(0, len(big), 500):
            yield big[i:i + 500].encode()

    r = c.post("/uploads", content=chunks(), headers=h)
    assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]
    small = history_csv("store-north", limit=2)
    assert len(small) < 2_000
    assert c.post("/uploads", content=small, headers=h).status_code == 201
    app.state.engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_page_limits(world):
    c = world.client
    r = c.get("/uploads?limit=201", headers=world.headers("pl"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query.limit"
    r = c.get("/uploads?limit=0", headers=world.headers("pl"))
    assert r.status_code == 422
    r = c.get("/uploads?limit=1&offset=1", headers=world.headers("pl"))
    assert r.status_code == 200 and len(r.json()["items"]) == 1 and r.json()["total"] == 2
    app = make_app(world.url, world.engine, max_page_size=1)
    from fastapi.testclient import TestClient

    r = TestClient(app).get("/uploads?limit=2", headers=world.headers("pl"))
    assert r.status_code == 422 and "1" in r.json()["detail"][0]["msg"]


# ----------------------------------------------------------------------------- scenarios


def test_scenario_versions_etag_if_match(world):
    c, h = world.client, world.headers("pl")
    base = c.get("/scenarios/1", headers=h)
    etag = base.headers["ETag"]
    assert etag == base.json()["etag"] and base.json()["fingerprint"] in etag
    content = base.json()["content"]
    content["partners"][1]["opening_cash"] = 777.0
    r = c.post("/scenarios/1/versions", json={"content": content}, headers=h)
    assert r.status_code == 428
    r = c.post("/scenarios/1/versions", json={"content": content}, headers={**h, "If-Match": '"1-abc"'})
    assert r.status_code == 412
    r = c.post("/scenarios/1/versions", json={"content": content, "comment": "cash"}, headers={**h, "If-Match": etag})
    assert r.status_code == 201 and r.json()["version"] == base.json()["version"] + 1
    assert r.headers["ETag"] != etag
    r2 = c.post("/scenarios/1/versions", json={"content": content}, headers={**h, "If-Match": etag})
    assert r2.status_code == 412  # stale: someone (here: we) already edited from it
    diff = c.get(f"/scenarios/1/diff?from={base.json()['version']}&to={r.json()['version']}", headers=world.headers("fi"))
    assert diff.status_code == 200
    changed = {ch["path"]: ch for ch in diff.json()["changes"]}
    wid = content["partners"][1]["id"]
    assert changed[f"partners[{wid}].opening_cash"]["new"] == 777.0
    old = c.get(f"/scenarios/1/versions/{base.json()['version']}", headers=h).json()
    assert old["content"] == base.json()["content"] or old["content"]["partners"][1]["opening_cash"] != 777.0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_invalid_scenario_names_the_field(world):
    content = scenario_content()
    content["time"]["periods"] = -1
    r = world.client.post("/scenarios", json={"name": "bad", "content": content}, headers=world.headers("pl"))
    assert r.status_code == 422
    assert any(e["field"].startswith("body.content.time.periods") for e in r.json()["detail"])
    content["time"]["periods"] = 10_000
    r = world.client.post("/scenarios", json={"name": "bad", "content": content}, headers=world.headers("pl"))
    assert r.status_code == 422 and "limit" in r.json()["detail"][0]["msg"]


def test_concurrent_scenario_edits_no_lost_update(world):
    """Eight planners edit from the same version at once: one wins, the others get 412 and nothing is lost."""
    c, h = world.client, world.headers("pl")
    start = c.get("/scenarios/1", headers=h)
    etag, v0 = start.headers["ETag"], start.json()["version"]
    content = start.json()["content"]
    with LiveServer(make_app(world.url, world.engine)) as base:
        def edit(i):
            body = {"content": {**content, "description": f"edit {i}"}, "comment": f"planner {i}"}
            return httpx.post(f"{base}/scenarios/1/versions", json=body, headers={**h, "If-Match": etag}, timeout=60)

        replies = concurrently(8, edit)
    codes = sorted(r.status_code for r in replies)
    assert codes == [201] + [412] * 7, [r.text for r in replies]
    winner = next(r for r in replies if r.status_code == 201).json()
    with world.session() as s:
        versions = s.scalars(sa.select(ScenarioVersion).where(ScenarioVersion.scenario_id == 1)
                             .order_by(ScenarioVersion.version)).all()
    assert [v.version for v in versions] == list(range(1, v0 + 2))
    assert versions[-1].comment == winner["comment"]
    latest = c.get("/scenarios/1", headers=h).json()
    assert latest["version"] == v0 + 1 and latest["content"]["description"] == winner["content"]["description"]


def test_concurrent_submissions_and_consensus_builds_get_the_next_versions(world):
    """Six submissions of one partner and six consensus builds at once: every one is stored, each
    under its own next version number (api.errors.commit_next_version retries a taken number)."""
    c, h = world.client, world.headers("pl")
    before = c.get("/submissions", params={"partner_id": "shops"}, headers=h).json()["total"]
    cv_before = c.get("/consensus", headers=h).json()["total"]
    with LiveServer(make_app(world.url, world.engine)) as base:
        def submit(i):
            return httpx.post(f"{base}/submissions", content=submission_csv("shops", "store-north"),
                              params={"note": f"copy {i}"}, headers={**world.headers("ana"), **CSV}, timeout=60)

        def build(_i):
            return httpx.post(f"{base}/consensus", json={"rule": "mean"}, headers=h, timeout=60)

        subs, builds = concurrently(6, submit), concurrently(6, build)
    assert [r.status_code for r in subs] == [201] * 6, [r.text for r in subs]
    assert sorted(r.json()["version"] for r in subs) == list(range(before + 1, before + 7))
    assert [r.status_code for r in builds] == [201] * 6, [r.text for r in builds]
    assert sorted(r.json()["version"] for r in builds) == list(range(cv_before + 1, cv_before + 7))


# ----------------------------------------------------------------------------- partner isolation


def test_partner_sees_only_its_own_data(world):
    c = world.client
    mine = c.get("/uploads", headers=world.headers("ana")).json()
    assert mine["total"] == 1 and {u["partner_id"] for u in mine["items"]} == {"shops"}
    assert c.get("/uploads", headers=world.headers("pl")).json()["total"] == 2
    subs = c.get("/submissions", headers=world.headers("wil")).json()
    assert {s["partner_id"] for s in subs["items"]} == {"wholesale"}
    assert [p["id"] for p in c.get("/partners", headers=world.headers("ana")).json()["items"]] == ["shops"]
    other_upload = world.ids["upload"]["other"]
    assert c.get(f"/uploads/{other_upload}", headers=world.headers("ana")).status_code == 404
    r = c.post("/uploads?partner_id=wholesale", content=history_csv("store-north", 2), headers=world.headers("ana", **CSV))
    assert r.status_code == 404
    exc = c.get("/exceptions", headers=world.headers("ana")).json()
    assert exc["items"] and all("shops" in e["partners"] for e in exc["items"])
    assert c.get("/scenarios", headers=world.headers("ana")).status_code == 403


def test_consensus_partner_rows_and_statistical_run(world):
    c = world.client
    with world.session() as s:  # a finished statistical run, as the forecast runner stores it
        sub = c.get(f"/submissions/{world.ids['submission']['own']}", headers=world.headers("pl")).json()
        rows = [{"unique_id": r["unique_id"], "ds": r["ds"], "p10": 0.5 * r["value"], "p50": r["value"] * 2,
                 "p90": 3 * r["value"], "method": "AutoETS"} for r in sub["rows"]]
        s.add(ForecastRun(status="done", params={}, forecasts=rows, accuracy=None, summary={}))
        s.commit()
    built = c.post("/consensus", json={"rule": "mean"}, headers=world.headers("pl"))
    assert built.status_code == 201, built.text
    body = built.json()
    assert body["forecast_run_id"] is not None
    shops_items = {r["unique_id"] for r in sub["rows"]}
    first = sub["rows"][0]
    row = next(r for r in body["items"] if r["unique_id"] == first["unique_id"] and r["ds"] == first["ds"])
    other = c.get(f"/submissions/{world.ids['submission']['other']}", headers=world.headers("pl")).json()
    values = [first["value"], 2 * first["value"]] + [
        r["value"] for r in other["rows"] if r["unique_id"] == first["unique_id"] and r["ds"] == first["ds"]]
    assert row["p50"] == pytest.approx(sum(values) / len(values))  # mean of the partners and the statistical run
    assert row["p10"] is not None and row["p10"] <= row["p50"] <= row["p90"]
    version = body["version"]
    seen = c.get(f"/consensus/{version}", headers=world.headers("ana")).json()
    assert seen["items"] and {r["unique_id"] for r in seen["items"]} <= shops_items
    assert seen["trace"] is None
    staff = c.get(f"/consensus/{version}", headers=world.headers("pl")).json()
    assert len(staff["items"]) > len(seen["items"])


def test_resolution_overrides_consensus(world):
    c = world.client
    ex = c.get("/exceptions", headers=world.headers("ana")).json()["items"][0]
    sub = c.get(f"/submissions/{world.ids['submission']['own']}", headers=world.headers("ana")).json()
    uid, ds = sub["rows"][0]["unique_id"], sub["rows"][0]["ds"]
    with world.session() as s:  # point the exception at a real series
        from api.models import ExceptionRecord

        rec = s.get(ExceptionRecord, ex["id"])
        rec.unique_id, rec.ds = uid, ds
        s.commit()
    r = c.post(f"/exceptions/{ex['id']}/resolve", json={"action": "adjust", "value": 4321}, headers=world.headers("ana"))
    assert r.status_code == 422 and "reason" in r.json()["detail"][0]["msg"]
    r = c.post(f"/exceptions/{ex['id']}/resolve", json={"action": "adjust", "value": 4321, "reason": "refit"},
               headers=world.headers("ana"))
    assert r.status_code == 201 and r.json()["periods"] == [ds]
    built = c.post("/consensus", json={}, headers=world.headers("pl")).json()
    row = next(x for x in built["items"] if x["unique_id"] == uid and x["ds"] == ds)
    assert row["p50"] == 4321 and row["basis"] == "adjusted"
    assert c.get(f"/exceptions/{ex['id']}", headers=world.headers("ana")).json()["resolved"] is True


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_exception_scan_records_and_filters(world):
    import yaml

    from scenarios.io import EXAMPLES_DIR

    # a second submission round of shops differing from wholesale -> tolerance exceptions
    csv = submission_csv("wholesale").replace(",", ",", 1)
    r = world.client.post("/submissions", content=csv, headers=world.headers("ana", **CSV))
    assert r.status_code == 201 and r.json()["version"] == 2
    rules = yaml.safe_load((EXAMPLES_DIR / "small_chain_collab.yaml").read_text())
    r = world.client.post("/exception-scans", json={"rules": rules}, headers=world.headers("pl"))
    assert r.status_code == 200, r.text
    bad = world.client.post("/exception-scans", json={"rules": {"rules": [{"name": "x", "kind": "nope"}]}},
                            headers=world.headers("pl"))
    assert bad.status_code == 422 and "kind" in bad.json()["detail"][0]["msg"]


# ----------------------------------------------------------------------------- reviews


def test_review_voided_by_newer_plan(world, example_plan_result):
    c = world.client
    with world.session() as s:
        sv = s.scalars(sa.select(ScenarioVersion).where(ScenarioVersion.scenario_id == 1).order_by(ScenarioVersion.version)).all()
        p1 = PlanRecord(scenario_version_id=sv[0].id, options={}, options_hash="a" * 64, status="done",
                        result=example_plan_result["plan"])
        s.add(p1)
        s.commit()
        p1_id = p1.id
    r = c.post(f"/plans/{p1_id}/reviews", json={"decision": "reject", "comment": ""}, headers=world.headers("fi"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.comment"
    r = c.post(f"/plans/{p1_id}/reviews", json={"decision": "approve", "comment": "gap covered"}, headers=world.headers("fi"))
    assert r.status_code == 201 and r.json()["active"] is True
    review_id = r.json()["id"]
    assert c.post(f"/plans/{p1_id}/reviews", json={"decision": "approve", "comment": "x"},
                  headers=world.headers("pl")).status_code == 403
    with world.session() as s:  # a newer plan of the same scenario (its latest version) finishes
        p2 = PlanRecord(scenario_version_id=sv[-1].id, options={}, options_hash="b" * 64, status="done",
                        result=example_plan_result["plan"])
        s.add(p2)
        s.commit()
        p2_id = p2.id
    got = c.get(f"/reviews/{review_id}", headers=world.headers("fi")).json()
    assert got["active"] is False and got["voided_by_plan_id"] == p2_id
    r = c.post(f"/plans/{p1_id}/reviews", json={"decision": "approve", "comment": "again"}, headers=world.headers("fi"))
    assert r.status_code == 409 and str(p2_id) in r.json()["detail"]
    assert c.get("/reviews?active=true", headers=world.headers("fi")).json()["total"] == 0
    with world.session() as s:
        assert s.get(FinanceReview, review_id).voided_at is not None


def test_openapi_documents_every_schema_field_and_parameter():
    from api.app import create_app
    from api.settings import Settings

    spec = create_app(Settings(database_url="sqlite://")).openapi()
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        if not schema.get("description"):
            missing.append(name)
        missing += [f"{name}.{p}" for p, ps in (schema.get("properties") or {}).items() if not ps.get("description")]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            missing += [f"{method.upper()} {path} ?{p['name']}" for p in op.get("parameters", [])
                        if not (p.get("description") or p.get("schema", {}).get("description"))]
            body = (op.get("requestBody") or {}).get("content", {})
            for media in body.values():  # the main requests carry an example
                ref = media.get("schema", {}).get("$ref", "")
                examples = media.get("example") or spec["components"]["schemas"].get(ref.split("/")[-1], {}).get("examples")
                if not examples:
                    missing.append(f"{method.upper()} {path}: no request example")
    assert not missing, missing
