"""Shared history where every row has an owner (issue 14, section 1), on SQLite and PostgreSQL.

In the test world (tests/api_world.py) shops (user ana) uploaded the store-north history and
wholesale (user wil) the store-south history: shops owns widget/store-north and
gadget/store-north, wholesale widget/store-south and gadget/store-south.

Which deliberate error each test catches. Every test failed against the code before the fix
(commit 0da7e79); the named checks were broken one at a time in the fixed code and the test
failed each time (except where said):

- test_upload_with_another_partners_series_is_refused_whole: a later upload overwriting another
  partner's series (no owner check in store_upload), or a refusal that stores the caller's own
  rows anyway (half-stored upload).
- test_owner_corrections_are_versions_with_lineage_and_retraction: a correction replacing the
  old value instead of adding a version; a read taking the earliest instead of the latest version
  (max -> min in current_points); a retracted upload still counting (retracted_at filter dropped);
  lineage of a series shown to a partner that does not see it (may_see).
- test_declared_owner_decides_who_writes_and_which_rows_count: reads not following a changed
  owner (owner filter in current_points), a declared owner ignored by the upload check.
- test_partner_view_follows_ownership_and_shares_not_uploads_or_submissions: partner_items built
  from the partner's uploads/submissions (the old rule) instead of owners and shares.
- test_upload_with_other_key_columns_is_refused_and_history_intact / test_header_only_and_
  duplicate_header_uploads_are_422: an upload with an extra key column accepted (conform_keys),
  a header-only table or a duplicated column name stored (parse_table's checks).
- test_wide_file_is_refused_on_its_header / test_row_and_cell_limits_are_413_naming_the_limit:
  no column limit, or the column limit checked after reading the rows; row and cell limits.
- test_50k_row_upload_is_fast: the old iterrows()/JSON path (20.8 s here on a loaded machine);
  its 15 s bound leaves room for a busy machine, so SQLAlchemy's executemany instead of the
  DB-API's on SQLite (about 2x slower) still passes it.
- test_deep_json_and_huge_integers_are_422: RecursionError and the int-conversion ValueError
  left uncaught (500).
- test_migration_moves_uploads_with_the_owner_rule: the migration making a later non-owner
  upload win, or dropping its rows instead of keeping them in the lineage.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.models import DataUpload, HistoryPoint
from api.tables import actuals_frame, history_frame
from api_world import make_app, seed_users, submission_csv

CSV = {"Content-Type": "text/csv"}


def value(world, series: str, day: str) -> float | None:
    with world.session() as s:
        h = history_frame(s)
    h = h[(h["product"] + "/" + h["site"] == series) & (h["date"] == day)]
    assert len(h) <= 1
    return None if h.empty else float(h["quantity"].iloc[0])


def counts(world) -> tuple[int, int]:
    with world.session() as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(DataUpload)),
                s.scalar(sa.select(sa.func.count()).select_from(HistoryPoint)))


def detail_text(r) -> str:
    return json.dumps(r.json()["detail"])


# ----------------------------------------------------------------------------- 1. overwrite


def test_upload_with_another_partners_series_is_refused_whole(world):
    c = world.client
    before = value(world, "widget/store-south", "2026-12-01")
    assert before is not None and before != 9999999
    stored = counts(world)
    body = "product,site,date,quantity\nwidget,store-north,2026-12-01,5\nwidget,store-south,2026-12-01,9999999\n"
    r = c.post("/uploads", content=body, headers=world.headers("ana", **CSV))
    assert r.status_code == 409, r.text
    assert "widget/store-south" in detail_text(r) and "widget/store-north" not in detail_text(r)
    assert "wholesale" not in detail_text(r)  # a partner is not told who owns it
    assert counts(world) == stored  # nothing half-stored: not even shops' own row
    assert value(world, "widget/store-south", "2026-12-01") == before
    # a planner writing for shops is refused the same way, and told the owner
    r = c.post("/uploads?partner_id=shops", content=body, headers=world.headers("pl", **CSV))
    assert r.status_code == 409 and "partner wholesale" in detail_text(r)
    assert counts(world) == stored
    # JSON bodies too
    r = c.post("/uploads", json={"rows": [{"product": "gadget", "site": "store-south", "date": "2026-12-01",
                                           "quantity": 1}]}, headers=world.headers("ana"))
    assert r.status_code == 409 and "gadget/store-south" in detail_text(r)


def test_owner_corrections_are_versions_with_lineage_and_retraction(world):
    c = world.client
    old = value(world, "widget/store-south", "2026-01-01")
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,store-south,2026-01-01,4242\n",
               headers=world.headers("wil", **CSV))
    assert r.status_code == 201, r.text
    fix = r.json()["id"]
    assert value(world, "widget/store-south", "2026-01-01") == 4242  # the correction counts
    lin = c.get("/history/lineage", params={"series": "widget/store-south", "limit": 200}, headers=world.headers("pl"))
    assert lin.status_code == 200, lin.text
    day = [v for v in lin.json()["items"] if v["date"] == "2026-01-01"]
    assert [(v["upload_id"], v["quantity"], v["current"], v["retracted"]) for v in day] == [
        (world.ids["upload"]["other"], old, False, False), (fix, 4242.0, True, False)]
    assert all(v["author"] == "wil" and v["partner_id"] == "wholesale" and v["from_owner"] for v in day)
    assert lin.json()["owner"] == "wholesale"
    # only the owner retracts; another partner does not even see the upload
    assert c.post(f"/uploads/{fix}/retract", headers=world.headers("ana")).status_code == 404
    r = c.post(f"/uploads/{fix}/retract", headers=world.headers("wil"))
    assert r.status_code == 200 and r.json()["retracted_by"] == "wil" and r.json()["retracted_at"]
    assert c.post(f"/uploads/{fix}/retract", headers=world.headers("wil")).status_code == 409
    assert value(world, "widget/store-south", "2026-01-01") == old  # the earlier version counts again
    day = [v for v in c.get("/history/lineage", params={"series": "widget/store-south", "limit": 200},
                            headers=world.headers("wil")).json()["items"] if v["date"] == "2026-01-01"]
    assert [(v["current"], v["retracted"]) for v in day] == [(True, False), (False, True)]
    # current=true: one version per date, the one reads use; false: the others; together all
    everything = c.get("/history/lineage", params={"series": "widget/store-south", "limit": 200},
                       headers=world.headers("wil")).json()
    split = {flag: c.get("/history/lineage", params={"series": "widget/store-south", "limit": 200, "current": flag},
                         headers=world.headers("wil")).json() for flag in ("true", "false")}
    assert [v["quantity"] for v in split["true"]["items"] if v["date"] == "2026-01-01"] == [old]
    assert all(v["current"] for v in split["true"]["items"]) and not any(v["current"] for v in split["false"]["items"])
    assert len({v["date"] for v in split["true"]["items"]}) == split["true"]["total"]
    assert split["true"]["total"] + split["false"]["total"] == everything["total"]
    assert c.get("/history/lineage", params={"series": "widget/store-south", "current": "maybe"},
                 headers=world.headers("wil")).status_code == 422
    # a partner that does not see the series: 404, as for a series that does not exist
    assert c.get("/history/lineage", params={"series": "widget/store-south"}, headers=world.headers("ana")).status_code == 404
    assert c.get("/history/lineage", params={"series": "nope/nowhere"}, headers=world.headers("pl")).status_code == 404


def test_declared_owner_decides_who_writes_and_which_rows_count(world):
    c = world.client
    r = c.put("/history/series/owner", json={"series": "widget/dc", "partner_id": "wholesale"}, headers=world.headers("pl"))
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "wholesale" and r.json()["owner_declared_by"] == "pl"
    assert r.json()["keys"] == {"product": "widget", "site": "dc"}
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,dc,2026-12-01,9999999\n", headers=world.headers("ana", **CSV))
    assert r.status_code == 409 and "widget/dc" in detail_text(r)
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,dc,2026-12-01,70\n", headers=world.headers("wil", **CSV))
    assert r.status_code == 201, r.text
    assert value(world, "widget/dc", "2026-12-01") == 70
    # handing store-north over to wholesale: shops' rows stop counting until wholesale sends its own
    assert value(world, "widget/store-north", "2026-01-01") is not None
    r = c.put("/history/series/owner", json={"series": "widget/store-north", "partner_id": "wholesale"},
              headers=world.headers("adm"))
    assert r.status_code == 200
    assert value(world, "widget/store-north", "2026-01-01") is None
    assert c.put("/history/series/owner", json={"series": "widget/dc", "partner_id": "shops"},
                 headers=world.headers("ana")).status_code == 403
    bad = c.put("/history/series/owner", json={"series": "a/b/c", "partner_id": "shops"}, headers=world.headers("pl"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.series"
    assert c.put("/history/series/owner", json={"series": "widget/dc", "partner_id": "ghost"},
                 headers=world.headers("pl")).status_code == 404


# ----------------------------------------------------------------------------- 2. widening the view


def test_partner_view_follows_ownership_and_shares_not_uploads_or_submissions(world):
    c = world.client
    south = {"widget/store-south", "gadget/store-south"}
    # shops submits forecasts for every site (also wholesale's store-south): its view does not widen
    r = c.post("/submissions", content=submission_csv("wholesale"), headers=world.headers("ana", **CSV))  # every site
    assert r.status_code == 201, r.text
    built = c.post("/consensus", json={"rule": "mean"}, headers=world.headers("pl"))
    assert built.status_code == 201, built.text
    version = built.json()["version"]
    assert south <= {x["unique_id"] for x in built.json()["items"]}
    seen = {x["unique_id"] for x in c.get(f"/consensus/{version}", headers=world.headers("ana")).json()["items"]}
    assert seen == {"widget/store-north", "gadget/store-north"}
    # nor can it claim them by uploading their history
    claim = c.post("/uploads", content="product,site,date,quantity\nwidget,store-south,2026-12-01,1\n",
                   headers=world.headers("ana", **CSV))
    assert claim.status_code == 409
    seen = {x["unique_id"] for x in c.get(f"/consensus/{version}", headers=world.headers("ana")).json()["items"]}
    assert seen == {"widget/store-north", "gadget/store-north"}
    listed = c.get("/history/series", headers=world.headers("ana")).json()
    assert {s["series"] for s in listed["items"]} == {"widget/store-north", "gadget/store-north"}
    assert all(s["shared_with"] is None for s in listed["items"])
    # the planner shares widget/store-south with shops (e.g. its supplier's view): now it sees it
    r = c.put("/history/series/shares", json={"series": "widget/store-south", "partner_ids": ["shops", "maker"]},
              headers=world.headers("pl"))
    assert r.status_code == 200 and r.json()["shared_with"] == ["maker", "shops"]
    seen = {x["unique_id"] for x in c.get(f"/consensus/{version}", headers=world.headers("ana")).json()["items"]}
    assert seen == {"widget/store-north", "gadget/store-north", "widget/store-south"}
    assert c.get("/history/lineage", params={"series": "widget/store-south"}, headers=world.headers("ana")).status_code == 200
    # sharing does not let it write
    assert c.post("/uploads", content="product,site,date,quantity\nwidget,store-south,2026-12-01,1\n",
                  headers=world.headers("ana", **CSV)).status_code == 409
    # unshared again
    assert c.put("/history/series/shares", json={"series": "widget/store-south", "partner_ids": []},
                 headers=world.headers("pl")).json()["shared_with"] == []
    seen = {x["unique_id"] for x in c.get(f"/consensus/{version}", headers=world.headers("ana")).json()["items"]}
    assert seen == {"widget/store-north", "gadget/store-north"}
    assert c.put("/history/series/shares", json={"series": "widget/store-south", "partner_ids": ["shops"]},
                 headers=world.headers("wil")).status_code == 403


# ----------------------------------------------------------------------------- 3. one upload hides everyone's


def test_upload_with_other_key_columns_is_refused_and_history_intact(world):
    c = world.client
    with world.session() as s:
        series_before = set(actuals_frame(s, "M")["unique_id"])
    assert len(series_before) == 4
    r = c.post("/uploads", content="product,site,region,date,quantity\nwidget,store-south,eu,2027-01-01,5\n",
               headers=world.headers("wil", **CSV))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["detail"]] == ["body.region"]
    r = c.post("/uploads", content="product,date,quantity\nwidget,2027-01-01,5\n", headers=world.headers("wil", **CSV))
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["body.site"]
    # same key columns in another order: accepted
    r = c.post("/uploads", content="site,product,date,quantity\nstore-south,widget,2027-01-01,5\n",
               headers=world.headers("wil", **CSV))
    assert r.status_code == 201 and r.json()["keys"] == ["product", "site"]
    with world.session() as s:
        assert set(actuals_frame(s, "M")["unique_id"]) == series_before
    fva = c.get("/fva", headers=world.headers("pl"))
    assert fva.status_code == 200, fva.text
    rules = c.get("/history/rules", headers=world.headers("ana")).json()
    assert rules["key_columns"] == ["product", "site"] and rules["from_upload_id"] == world.ids["upload"]["own"]
    assert rules["series"] == 2  # the series shops sees
    # the key columns cannot change once history exists; the same ones again are fine
    assert c.put("/history/rules", json={"key_columns": ["product", "site", "region"]},
                 headers=world.headers("pl")).status_code == 409
    assert c.put("/history/rules", json={"key_columns": ["product", "site"]}, headers=world.headers("pl")).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # parsing only: the database does not matter
def test_header_only_and_duplicate_header_uploads_are_422(world):
    c, h = world.client, world.headers("wil", **CSV)
    stored = counts(world)
    r = c.post("/uploads", content="product,site,date,quantity\n", headers=h)
    assert r.status_code == 422 and "header only" in r.json()["detail"][0]["msg"]
    r = c.post("/uploads", content="product,site,date,date,quantity\nwidget,store-south,2027-01-01,2027-01-01,5\n", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.date"
    assert "more than once" in r.json()["detail"][0]["msg"]
    r = c.post("/uploads", content="", headers=h)
    assert r.status_code == 422
    r = c.post("/uploads", content="product,,date,quantity\nwidget,x,2027-01-01,5\n", headers=h)
    assert r.status_code == 422 and "without a name" in r.json()["detail"][0]["msg"]
    assert counts(world) == stored


def test_planner_declares_key_columns_before_any_upload(migrated_db_url):
    engine_app = make_app(migrated_db_url)
    tokens, _ = seed_users(engine_app.state.engine)
    c = TestClient(engine_app)
    h = lambda u, **x: {"Authorization": f"Bearer {tokens[u]}", **x}  # noqa: E731
    assert c.get("/history/rules", headers=h("ana")).json()["key_columns"] is None
    r = c.put("/history/rules", json={"key_columns": ["product", "site", "region"]}, headers=h("pl"))
    assert r.status_code == 200 and r.json()["declared_by"] == "pl"
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,dc,2027-01-01,5\n", headers=h("ana", **CSV))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.region"
    r = c.post("/uploads", content="product,site,region,date,quantity\nwidget,dc,eu,2027-01-01,5\n", headers=h("ana", **CSV))
    assert r.status_code == 201, r.text
    bad = c.put("/history/rules", json={"key_columns": ["product", "date"]}, headers=h("pl"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.key_columns.1"
    engine_app.state.engine.dispose()


# ----------------------------------------------------------------------------- 4. wide files, limits, speed


def test_wide_file_is_refused_on_its_header(world):
    header = ",".join(["product", "site", "date", "quantity"] + [f"c{i}" for i in range(4996)])
    row = ",".join(["widget", "store-south", "2027-01-01", "5"] + ["x"] * 4996)
    body = header + "\n" + row + "\n"
    assert 30_000 < len(body) < 60_000
    stored = counts(world)
    started = time.perf_counter()
    r = world.client.post("/uploads", content=body, headers=world.headers("wil", **CSV))
    took = time.perf_counter() - started
    assert r.status_code == 422 and "JOINTPLAN_MAX_UPLOAD_COLUMNS" in r.json()["detail"][0]["msg"]
    assert "5000 columns" in r.json()["detail"][0]["msg"]
    assert took < 2.0, took
    wide_json = {"rows": [{**{f"c{i}": "x" for i in range(100)}, "product": "w", "site": "s", "date": "2027-01-01",
                           "quantity": 1}]}
    r = world.client.post("/uploads", json=wide_json, headers=world.headers("wil"))
    assert r.status_code == 422 and "JOINTPLAN_MAX_UPLOAD_COLUMNS" in r.json()["detail"][0]["msg"]
    assert counts(world) == stored
    assert world.client.get("/health").status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # parsing only: the database does not matter
def test_row_and_cell_limits_are_413_naming_the_limit(migrated_db_url):
    app = make_app(migrated_db_url, max_upload_rows=100, max_upload_cells=300)
    tokens, _ = seed_users(app.state.engine)
    c = TestClient(app)
    h = {"Authorization": f"Bearer {tokens['ana']}", **CSV}
    days = pd.date_range("2020-01-01", periods=101, freq="D").strftime("%Y-%m-%d")
    rows = "".join(f"widget,n,{d},1\n" for d in days)
    r = c.post("/uploads", content="product,site,date,quantity\n" + rows, headers=h)  # 101 rows, 404 cells
    assert r.status_code == 413 and "JOINTPLAN_MAX_UPLOAD_CELLS" in r.json()["detail"]
    r = c.post("/uploads", content="product,date,quantity\n" + "".join(f"w,{d},1\n" for d in days), headers=h)
    assert r.status_code == 413 and "JOINTPLAN_MAX_UPLOAD_ROWS" in r.json()["detail"]
    r = c.post("/submissions", content="product,date,value\n" + "".join(f"w,{d},1\n" for d in days), headers=h)
    assert r.status_code == 413 and "JOINTPLAN_MAX_UPLOAD_ROWS" in r.json()["detail"]
    r = c.post("/uploads", content="product,date,quantity\n" + "".join(f"w,{d},1\n" for d in days[:100]), headers=h)
    assert r.status_code == 201, r.text
    app.state.engine.dispose()


def test_50k_row_upload_is_fast(world):
    days = pd.date_range("2000-01-01", periods=500, freq="D").strftime("%Y-%m-%d").tolist()
    lines = ["product,site,date,quantity"] + [f"p{i},store-south,{d},{j}" for i in range(100) for j, d in enumerate(days)]
    body = "\n".join(lines) + "\n"
    started = time.perf_counter()
    r = world.client.post("/uploads", content=body, headers=world.headers("wil", **CSV))
    took = time.perf_counter() - started
    assert r.status_code == 201, r.text
    assert r.json()["row_count"] == 50_000
    assert took < 15.0, f"50k-row upload took {took:.1f} s"  # 1.7-2.5 s (SQLite), 4-8 s (PostgreSQL) on the shared 2-core machine at load 5-14
    assert value(world, "p7/store-south", days[3]) == 3.0
    started = time.perf_counter()
    with world.session() as s:
        assert len(history_frame(s)) == 50_000 + 240
    assert time.perf_counter() - started < 15.0  # reading 50k points: 1.3-2.9 s at load 5-14


# ----------------------------------------------------------------------------- 5. bad bodies


@pytest.mark.parametrize("route", ["/uploads", "/submissions"])
def test_deep_json_and_huge_integers_are_422(world, route):
    c, h = world.client, world.headers("wil", **{"Content-Type": "application/json"})
    deep = '{"rows":' + "[" * 10_000 + "]" * 10_000 + "}"
    r = c.post(route, content=deep, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "body" and "nested" in r.json()["detail"][0]["msg"]
    column = "quantity" if route == "/uploads" else "value"
    huge = ('{"rows":[{"product":"widget","site":"store-south","date":"2027-01-01","%s":%s}]}' % (column, "9" * 5000))
    r = c.post(route, content=huge, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == f"body.{column}"
    assert "finite" in r.json()["detail"][0]["msg"] or "not a number" in r.json()["detail"][0]["msg"]
    csv_huge = f"product,site,date,{column}\nwidget,store-south,2027-01-01,{'9' * 5000}\n"
    r = c.post(route, content=csv_huge, headers=world.headers("wil", **CSV))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == f"body.{column}"


# ----------------------------------------------------------------------------- migration


def test_migration_moves_uploads_with_the_owner_rule(db_url):
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import PartnerRecord, User

    upgrade(db_url, "0002_jobs")
    engine = make_engine(db_url)
    try:
        up = sa.table("data_uploads", *[sa.column(c) for c in (
            "partner_id", "uploader_id", "created_at", "format", "row_count", "content_hash", "request_hash")],
            sa.column("keys", sa.JSON), sa.column("rows", sa.JSON))
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO partners (id, name, created_at) VALUES ('shops', 'S', '2026-01-01'), "
                                 "('wholesale', 'W', '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO users (id, name, role, partner_id, disabled, created_at) VALUES "
                                 "(101, 'ana', 'partner', 'shops', false, '2026-01-01'), "
                                 "(102, 'wil', 'partner', 'wholesale', false, '2026-01-01')"))
            row = lambda site, d, q, **k: {"product": "widget", "site": site, "date": d, "quantity": q, **k}  # noqa: E731
            for partner, uid, keys, rows in (
                ("shops", 101, ["product", "site"], [row("north", "2026-01-01", 10.0), row("north", "2026-02-01", 11.0)]),
                ("wholesale", 102, ["product", "site"], [row("north", "2026-01-01", 9999.0), row("south", "2026-01-01", 20.0)]),
                ("wholesale", 102, ["product", "site", "region"], [row("south", "2026-03-01", 5.0, region="eu")]),
                ("shops", 101, ["product", "site"], [row("north", "2026-02-01", 12.0)]),
            ):
                conn.execute(up.insert().values(partner_id=partner, uploader_id=uid, created_at="2026-06-01",
                                                format="json", row_count=len(rows), content_hash="h", request_hash="r",
                                                keys=keys, rows=rows))
        upgrade(engine)
        with session_factory(engine)() as s:
            h = history_frame(s)
            got = {(f"{r.product}/{r.site}", r.date): r.quantity for r in h.itertuples()}
            assert got == {("widget/north", "2026-01-01"): 10.0, ("widget/north", "2026-02-01"): 12.0,
                           ("widget/south", "2026-01-01"): 20.0}
            assert s.get(DataUpload, 3).retracted_at is not None  # other key columns: retracted by the migration
            assert s.get(DataUpload, 2).retracted_at is None
            assert s.scalar(sa.select(sa.func.count()).select_from(HistoryPoint)) == 5  # wholesale's 9999 kept
            # a new series after the migration gets a fresh id (the PostgreSQL sequence was moved on)
            from api.history import History, store_upload
            from datetime import date

            s.add(User(id=103, name="x", role="admin"))
            s.flush()
            new = DataUpload(partner_id="shops", uploader_id=103, format="csv", row_count=1, content_hash="h",
                             request_hash="r", keys=["product", "site"], rows=[])
            one = History(["product", "site"], pd.DataFrame({"product": ["gadget"], "site": ["north"]}),
                          [date(2026, 1, 1)], np.array([1.0]))
            store_upload(s, new, one, True)
            s.commit()
        client = TestClient(make_app(db_url, engine))
        from api.security import create_user

        with session_factory(engine)() as s:
            _, token = create_user(s, "pl", "planner", None)
            s.commit()
        lin = client.get("/history/lineage", params={"series": "widget/north"},
                         headers={"Authorization": f"Bearer {token}"}).json()["items"]
        assert [(v["date"], v["partner_id"], v["quantity"], v["from_owner"], v["current"]) for v in lin] == [
            ("2026-01-01", "shops", 10.0, True, True), ("2026-01-01", "wholesale", 9999.0, False, False),
            ("2026-02-01", "shops", 11.0, True, False), ("2026-02-01", "shops", 12.0, True, True)]
        _ = PartnerRecord
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- the current flag and the total


def current_ids(world) -> tuple[set[int], set[int]]:
    """Points flagged current, and the points the definition (api.history.current_points) picks."""
    from api.history import current_points

    with world.session() as s:
        flagged = set(s.scalars(sa.select(HistoryPoint.id).where(HistoryPoint.current.is_(True))))
        defined = set(s.scalars(current_points()))
    return flagged, defined


def test_current_flag_follows_uploads_corrections_retractions_and_owner_changes(world):
    """``history_points.current`` equals its definition after every kind of write. Catches: an
    upload not demoting the versions it replaces (two current points for one date), a retraction
    or an owner change that does not recompute the flag (a retracted or foreign row still read)."""
    c = world.client
    flagged, defined = current_ids(world)
    assert flagged == defined and len(flagged) > 0
    steps = []
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,store-south,2026-01-01,4242\n"
                                   "widget,store-south,2031-01-01,5\n", headers=world.headers("wil", **CSV))
    assert r.status_code == 201, r.text
    fix = r.json()["id"]
    steps.append(("correction", current_ids(world)))
    assert value(world, "widget/store-south", "2026-01-01") == 4242
    r = c.post("/uploads", content="product,site,date,quantity\nwidget,store-south,2026-01-01,17\n",
               headers=world.headers("wil", **CSV))
    assert r.status_code == 201
    steps.append(("second correction", current_ids(world)))
    assert c.post(f"/uploads/{fix}/retract", headers=world.headers("wil")).status_code == 200
    steps.append(("retraction of the first", current_ids(world)))
    assert value(world, "widget/store-south", "2026-01-01") == 17  # the later correction still counts
    assert value(world, "widget/store-south", "2031-01-01") is None  # only the retracted upload had that date
    # store-north handed to wholesale and back: shops' rows stop counting, then count again
    for owner in ("wholesale", "shops"):
        r = c.put("/history/series/owner", json={"series": "widget/store-north", "partner_id": owner},
                  headers=world.headers("pl"))
        assert r.status_code == 200, r.text
        steps.append((f"owner {owner}", current_ids(world)))
        assert (value(world, "widget/store-north", "2026-01-01") is None) == (owner == "wholesale")
    for name, (flagged, defined) in steps:
        assert flagged == defined, f"after the {name}: flagged but not current {sorted(flagged - defined)[:5]}, " \
                                   f"current but not flagged {sorted(defined - flagged)[:5]}"


def test_total_current_points_are_capped_and_a_refused_upload_stores_nothing(migrated_db_url):
    """JOINTPLAN_MAX_HISTORY_POINTS bounds the shared history (and so every history read): an upload
    that would pass it is 413 and stores nothing; corrections of stored dates add no current point
    and pass at the limit; a retraction frees room."""
    app = make_app(migrated_db_url, max_history_points=6)
    tokens, _ = seed_users(app.state.engine)
    c = TestClient(app)
    h = {"Authorization": f"Bearer {tokens['ana']}", **CSV}

    def rows(days: int, start: int = 1, qty: int = 1) -> str:
        return "product,site,date,quantity\n" + "".join(f"widget,n,2026-01-{d:02d},{qty}\n" for d in range(start, start + days))

    def stored() -> tuple[int, int]:
        with app.state.engine.connect() as conn:
            return (conn.scalar(sa.select(sa.func.count()).select_from(DataUpload)),
                    conn.scalar(sa.select(sa.func.count()).select_from(HistoryPoint)))

    first = c.post("/uploads", content=rows(5), headers=h)
    assert first.status_code == 201, first.text
    before = stored()
    r = c.post("/uploads", content=rows(2, start=6), headers=h)  # 7 current points
    assert r.status_code == 413 and "JOINTPLAN_MAX_HISTORY_POINTS" in r.json()["detail"] and "7" in r.json()["detail"]
    assert stored() == before
    assert c.post("/uploads", content=rows(1, start=6), headers=h).status_code == 201  # 6: at the limit
    assert c.post("/uploads", content=rows(6, qty=2), headers=h).status_code == 201  # corrections: still 6
    assert c.post("/uploads", content=rows(1, start=7), headers=h).status_code == 413
    assert c.post(f"/uploads/{first.json()['id']}/retract", headers=h).status_code == 200  # days 1-5 still current (corrected)
    assert c.post("/uploads", content=rows(1, start=7), headers=h).status_code == 413
    with app.state.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(HistoryPoint).where(HistoryPoint.current.is_(True))) == 6
    app.state.engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # parsing only: the database does not matter
def test_key_value_with_a_slash_is_422_naming_the_column(world):
    """A series id joins the key values with '/': ('a/b', 'c') and ('a', 'b/c') would be one series."""
    body = "product,site,date,quantity\nwidget/xl,store-north,2026-12-01,5\nwidget,store-north,2026-12-02,5\n"
    stored = counts(world)
    r = world.client.post("/uploads", content=body, headers=world.headers("ana", **CSV))
    assert r.status_code == 422, r.text
    (p,) = r.json()["detail"]
    assert p["field"] == "body.product" and "'/'" in p["msg"] and "rows 1" in p["msg"]
    assert counts(world) == stored


def test_history_read_memory_is_a_few_dozen_bytes_a_point(world, monkeypatch):
    """history_frame reads in batches into arrays: its Python heap peak stays under 100 bytes a
    point plus one batch (the grouping read of every row as Python objects took about 385 bytes a
    point; measured with tracemalloc, which counts numpy's and pandas' buffers too). Batches of
    5,000 rows here, so that one batch is small beside the 100,000 points."""
    import tracemalloc

    import api.history

    monkeypatch.setattr(api.history, "READ_BATCH", 5_000)

    days = pd.date_range("2000-01-01", periods=500, freq="D").strftime("%Y-%m-%d").tolist()
    body = "product,site,date,quantity\n" + "".join(f"p{i},store-south,{d},{j}\n" for i in range(200)
                                                    for j, d in enumerate(days))
    r = world.client.post("/uploads", content=body, headers=world.headers("wil", **CSV))
    assert r.status_code == 201, r.text
    with world.session() as s:
        tracemalloc.start()
        try:
            h = history_frame(s)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(h) == 100_000 + 240
    assert peak / len(h) < 100, f"{peak / len(h):.0f} bytes a point"
    assert h.loc[h["product"] == "p7", "quantity"].tolist()[:3] == [0.0, 1.0, 2.0]
    assert h.loc[h["product"] == "p7", "date"].tolist()[:2] == ["2000-01-01", "2000-01-02"]
