"""The inboxes are answered by the database, a page at a time, with a correct total:

- the finance inbox (``GET /plans?review=waiting|decided``) equals the rule the web workbench
  applied to every plan and review before (web/src/lib/reviews.ts, restated here as
  :func:`old_inbox`) on a world of several scenarios, plans, reviews and voids;
- the exceptions inbox (``GET /exceptions?rule=&severity=&partner=&resolved=``) filters in SQL,
  a partner's scope included (``exception_partners``, migration ``0008_exception_partners``),
  so a partner's totals and facet counts (``GET /exception-facets``) count only its own;
- bad filter values are 422 naming the field; the number of SQL statements does not grow with
  the page; the migration fills ``exception_partners`` in from the JSON lists already stored.

Both databases (SQLite and PostgreSQL) run each test.

Deliberate errors these tests catch (each was put in once and seen to fail):

- ``inbox_filter`` taking any finished plan instead of each scenario's newest
  (``test_finance_inbox_equals_the_old_client_rule``);
- the partner scope dropped from ``GET /exceptions`` when a ``partner`` filter is given
  (``scoped`` applying only one of the two): ``test_exception_filters_and_partner_scope``;
- the migration's backfill skipped: ``test_migration_fills_exception_partners``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_api_load import statements

from api.models import ExceptionPartner, ExceptionRecord, FinanceReview, PlanRecord, ResolutionRecord, ScenarioVersion, utcnow


# ------------------------------------------------------------------------------------ finance


def old_inbox(plans: list[dict], reviews: list[dict]) -> dict[str, list]:
    """web/src/lib/reviews.ts's reviewInbox (the rule the browser applied to whole lists)."""
    newest: dict[int, dict] = {}
    for p in plans:
        if p["status"] != "done":
            continue
        cur = newest.get(p["scenario_id"])
        if cur is None or p["id"] > cur["id"]:
            newest[p["scenario_id"]] = p
    live: dict[int, dict] = {}
    for r in reviews:
        if r["active"] and (r["plan_id"] not in live or r["id"] > live[r["plan_id"]]["id"]):
            live[r["plan_id"]] = r
    current = sorted(newest.values(), key=lambda p: -p["id"])
    return {"waiting": [p["id"] for p in current if p["id"] not in live],
            "decided": [(p["id"], live[p["id"]]["id"]) for p in current if p["id"] in live],
            "voided": sorted((r["id"] for r in reviews if not r["active"]), reverse=True)}


def _all(client, path: str, headers, **params) -> tuple[list[dict], int]:
    """Every item of a paged list, read 2 at a time (so paging is exercised), and its total."""
    items, offset, totals = [], 0, set()
    while True:
        r = client.get(path, params={**params, "limit": 2, "offset": offset}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        totals.add(body["total"])
        items += body["items"]
        offset += 2
        if offset >= body["total"]:
            break
    assert len(totals) == 1 and len(items) == totals.pop(), "the total changed between pages, or is wrong"
    return items, len(items)


def _add_scenario(world, name: str) -> int:
    from api_world import scenario_content

    r = world.client.post("/scenarios", json={"name": name, "content": scenario_content()}, headers=world.headers("pl"))
    assert r.status_code == 201, r.text
    return r.json()["scenario_id"]


def _add_plans(world, scenario_id: int, statuses: list[str]) -> list[int]:
    ids = []
    with world.session() as s:
        seen = s.scalar(sa.select(sa.func.count()).select_from(PlanRecord))
        sv = s.scalars(sa.select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id)
                       .order_by(ScenarioVersion.version.desc())).first()
        for i, status in enumerate(statuses):
            plan = PlanRecord(scenario_version_id=sv.id, options={"n": i}, options_hash=f"{seen + i:064d}",
                              status=status, result=None, created_by_id=world.user_ids["pl"],
                              finished_at=utcnow() if status == "done" else None)
            s.add(plan)
            s.flush()
            ids.append(plan.id)
        s.commit()
    return ids


def _review(world, plan_id: int, decision: str = "approve", voided_by: int | None = None) -> int:
    with world.session() as s:
        r = FinanceReview(plan_id=plan_id, reviewer_id=world.user_ids["fi"], decision=decision, comment="c",
                          voided_at=utcnow() if voided_by else None, voided_by_plan_id=voided_by)
        s.add(r)
        s.commit()
        return r.id


@pytest.fixture
def finance_world(world):
    """Scenarios: A (3 done plans, the newest reviewed twice, an older one's review not yet voided,
    a failed plan newer than them all), B (one done plan, no review), C (a queued plan only),
    D (two done plans: the older one approved and voided, the newer rejected), E (done, unreviewed,
    an older plan reviewed and voided), and the world's own scenario (no plan)."""
    a, b, c, d, e = (_add_scenario(world, n) for n in "ABCDE")
    a_plans = _add_plans(world, a, ["done", "done", "done"])
    b_plans = _add_plans(world, b, ["done"])
    _add_plans(world, c, ["queued"])
    d_plans = _add_plans(world, d, ["done", "done"])
    e_plans = _add_plans(world, e, ["done", "done"])
    _add_plans(world, a, ["failed"])
    _review(world, a_plans[0])  # older plan, live: the API voids it on read
    _review(world, a_plans[2], "reject")
    _review(world, a_plans[2], "approve")  # the latest live review is this one
    _review(world, d_plans[0], "approve", voided_by=d_plans[1])
    _review(world, d_plans[1], "reject")
    _review(world, e_plans[0], "approve", voided_by=e_plans[1])
    world.fixture_plans = {"A": a_plans, "B": b_plans, "D": d_plans, "E": e_plans}
    return world


def test_finance_inbox_equals_the_old_client_rule(finance_world):
    w, h = finance_world, finance_world.headers("fi")
    waiting, n_waiting = _all(w.client, "/plans", h, review="waiting")
    decided, n_decided = _all(w.client, "/plans", h, review="decided")
    voided, _ = _all(w.client, "/reviews", h, active="false")
    plans, _ = _all(w.client, "/plans", h, status="done")
    reviews, _ = _all(w.client, "/reviews", h)
    old = old_inbox(plans, reviews)
    assert [p["id"] for p in waiting] == old["waiting"]
    assert [(p["id"], p["review"]["id"]) for p in decided] == old["decided"]
    assert [r["id"] for r in voided] == old["voided"]
    # and what that is, spelled out
    fp = w.fixture_plans
    assert old["waiting"] == [fp["E"][1], fp["B"][0]] and n_waiting == 2
    assert [pid for pid, _ in old["decided"]] == [fp["D"][1], fp["A"][2]] and n_decided == 2
    assert len(old["voided"]) == 3  # D's and E's voided reviews, and A's older plan's review voided on read
    assert all(p["review"] is None for p in waiting)
    assert decided[1]["review"]["decision"] == "approve" and decided[1]["review"]["reviewer"] == "fi"
    assert decided[0]["scenario_name"] == "D" and waiting[0]["scenario_name"] == "E"
    # the filters combine with the others
    r = w.client.get("/plans", params={"review": "waiting", "scenario_id": _scenario_of(w, fp["B"][0])}, headers=h)
    assert [p["id"] for p in r.json()["items"]] == [fp["B"][0]] and r.json()["total"] == 1


def _scenario_of(world, plan_id: int) -> int:
    with world.session() as s:
        return s.scalar(sa.select(ScenarioVersion.scenario_id).join(PlanRecord, PlanRecord.scenario_version_id == ScenarioVersion.id)
                        .where(PlanRecord.id == plan_id))


def test_finance_inbox_follows_a_new_plan_and_a_review(finance_world):
    w, h = finance_world, finance_world.headers("fi")
    b_plan = w.fixture_plans["B"][0]
    r = w.client.post(f"/plans/{b_plan}/reviews", json={"decision": "approve", "comment": "ok"}, headers=h)
    assert r.status_code == 201, r.text
    waiting = w.client.get("/plans?review=waiting", headers=h).json()
    assert b_plan not in [p["id"] for p in waiting["items"]] and waiting["total"] == 1
    decided = w.client.get("/plans?review=decided", headers=h).json()
    assert b_plan in [p["id"] for p in decided["items"]]
    # a newer finished plan of B: the approval is void, the new plan waits
    (newer,) = _add_plans(w, _scenario_of(w, b_plan), ["done"])
    waiting = w.client.get("/plans?review=waiting", headers=h).json()
    assert [p["id"] for p in waiting["items"]][:1] == [newer] and waiting["total"] == 2
    voided = w.client.get("/reviews?active=false", headers=h).json()
    assert voided["items"][0]["plan_id"] == b_plan and voided["items"][0]["voided_by_plan_id"] == newer


def test_finance_inbox_statements_do_not_grow_with_the_page(finance_world):
    w, h = finance_world, finance_world.headers("fi")
    w.client.get("/reviews", headers=h)  # void what is superseded first (a write, once)
    for review in ("waiting", "decided"):
        with statements(w.engine) as one:
            assert len(w.client.get(f"/plans?review={review}&limit=1", headers=h).json()["items"]) == 1
        with statements(w.engine) as many:
            assert len(w.client.get(f"/plans?review={review}&limit=50", headers=h).json()["items"]) == 2
        assert len(many) == len(one) <= 6, (review, many)


@pytest.mark.parametrize("query, field", [
    ("review=maybe", "review"), ("review=", "review"), ("review=waiting&limit=0", "limit"),
])
def test_finance_inbox_bad_values_are_422(world, query, field):
    r = world.client.get(f"/plans?{query}", headers=world.headers("fi"))
    assert r.status_code == 422, r.text
    assert field in r.text


def test_partners_cannot_read_the_finance_inbox(world):
    assert world.client.get("/plans?review=waiting", headers=world.headers("ana")).status_code == 403


# --------------------------------------------------------------------------------- exceptions


def _exception(s, ident: str, partners: list[str], rule="vs-statistical", severity="low", unique_id="widget/x"):
    s.add(ExceptionRecord(id=ident, unique_id=unique_id, ds="2027-01-01", rule=rule, kind="tolerance",
                          sources=" vs ".join(partners + ["statistical"]), values="1 vs 2", measure=1.0, limit=0.5,
                          severity=severity, owner=partners[0] if partners else "", message="m", partners=partners))


@pytest.fixture
def exception_world(world):
    """The world's two exceptions (one per partner) and: shops+wholesale (high, resolved),
    shops only (high, rule error), wholesale only x3 (medium), nobody's (low)."""
    with world.session() as s:
        _exception(s, "EX-0000000c01", ["shops", "wholesale"], severity="high", unique_id="widget/a")
        _exception(s, "EX-0000000c02", ["shops"], rule="error", severity="high", unique_id="widget/b")
        for i in range(3):
            _exception(s, f"EX-0000000d0{i}", ["wholesale"], severity="medium", unique_id=f"widget/c{i}")
        _exception(s, "EX-0000000e01", [], severity="low", unique_id="widget/z")
        s.flush()
        s.add(ResolutionRecord(exception_id="EX-0000000c01", unique_id="widget/a", action="accept_source", source="shops",
                         reason="ok", author_id=world.user_ids["pl"]))
        s.commit()
    return world


def _ids(world, user: str, **params) -> tuple[list[str], int]:
    items, total = _all(world.client, "/exceptions", world.headers(user), **params)
    return sorted(i["id"] for i in items), total


def test_exception_filters_and_partner_scope(exception_world):
    w = exception_world
    with w.session() as s:
        every = {e.id: e for e in s.scalars(sa.select(ExceptionRecord))}
        resolved = set(s.scalars(sa.select(ResolutionRecord.exception_id)))

    def expect(scope=None, **f):  # the filters, applied in Python to every row
        return sorted(i for i, e in every.items() if (scope is None or scope in e.partners)
                      and (f.get("rule") is None or e.rule == f["rule"])
                      and (f.get("severity") is None or e.severity == f["severity"])
                      and (f.get("partner") is None or f["partner"] in e.partners)
                      and (f.get("resolved") is None or (i in resolved) == (f["resolved"] == "true")))

    cases = [{}, {"rule": "error"}, {"rule": "nothing-such"}, {"severity": "high"}, {"partner": "shops"},
             {"partner": "wholesale", "severity": "medium"}, {"resolved": "true"}, {"resolved": "false"},
             {"partner": "wholesale", "resolved": "false"}, {"partner": "shops", "rule": "vs-statistical", "resolved": "true"}]
    for f in cases:
        for user, scope in (("pl", None), ("adm", None), ("ana", "shops"), ("wil", "wholesale")):
            ids, total = _ids(w, user, **f)
            assert ids == expect(scope, **f), (user, f)
            assert total == len(ids)
    # a partner naming another partner sees only the exceptions involving both (none leak)
    assert _ids(w, "ana", partner="wholesale")[0] == ["EX-0000000c01"]
    assert _ids(w, "ana", partner="maker") == ([], 0)
    # most severe first, then open before resolved, then by series
    items, _ = _all(w.client, "/exceptions", w.headers("pl"))
    rank = {"high": 0, "medium": 1, "low": 2}
    keys = [(rank[i["severity"]], i["resolved"], i["unique_id"], i["ds"] or "", i["id"]) for i in items]
    assert keys == sorted(keys) and items[0]["id"] == "EX-0000000c02"
    # the rows' resolved flag agrees with the filter
    items, _ = _all(w.client, "/exceptions", w.headers("pl"), resolved="true")
    assert items and all(i["resolved"] for i in items)


def test_exception_facets_count_only_what_the_caller_sees(exception_world):
    w = exception_world
    staff = w.client.get("/exception-facets", headers=w.headers("pl")).json()
    assert staff["total"] == 8 and staff["resolved"] == 1 and staff["open"] == 7
    assert {f["value"]: f["count"] for f in staff["partners"]} == {"shops": 3, "wholesale": 5}
    assert [f["value"] for f in staff["severities"]] == ["high", "medium", "low"]
    assert {f["value"]: f["count"] for f in staff["rules"]} == {"error": 1, "vs-statistical": 7}
    ana = w.client.get("/exception-facets", headers=w.headers("ana")).json()
    assert ana["total"] == 3 and ana["resolved"] == 1
    assert ana["partners"] == [{"value": "shops", "count": 3}]  # wholesale, also involved in one, is not named
    assert {f["value"]: f["count"] for f in ana["severities"]} == {"high": 2, "medium": 1}
    wil = w.client.get("/exception-facets", headers=w.headers("wil")).json()
    assert wil["total"] == 5 and wil["partners"] == [{"value": "wholesale", "count": 5}]
    assert w.client.get("/exception-facets", headers=w.headers("fi")).status_code == 403


def test_exception_statements_do_not_grow_with_the_page(exception_world):
    w = exception_world
    for user, params in (("pl", ""), ("pl", "&partner=wholesale&resolved=false&severity=medium"), ("wil", "&rule=vs-statistical")):
        with statements(w.engine) as one:
            r1 = w.client.get(f"/exceptions?limit=1{params}", headers=w.headers(user)).json()
        with statements(w.engine) as many:
            r50 = w.client.get(f"/exceptions?limit=50{params}", headers=w.headers(user)).json()
        assert len(r1["items"]) == 1 and len(r50["items"]) > 1
        assert len(many) == len(one) <= 5, (user, params, many)  # a partner user: its partner read too
    with statements(w.engine) as facets:
        w.client.get("/exception-facets", headers=w.headers("ana"))
    assert len(facets) <= 6, facets


@pytest.mark.parametrize("query, field", [
    ("severity=urgent", "severity"), ("resolved=perhaps", "resolved"), ("rule=", "rule"), ("rule=" + "x" * 101, "rule"),
    ("partner=", "partner"), ("partner=bad%20id", "partner"), ("partner=" + "p" * 65, "partner"), ("rule=a%00b", "rule"),
])
def test_exception_bad_filter_values_are_422(world, query, field):
    r = world.client.get(f"/exceptions?{query}", headers=world.headers("pl"))
    assert r.status_code == 422, r.text
    assert field in r.text


def test_exception_partners_follow_the_json_list(world):
    """Reassigning an exception's partners (as a scan does) rewrites its link rows."""
    with world.session() as s:
        _exception(s, "EX-0000000f01", ["shops", "wholesale"])
        s.commit()
    with world.session() as s:
        s.get(ExceptionRecord, "EX-0000000f01").partners = ["wholesale", "maker"]
        s.commit()
    with world.session() as s:
        links = s.scalars(sa.select(ExceptionPartner.partner_id).where(ExceptionPartner.exception_id == "EX-0000000f01")
                          .order_by(ExceptionPartner.partner_id)).all()
    assert links == ["maker", "wholesale"]
    assert "EX-0000000f01" not in _ids(world, "ana")[0] and "EX-0000000f01" in _ids(world, "wil")[0]


def test_migration_fills_exception_partners(db_url):
    from api.migrate import upgrade

    upgrade(db_url, "0007_plan_basis")
    engine = sa.create_engine(db_url)
    now = utcnow() - timedelta(days=1)
    rows = [("EX-0000000a01", ["shops", "wholesale"]), ("EX-0000000a02", ["maker"]), ("EX-0000000a03", [])]
    table = sa.table("cpfr_exceptions", *(sa.column(c) for c in (
        "id", "unique_id", "ds", "rule", "kind", "sources", "values", "measure", "limit", "severity", "owner", "message",
        "first_seen_at", "last_seen_at")), sa.column("partners", sa.JSON()))
    with engine.begin() as conn:
        for ident, partners in rows:
            conn.execute(sa.insert(table).values(id=ident, unique_id="w", ds=None, rule="r", kind="error", sources="s",
                                                 values="v", measure=None, limit=None, severity="low", owner="",
                                                 message="m", partners=partners, first_seen_at=now, last_seen_at=now))
    upgrade(db_url)
    with engine.connect() as conn:
        links = sorted(tuple(r) for r in conn.execute(sa.text("SELECT exception_id, partner_id FROM exception_partners")))
    engine.dispose()
    assert links == [("EX-0000000a01", "shops"), ("EX-0000000a01", "wholesale"), ("EX-0000000a02", "maker")]
