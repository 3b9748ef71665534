"""A done plan's result tables stored one by one, column by column (``plan_tables``, migration
0009_plan_tables): the backfill of plans stored before, the paged route and the whole-table
columnar route reading them (and, for plans without stored tables, the result), on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, update

from api.migrate import alembic_config
from api.models import PlanRecord, PlanTable
from api.plan_tables import store_plan_tables
from api_world import build_world


@pytest.fixture
def plan_world(migrated_db_url, example_plan_result):
    w = build_world(migrated_db_url, example_plan_result)
    yield w
    w.client.close()
    w.engine.dispose()


def _migrate(engine, revision: str, down: bool = False) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _columns(w, plan_id: int, table: str, user: str = "pl", **params):
    return w.client.get(f"/plans/{plan_id}/tables/{table}/columns", params=params, headers=w.headers(user))


def _as_rows(body) -> list[dict]:
    return [dict(zip(body["columns"], values)) for values in zip(*body["data"])]


def _check_tables(w, plan_id: int, tables: dict[str, list[dict]]) -> None:
    for name, rows in tables.items():
        body = _columns(w, plan_id, name).json()
        assert body["total"] == len(rows) and body["offset"] == 0, name
        assert body["columns"] == list(rows[0]), name
        assert _as_rows(body) == rows, name
        page = w.client.get(f"/plans/{plan_id}/tables/{name}", params={"limit": 7, "offset": 3},
                            headers=w.headers("fi")).json()
        assert page["total"] == len(rows) and page["items"] == rows[3:10] and page["columns"] == list(rows[0])
    body = _columns(w, plan_id, "cash_flows", limit=5, offset=len(tables["cash_flows"]) - 2).json()
    assert _as_rows(body) == tables["cash_flows"][-2:] and body["limit"] == 5


def test_tables_backfilled_then_read_without_the_result(plan_world, example_plan_result):
    w = plan_world
    plan_id = w.ids["plan"]["own"]
    tables = example_plan_result["plan"]["tables"]
    with w.session() as s:  # stored as before 0008 (the world writes plans directly): read from the result
        assert s.scalars(select(PlanTable)).all() == []
    _check_tables(w, plan_id, tables)

    _migrate(w.engine, "0007_plan_basis", down=True)
    _migrate(w.engine, "head")  # 0008 backfills every stored result's tables
    with w.session() as s:
        stored = s.scalars(select(PlanTable).where(PlanTable.plan_id == plan_id).order_by(PlanTable.position)).all()
        assert [(t.name, t.n_rows) for t in stored] == [(n, len(r)) for n, r in tables.items()]
        backfilled = {t.name: (t.columns, t.data) for t in stored}
        assert len(s.scalars(select(PlanTable.plan_id).distinct()).all()) == len(w.ids["plan"]["all"])
        # the runner's layout (store_plan_tables) is the backfill's
        store_plan_tables(s, plan_id, s.get(PlanRecord, plan_id).result)
        s.commit()
        assert {t.name: (t.columns, t.data) for t in s.scalars(select(PlanTable).where(PlanTable.plan_id == plan_id))} == backfilled
        # from now on the routes read plan_tables only: the result's own tables are not needed
        result = dict(s.get(PlanRecord, plan_id).result, tables={})
        s.execute(update(PlanRecord).where(PlanRecord.id == plan_id).values(result=result))
        s.commit()
    _check_tables(w, plan_id, tables)
    # and the plan's summary counts the stored tables' rows
    summary = w.client.get(f"/plans/{plan_id}", headers=w.headers("pl")).json()["result"]
    assert summary["tables"] == {n: len(r) for n, r in tables.items()}
    assert summary["kpis"] == example_plan_result["plan"]["kpis"]
    missing = _columns(w, plan_id, "nope")
    assert missing.status_code == 404 and "production" in missing.json()["detail"]


def test_columns_route_bounded_validated_and_staff_only(plan_world):
    w = plan_world
    plan_id = w.ids["plan"]["own"]
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 200_001}, "query.limit"),
                          ({"offset": -1}, "query.offset"), ({"limit": "x"}, "query.limit")):
        r = _columns(w, plan_id, "production", **params)
        assert r.status_code == 422 and field in [e["field"] for e in r.json()["detail"]], (params, r.text)
    r = w.client.get(f"/plans/{plan_id}/tables/Bad-Name/columns", headers=w.headers("pl"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.table"
    assert _columns(w, 2**31 - 1, "production").status_code == 404
    assert _columns(w, plan_id, "production", user="ana").status_code == 403  # partners never see plans
    assert _columns(w, plan_id, "production", user="fi").status_code == 200
    with w.session() as s:  # a plan without a result yet: 409
        s.execute(update(PlanRecord).where(PlanRecord.id == plan_id).values(status="running"))
        s.commit()
    assert _columns(w, plan_id, "production").status_code == 409
