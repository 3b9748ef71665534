"""Access matrix: every route of the app (hidden ones included) × every role, on SQLite and on
PostgreSQL, against SPEC: a literal role × route table written independently of
``api/access.py``'s registry, plus what each partner sees of every list it may read. On SQLite
every route is called a second time with each role's browser session (the ``jp_session`` cookie
and its CSRF token) instead of its bearer token: the same answers, and 403 for an unsafe method
without the CSRF token.

Each test was seen to fail with the thing it guards broken:
- ``"partner"`` added to the roles of ``GET /plans`` in ``api/routes/plans.py``:
  ``test_route_access[*-GET /plans]`` fails (partner got 200, expected 403);
- a route without a SPEC row (the ``GET /jobs`` row deleted), and a SPEC row without a route
  (``GET /nowhere`` added): ``test_spec_and_routes_agree`` fails naming them;
- the route enumeration skipping ``include_in_schema=False`` routes (as ``access.api_routes``
  does): ``test_spec_and_routes_agree`` (the docs and /health rows have no route) and
  ``test_hidden_routes_are_covered`` fail;
- the partner filter removed from ``GET /uploads`` (``list_uploads``): ``test_partner_sees_only_its_own_rows``
  fails for ``GET /uploads`` (the other partner's uploads listed); before the fix in
  ``api/routes/consensus.py`` it failed for ``GET /consensus`` and ``GET /consensus/{version}``
  (``inputs.submissions`` named the other partners and their submission versions);
- ``unauthorized()`` without its ``WWW-Authenticate`` header (``api/deps.py``): every
  ``test_route_access`` case fails on the 401 check;
- the CSRF check in ``api.deps.caller`` skipped: every unsafe route's ``sqlite-cookie`` case fails.

The PostgreSQL variant runs every route on one shared world per test process (building a
world takes ~1.5 s; SQLite gets a fresh copy per route): the allowed outcome "2xx or 409"
tolerates what earlier routes' calls changed.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import ROUTERS, create_app
from api.settings import Settings
import api_world_financing
from api_world import OTHER, OWN, ROLE_USER, build_world, copy_sqlite, make_app

APP = create_app(Settings(database_url="sqlite://"))
OPENAPI = APP.openapi()

# ============================================================================ the specification
#
# THIS TABLE IS THE REVIEWED SPECIFICATION of who may call what. It is deliberately written out
# here, independently of the policy registry in api/access.py, so that a registration with a role
# too many (or too few) fails this test. Change a row only deliberately, with the product owner's
# review, never to make the test pass after changing a registration.
#
# roles:   who may call the route (others get 403); PUBLIC: no token needed (and none checked).
# partner: for the rows a partner user may call:
#   "own"      the path (or the partner_id query of a write) names a partner's object; a partner
#              user reaching another partner's gets 404 (its existence must not leak);
#   "filtered" a list/read whose rows a partner user sees only for its own partner;
#   "self"     about the caller itself; None: nothing partner-specific in it.
# Reviewed: 2026-12-02 (issue 14 §3). Rows marked "?" are questioned in the report.

A, P, F, PA = "admin", "planner", "finance", "partner"
PUBLIC = frozenset()
STAFF = frozenset({A, P, F})
EVERYONE = frozenset({A, P, F, PA})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    partner: str | None = None
    public: bool = False
    statuses: frozenset[int] = frozenset({200})  # what a public route answers anyone (its example body, if any)
    session: bool = False  # public, but answers only a browser session (200), anyone else 401


def R(*roles: str, partner: str | None = None) -> Rule:
    return Rule(frozenset(roles), partner)


def OPEN_(*statuses: int) -> Rule:
    return Rule(PUBLIC, public=True, statuses=frozenset(statuses))


OPEN = OPEN_(200)
SESSION_ONLY = Rule(PUBLIC, public=True, session=True)

SPEC: dict[str, Rule] = {
    # documentation and readiness: no token (not in the OpenAPI schema, so not in access.api_routes)
    "GET /openapi.json": OPEN,
    "GET /docs": OPEN,
    "GET /docs/oauth2-redirect": OPEN,
    "GET /redoc": OPEN,
    "GET /health": OPEN,
    # the web workbench (issue 15): static files; 503 (a page saying how to build it) without a build
    "GET /": OPEN_(307),  # to /app/
    "GET /app": OPEN_(307, 503),  # to /app/ (the app's base)
    "GET /app/{path:path}": OPEN_(200, 503),
    # browser sign-in (issue 15): no token; each route checks the session itself
    "POST /auth/login": OPEN_(401),  # the documented example names no user of the test world
    "POST /auth/logout": OPEN_(204),  # also without a session: nothing to end
    "GET /auth/me": SESSION_ONLY,  # 401 without a browser session, whatever bearer token
    # partners: admins register them; a partner user sees only itself
    "GET /partners": R(A, P, F, PA, partner="filtered"),
    "POST /partners": R(A),
    "GET /partners/{partner_id}": R(A, P, F, PA, partner="own"),
    # users and tokens: admins only; /users/me for everyone
    "GET /users/me": R(A, P, F, PA, partner="self"),
    "GET /users": R(A),
    "POST /users": R(A),
    "GET /users/{user_id}": R(A),
    "POST /users/{user_id}/tokens": R(A),
    "POST /users/{user_id}/disable": R(A),
    "GET /users/{user_id}/tokens": R(A),  # ids and times only, never a token
    "POST /users/{user_id}/tokens/{token_id}/revoke": R(A),
    # an admin sets anyone's password; any other user only its own ("self": another user's is 403;
    # one's own, with current_password, in test_api_sessions.py)
    "PUT /users/{user_id}/password": R(A, P, F, PA, partner="self"),
    "POST /partners/{partner_id}/disable": R(A),  # its users then get 403 everywhere
    "POST /partners/{partner_id}/enable": R(A),
    # shared sales history and the partners' forecasts: the partner's own, staff on its behalf (?);
    # finance has no use for raw partner data
    "POST /uploads": R(A, P, PA, partner="own"),
    "GET /uploads": R(A, P, PA, partner="filtered"),
    "GET /uploads/{upload_id}": R(A, P, PA, partner="own"),
    "POST /uploads/{upload_id}/retract": R(A, P, PA, partner="own"),  # the owner retracts its own upload
    # the collaboration's history rules: staff declare key columns, owners and shares; everyone
    # reads them (a partner: counts of the series it sees, no rows; the lineage of a series it
    # does not see is 404, checked in test_api_history_ownership.py)
    "GET /history/rules": R(A, P, F, PA),
    "PUT /history/rules": R(A, P),
    "GET /history/series": R(A, P, F, PA, partner="filtered"),
    "PUT /history/series/owner": R(A, P),
    "PUT /history/series/shares": R(A, P),
    "GET /history/lineage": R(A, P, F, PA, partner="filtered"),
    "POST /submissions": R(A, P, PA, partner="own"),  # ? staff submitting "as" a partner
    "GET /submissions": R(A, P, PA, partner="filtered"),
    "GET /submissions/{submission_id}": R(A, P, PA, partner="own"),
    # CPFR exceptions: planners scan; a partner sees and resolves (?) those involving it
    "POST /exception-scans": R(A, P),
    "GET /exceptions": R(A, P, PA, partner="filtered"),
    "GET /exception-facets": R(A, P, PA, partner="filtered"),
    "GET /exceptions/{exception_id}": R(A, P, PA, partner="own"),
    "POST /exceptions/{exception_id}/resolve": R(A, P, PA, partner="own"),  # ?
    "GET /exceptions/{exception_id}/resolutions": R(A, P, PA, partner="own"),
    # consensus: planners build it; everyone reads it, a partner the rows of its items
    "POST /consensus": R(A, P),
    "GET /consensus": R(A, P, F, PA, partner="filtered"),
    "GET /consensus/{version}": R(A, P, F, PA, partner="filtered"),
    "GET /fva": R(A, P, F, PA, partner="filtered"),
    # scenarios and plans hold every partner's costs and cash: never for partners
    "POST /scenarios": R(A, P),
    "GET /scenarios": R(A, P, F),
    "GET /scenarios/{scenario_id}": R(A, P, F),
    "GET /scenarios/{scenario_id}/versions": R(A, P, F),
    "POST /scenarios/{scenario_id}/versions": R(A, P),
    "POST /scenarios/{scenario_id}/from-consensus": R(A, P),
    "GET /scenarios/{scenario_id}/versions/{version}": R(A, P, F),
    "GET /scenarios/{scenario_id}/diff": R(A, P, F),
    "POST /forecast-runs": R(A, P),
    "GET /forecast-runs": R(A, P, F),
    "GET /forecast-runs/{run_id}": R(A, P, F),
    "GET /forecast-runs/{run_id}/forecasts": R(A, P, F),
    "GET /forecast-runs/{run_id}/accuracy": R(A, P, F),
    "POST /plans": R(A, P),
    "GET /plans": R(A, P, F),
    "GET /plans/{plan_id}": R(A, P, F),
    "GET /plans/{plan_id}/tables/{table}": R(A, P, F),
    "GET /plans/{plan_id}/tables/{table}/columns": R(A, P, F),
    "GET /plans/{plan_id}/xlsx": R(A, P, F),
    "POST /plans/{plan_id}/cancel": R(A, P),
    # funding: a partner its own numbers of a plan (?: of a plan it may not otherwise read)
    "GET /plans/{plan_id}/funding": R(A, P, F, PA, partner="filtered"),
    "GET /plans/{plan_id}/funding/{partner_id}": R(A, P, F, PA, partner="own"),
    # a plan's funding at risk (issue 18 part 3): staff, as the plan (every partner's cash)
    "POST /plans/{plan_id}/at-risk": R(A, P, F),
    "GET /plans/{plan_id}/at-risk/{at_risk_id}": R(A, P, F),
    # a scenario's value-of-integration study (issue 21): staff, as the scenario and its plans
    "POST /scenarios/{scenario_id}/value-of-integration": R(A, P, F),
    "GET /scenarios/{scenario_id}/value-of-integration/{study_id}": R(A, P, F),
    "GET /compare/plans": R(A, P, F),
    # finance reviews: only finance decides (segregation of duties); staff read them
    "POST /plans/{plan_id}/reviews": R(F),
    "GET /plans/{plan_id}/reviews": R(A, P, F),
    "GET /reviews": R(A, P, F),
    "GET /reviews/{review_id}": R(A, P, F),
    # jobs reveal what is planned: staff; planners (and admins) cancel
    "GET /jobs": R(A, P, F),
    "GET /jobs/{job_id}": R(A, P, F),
    "POST /jobs/{job_id}/cancel": R(A, P),
    # invoices between partners (issue 18): a partner records its own sales and decides on and pays
    # its own purchases; it sees only invoices it sells or buys. Finance and admin read them all and
    # verify the chain; planners have no access (partners' receivables are not planning data).
    "POST /invoices": R(PA),
    "POST /invoices/upload": R(PA),
    "GET /invoices/upload": R(A, F, PA),  # the CSV template
    "POST /plans/{plan_id}/invoices": R(PA),  # the caller's shipments in a plan (200, none, for a retailer)
    "GET /invoices": R(A, F, PA, partner="filtered"),
    "GET /invoices/verify": R(A, F),
    "GET /invoices/{invoice_id}": R(A, F, PA, partner="own"),
    # the buyer only: the world's own invoice is one the partner buys (its seller would get 403)
    "POST /invoices/{invoice_id}/confirm": R(PA, partner="own"),
    "POST /invoices/{invoice_id}/dispute": R(PA, partner="own"),
    "POST /invoices/{invoice_id}/settlements": R(PA, partner="own"),
    # financing (issue 18 part 2): finance and admin create programmes and decide requests in
    # review; only finance overrides a supplier's limit (a comment required). A supplier partner
    # requests advances on its own invoices and reads its requests, limit, advances and ledger; a
    # partner sees the programmes open to it. Planners have no access.
    "POST /financing-programmes": R(A, F),
    "GET /financing-programmes": R(A, F, PA, partner="filtered"),
    "GET /financing-programmes/{programme_id}": R(A, F, PA, partner="own"),
    "PUT /financing-programmes/{programme_id}/suppliers/{partner_id}/limit": R(F),
    "GET /financing-programmes/{programme_id}/suppliers/{partner_id}/limit": R(A, F, PA, partner="own"),
    "POST /financing-requests": R(PA),  # the example: the own partner's confirmed invoice 5
    "GET /financing-requests": R(A, F, PA, partner="filtered"),
    "GET /financing-requests/{request_id}": R(A, F, PA, partner="own"),
    "POST /financing-requests/{request_id}/approve": R(A, F),  # 409: the world's requests are approved
    "POST /financing-requests/{request_id}/decline": R(A, F),
    "GET /financing/book": R(A, F),
    "GET /financing/advances": R(A, F, PA, partner="filtered"),  # also a reverse-factoring buyer's (test_api_leaks)
    "GET /financing/ledger": R(A, F, PA, partner="filtered"),
}

# which object kind of the test world (tests/api_world.py ids) a path parameter names
PARAM_KIND = {"run_id": "forecast_run", "request_id": "financing_request"}


def all_routes(app) -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every route the app answers, hidden (``include_in_schema=False``)
    ones included; HEAD and OPTIONS are not separate operations."""
    out = set()
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None) or set()
        out |= {(m, route.path) for m in methods - {"HEAD", "OPTIONS"}}
    return sorted(out)


ROUTES = all_routes(APP)
KEYS = [f"{m} {p}" for m, p in ROUTES]


def test_spec_and_routes_agree():
    missing = sorted(set(KEYS) - set(SPEC))
    stale = sorted(set(SPEC) - set(KEYS))
    assert not missing, f"routes without a row in the reviewed SPEC table (add one, reviewed): {missing}"
    assert not stale, f"SPEC rows without a route (remove them, or the route went missing): {stale}"


def test_hidden_routes_are_covered():
    """Routes outside the OpenAPI schema (so outside ``access.api_routes``) are in the matrix too."""
    schema_ops = {f"{m.upper()} {p}" for p, ops in OPENAPI["paths"].items() for m in ops}
    hidden = set(KEYS) - schema_ops
    assert {"GET /health", "GET /openapi.json", "GET /docs", "GET /redoc", "GET /", "GET /app",
            "GET /app/{path:path}"} <= hidden, hidden
    assert all(SPEC[k].public for k in hidden), f"a hidden route that needs a token: {sorted(k for k in hidden if not SPEC[k].public)}"


def test_app_refuses_a_route_without_policy():
    extra = APIRouter()

    @extra.get("/unguarded-test-route")
    def unguarded():  # pragma: no cover - never called
        return {}

    ROUTERS.append(extra)
    try:
        with pytest.raises(RuntimeError, match="unguarded-test-route"):
            create_app(Settings(database_url="sqlite://"))
    finally:
        ROUTERS.remove(extra)


# ============================================================================ the worlds


@dataclass
class Backend:
    url: str
    tokens: dict[str, str]
    ids: dict[str, Any]
    engine: Any = None
    sessions: dict[str, tuple[str, str]] | None = None  # user -> (jp_session cookie, CSRF token)
    auth: str = "bearer"  # how the role users call: "bearer" tokens or "cookie" browser sessions


def _pg_schema_url(base: str) -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(base: str, schema: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _built(url: str, plan_result) -> Backend:
    from api.migrate import upgrade

    from api.models import User
    from api.web_auth import open_web_session

    upgrade(url)
    w = build_world(url, plan_result)
    api_world_financing.add_objects(w)
    w.client.close()
    sessions = {}
    with w.session() as s:  # a browser session of each role's user, as POST /auth/login opens them
        for user in ROLE_USER.values():
            opened = open_web_session(s, s.get(User, w.user_ids[user]), Settings(database_url=url))
            sessions[user] = (opened.token, opened.csrf)
        s.commit()
    return Backend(url, w.tokens, w.ids, w.engine, sessions)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory, example_plan_result):
    """A populated SQLite database, built once and copied for each route."""
    b = _built(f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'world.db'}", example_plan_result)
    b.engine.dispose()
    return b


@pytest.fixture(scope="module")
def pg_shared(postgres_server, example_plan_result):
    """A populated PostgreSQL schema, shared by the routes of this module (in one test process)."""
    schema, url = _pg_schema_url(postgres_server)
    b = _built(url, example_plan_result)
    yield b
    b.engine.dispose()
    _drop_schema(postgres_server, schema)


@pytest.fixture(params=["sqlite", "sqlite-cookie", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend(request, tmp_path):
    """The world each route is called on: SQLite with bearer tokens, SQLite with browser sessions
    (a browser user must get exactly what the same user's token gets), PostgreSQL with tokens."""
    if request.param.startswith("sqlite"):
        t = request.getfixturevalue("sqlite_template")
        return Backend(copy_sqlite(t.url, tmp_path / "db.sqlite"), t.tokens, t.ids, sessions=t.sessions,
                       auth="cookie" if request.param.endswith("cookie") else "bearer")
    return request.getfixturevalue("pg_shared")


# ============================================================================ calling a route


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_schema:
        return OPENAPI["components"]["schemas"][ref_or_schema["$ref"].split("/")[-1]]
    return ref_or_schema


def request_body(op: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments carrying the documented example body of an operation."""
    body = op.get("requestBody")
    if not body:
        return {}
    content = body["content"]
    if "application/json" in content:
        media = content["application/json"]
        example = media.get("example")
        if example is None:
            examples = media.get("examples") or _schema(media["schema"]).get("examples")
            assert examples, f"{op.get('operationId')}: the request body has no example"
            example = examples[0] if isinstance(examples, list) else next(iter(examples.values()))["value"]
        return {"json": example}
    media_type, media = next(iter(content.items()))
    assert "example" in media, f"{op.get('operationId')}: the request body has no example"
    return {"content": media["example"], "headers": {"Content-Type": media_type}}


def path_and_query(method: str, path: str, ids: dict, owner: str) -> tuple[str, dict[str, Any]]:
    """The path with its ids filled in (the own or the other partner's object) and the query."""
    op = OPENAPI["paths"][path][method.lower()]
    params = {p["name"]: p for p in op.get("parameters", [])}

    def documented(p: dict[str, Any]) -> Any:
        schema = p.get("schema", {})
        for found in (p.get("example"), (schema.get("examples") or [None])[0], (schema.get("enum") or [None])[0]):
            if found is not None:
                return found
        return None

    def value(name: str, many: bool = False) -> Any:
        if name == "version":
            return ids["consensus"][owner] if path.startswith("/consensus") else 1
        if not name.endswith("_id"):
            found = documented(params.get(name, {}))
            assert found is not None, f"{method} {path}: document an example (or enum) for the parameter {name!r}"
            return found
        kind = PARAM_KIND.get(name, name.removesuffix("_id"))
        assert kind in ids, (f"{method} {path}: no {kind!r} object in the test world (tests/api_world.py; "
                             f"job kinds in tests/api_world_jobs.py add_objects; PARAM_KIND here)")
        return ids[kind].get("all", [ids[kind][owner]]) if many else ids[kind][owner]

    filled = re.sub(r"{(\w+)}", lambda m: str(value(m.group(1))), path)
    query: dict[str, Any] = {}
    for p in params.values():
        if p["in"] != "query":
            continue
        if p["name"] == "partner_id" and method != "GET":
            query["partner_id"] = OWN if owner == "own" else OTHER
        elif p.get("required"):
            query[p["name"]] = value(p["name"], many=p.get("schema", {}).get("type") == "array")
    return filled, query


def _allowed(code: int) -> bool:
    return 200 <= code < 300 or code == 409  # 409: conflicts with what the earlier calls made


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def credentials(backend: Backend, user: str | None, method: str, bogus: bool = False) -> dict[str, str]:
    """Headers authenticating ``user`` the backend's way (none for None; ``bogus``: an unknown
    token or session): a bearer token, or a session cookie with its CSRF token on unsafe methods."""
    if user is None:
        return {}
    if backend.auth == "bearer":
        return {"Authorization": f"Bearer {'not-a-token' if bogus else backend.tokens[user]}"}
    cookie, csrf = ("jps_not-a-session", "x") if bogus else backend.sessions[user]
    return {"Cookie": f"jp_session={cookie}", **({"X-CSRF-Token": csrf} if method in UNSAFE else {})}


@pytest.mark.parametrize("key", KEYS)
def test_route_access(key, backend):
    method, path = key.split(" ", 1)
    rule = SPEC.get(key)
    assert rule is not None, f"{key} has no row in SPEC"
    client = TestClient(make_app(backend.url, backend.engine), follow_redirects=False)
    results = []
    if rule.public:
        op = OPENAPI["paths"].get(path, {}).get(method.lower())
        for user in (None, *ROLE_USER.values()):
            kwargs = request_body(op) if op else {}
            headers = {**credentials(backend, user, method), **kwargs.pop("headers", {})}
            r = client.request(method, path, headers=headers, **kwargs)
            if rule.session:
                want = {200} if user is not None and backend.auth == "cookie" else {401}
            else:
                want = rule.statuses
            results.append((user or "no token", "-", r.status_code, "/".join(map(str, sorted(want))),
                            r.status_code in want, r.text[:200]))
    else:
        op = OPENAPI["paths"][path][method.lower()]
        if_match = any(p["in"] == "header" and p["name"].lower() == "if-match" for p in op.get("parameters", []))

        def call(user: str | None, owner: str, bogus: bool = False, csrf: bool = True):
            filled, query = path_and_query(method, path, backend.ids, owner)
            kwargs = request_body(op)
            headers = {**credentials(backend, user, method, bogus), **kwargs.pop("headers", {})}
            if not csrf:
                headers.pop("X-CSRF-Token", None)
            if if_match:  # the current ETag of the object's own URL
                current = client.get(re.match(r"^/[^/]+/[^/]+", filled).group(0),
                                     headers={"Authorization": f"Bearer {backend.tokens['adm']}"})
                headers["If-Match"] = current.headers["ETag"]
            return client.request(method, filled, params=query, headers=headers, **kwargs)

        for user, bogus, label in ((None, False, "no credentials"), ("adm", True, "unknown token or session")):
            r = call(user, "own", bogus)
            ok = r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer")
            results.append((label, "own", r.status_code, "401 + WWW-Authenticate: Bearer", ok, r.text[:200]))
        for role, user in ROLE_USER.items():
            if backend.auth == "cookie" and method in UNSAFE and role in rule.roles:  # without its CSRF token
                r = call(user, "own", csrf=False)
                ok = r.status_code == 403 and "X-CSRF-Token" in r.text
                results.append((role, "own, no X-CSRF-Token", r.status_code, "403 naming X-CSRF-Token", ok, r.text[:200]))
            for owner in ("own", "other"):
                r = call(user, owner)
                if role not in rule.roles:
                    expected, ok = "403", r.status_code == 403
                elif role == PA and rule.partner == "own" and owner == "other":
                    expected, ok = "404 (another partner's object)", r.status_code == 404
                elif rule.partner == "self" and "{user_id}" in path and role != A:
                    expected, ok = "403 (another user's)", r.status_code == 403
                else:
                    expected, ok = "allowed (2xx or 409)", _allowed(r.status_code)
                results.append((role, owner, r.status_code, expected, ok, r.text[:200]))
    bad = [x for x in results if not x[4]]
    assert not bad, f"{key} ({backend.auth}): " + "; ".join(f"{r}/{o}: got {c}, expected {e} ({t})" for r, o, c, e, _, t in bad)


# ============================================================================ what partners see

PARTNER_USER = {OWN: "ana", OTHER: "wil"}  # one partner user of each of the two partners
SITE_OWNER = {"store-north": OWN, "store-south": OTHER}  # the world's partners upload and submit these sites


def _owner_of_series(unique_id: str) -> set[str]:
    return {SITE_OWNER[unique_id.split("/")[-1]]}


def _items(r) -> list[dict]:
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) and "items" in body else body


# For each partner-filtered route: the rows a caller sees, as (row id, partners the row belongs to).
def _partners(client, h, ids):
    return [(i["id"], {i["id"]}) for i in _items(client.get("/partners", headers=h))]


def _uploads(client, h, ids):
    return [(i["id"], {i["partner_id"]}) for i in _items(client.get("/uploads", headers=h))]


def _submissions(client, h, ids):
    return [(i["id"], {i["partner_id"]}) for i in _items(client.get("/submissions", headers=h))]


def _exceptions(client, h, ids):
    r = client.get("/exceptions", headers=h)
    body = r.json()  # the total counts only what the caller sees (the partner scope is in the SQL)
    assert r.status_code == 200 and body["total"] == len(body["items"]), body
    return [(i["id"], set(i["partners"])) for i in body["items"]]


def _exception_facets(client, h, ids):
    r = client.get("/exception-facets", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()  # its counts are those of the exceptions the caller may list, no more
    listed = _items(client.get("/exceptions", headers=h))
    assert body["total"] == len(listed) == body["open"] + body["resolved"], (body, listed)
    return [(("partner", i["value"]), {i["value"]}) for i in body["partners"]]


def _history_series(client, h, ids):
    return [(i["series"], {i["owner"]} | set(i["shared_with"] or [])) for i in _items(client.get("/history/series", headers=h))]


def _history_lineage(client, h, ids):
    rows = []
    for series in _items(client.get("/history/series", headers=h)):  # the lineage of each series the caller sees
        r = client.get("/history/lineage", params={"series": series["series"], "limit": 200}, headers=h)
        rows += [((series["series"], i["date"], i["upload_id"]), {i["partner_id"]}) for i in _items(r)]
    return rows


def _consensus_detail(client, h, ids):
    r = client.get(f"/consensus/{ids['consensus']['own']}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == len(body["items"])
    return [((i["unique_id"], i["ds"]), _owner_of_series(i["unique_id"])) for i in body["items"]]


def _consensus_list(client, h, ids):
    rows = []
    for version in _items(client.get("/consensus", headers=h)):  # each version: the rows of its detail
        detail = client.get(f"/consensus/{version['version']}", headers=h).json()
        assert version["rows"] == len(detail["items"]), (version, len(detail["items"]))
        owners = set().union(*(_owner_of_series(i["unique_id"]) for i in detail["items"]))
        rows.append((version["version"], owners))
    return rows


def _fva(client, h, ids):
    r = client.get("/fva", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    return ([(("partner", i["partner"]), {i["partner"]}) for i in body["by_partner"]]
            + [(("series", i["partner"], i["unique_id"]), {i["partner"]}) for i in body["by_series"]])


def _funding(client, h, ids):
    r = client.get(f"/plans/{ids['plan']['own']}/funding", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = [(i["partner"], {i["partner"]}) for i in body["partners"]]
    if body["summary"] is not None:  # the chain summary: every partner's figures
        rows.append(("summary", set(SITE_OWNER.values())))
    return rows


def _invoices(client, h, ids):
    return [(i["id"], {i["seller_id"], i["buyer_id"]}) for i in _items(client.get("/invoices", headers=h))]


ALL_PARTNERS = {"shops", "wholesale", "maker", "haul"}


def _programmes(client, h, ids):
    """A programme without a buyer is open to every partner; one with a buyer belongs to it and to
    the partners that invoiced it (the world: wholesale invoiced haul)."""
    sellers = {"haul": {"wholesale"}, "shops": {"maker"}, "maker": {"shops", "wholesale"}}
    return [(i["id"], ALL_PARTNERS if i["buyer_id"] is None else {i["buyer_id"]} | sellers.get(i["buyer_id"], set()))
            for i in _items(client.get("/financing-programmes", headers=h))]


def _financing_requests(client, h, ids):
    body = client.get("/financing-requests", headers=h).json()
    assert body["total"] == len(body["items"]), body
    return [(i["id"], {i["supplier_id"]}) for i in body["items"]]


def _advances(client, h, ids):
    rows = []
    for i in _items(client.get("/financing/advances", headers=h)):
        kind = client.get(f"/financing-programmes/{i['programme_id']}", headers=h).json()["kind"]
        rows.append((i["invoice_id"], {i["supplier_id"]} | ({i["buyer_id"]} if kind == "reverse_factoring" else set())))
    return rows


def _ledger(client, h, ids):
    return [(i["id"], {i["supplier_id"]}) for i in _items(client.get("/financing/ledger", headers=h))]


VISIBILITY = {
    "GET /partners": _partners,
    "GET /uploads": _uploads,
    "GET /history/series": _history_series,
    "GET /history/lineage": _history_lineage,
    "GET /submissions": _submissions,
    "GET /exceptions": _exceptions,
    "GET /exception-facets": _exception_facets,
    "GET /consensus": _consensus_list,
    "GET /consensus/{version}": _consensus_detail,
    "GET /fva": _fva,
    "GET /plans/{plan_id}/funding": _funding,
    "GET /invoices": _invoices,
    "GET /financing-programmes": _programmes,
    "GET /financing-requests": _financing_requests,
    "GET /financing/advances": _advances,
    "GET /financing/ledger": _ledger,
}
FILTERED = sorted(k for k, rule in SPEC.items() if rule.partner == "filtered")


def _response_schema(key: str) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    op = OPENAPI["paths"][path][method.lower()]
    content = op["responses"].get("200", {}).get("content", {})
    return _schema(content.get("application/json", {}).get("schema", {}))


def test_every_list_a_partner_reads_is_filtered_or_own():
    """A GET returning a list (a page, or an array) that partners may call is "filtered" (checked
    below) or names an own-only object; and every "filtered" row has a visibility check."""
    for key, rule in SPEC.items():
        method, path = key.split(" ", 1)
        if rule.public or method != "GET" or PA not in rule.roles:
            continue
        schema = _response_schema(key)
        is_list = schema.get("type") == "array" or "items" in schema.get("properties", {})
        if is_list:
            assert rule.partner in ("filtered", "own"), f"{key}: a list partners read, neither filtered nor own-only"
    assert set(FILTERED) == set(VISIBILITY), f"filtered routes without a visibility check: {set(FILTERED) - set(VISIBILITY)}"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def visibility_world(request, tmp_path_factory, example_plan_result):
    """A populated world with a statistical run the submissions can be scored against (FVA)."""
    from test_api_fva import _backdate_and_add_statistical

    from api.migrate import upgrade

    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('visibility') / 'world.db'}"
    else:
        base = request.getfixturevalue("postgres_server")
        schema, url = _pg_schema_url(base)
    upgrade(url)
    w = build_world(url, example_plan_result)
    api_world_financing.add_objects(w)
    _backdate_and_add_statistical(w)
    yield w
    w.client.close()
    w.engine.dispose()
    if schema:
        _drop_schema(base, schema)


@pytest.mark.parametrize("key", FILTERED)
def test_partner_sees_only_its_own_rows(key, visibility_world):
    """Each of two partners sees some rows, all its own (none of the other's ids, nor the other
    partner's name anywhere in the response); the admin sees both partners' rows."""
    check = VISIBILITY.get(key)
    assert check is not None, f"{key}: add a visibility check to VISIBILITY"
    w = visibility_world
    client = TestClient(make_app(w.url, w.engine))
    admin_rows = dict(check(client, w.headers("adm"), w.ids))
    assert {OWN, OTHER} <= set().union(*admin_rows.values()), f"{key}: the admin does not see both partners: {admin_rows}"
    method, path = key.split(" ", 1)
    for partner, user in PARTNER_USER.items():
        other = OTHER if partner == OWN else OWN
        rows = check(client, w.headers(user), w.ids)
        assert rows, f"{key}: partner {partner} sees nothing (the world gives it rows)"
        foreign = [(rid, owners) for rid, owners in rows if partner not in owners]
        assert not foreign, f"{key}: partner {partner} sees rows that are not its own: {foreign}"
        others_only = {rid for rid, owners in admin_rows.items() if partner not in owners}
        assert not others_only & {rid for rid, _ in rows}, f"{key}: partner {partner} sees {others_only & {rid for rid, _ in rows}}"
        filled, _ = path_and_query(method, path, w.ids, "own")
        text = json.dumps(client.get(filled, headers=w.headers(user)).json())
        assert f'"{other}"' not in text and f"{other} " not in text, f"{key}: partner {partner}'s response names {other}: {text[:800]}"
