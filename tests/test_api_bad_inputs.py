"""Bad input must be refused with 422 naming the field (never stored, never a 500), and only after
the caller is authenticated (401) and authorised (403).

Deliberate errors this module catches (each test was seen failing before its fix):

- Scenarios with NaN / Infinity numbers (JSON literals ``NaN``, ``Infinity``, ``-Infinity``,
  ``1e999``; YAML ``.nan``/``.inf`` for the CLI) stored (SQLite) or a 500 (PostgreSQL), where the
  scenario schema must refuse them (API 422 naming the field, CLI exit 2 naming the field).
- JSON bodies of every JSON route (uploads and submissions, which read their own bodies, aside)
  accepting ``NaN``/``Infinity`` literals, NUL characters, 400 instead of 422 for nesting deeper
  than the limit or a 5000-digit integer.
- A NUL character in a rule name (exception scans), a scenario's name or its content strings:
  500 on PostgreSQL.
- 422 for an unknown query parameter or an invalid body before the 401 of a missing token (and
  before the 403 of a role the route refuses).
- ``If-Match: *`` answered 412 although the scenario exists (RFC 9110: it matches any current
  representation).
- A token issued through the API for a disabled user.
- Partners that cannot be disabled (their users must get 403 on every route), single tokens that
  cannot be revoked (API and CLI; a revoked token gets 401).
- ``accept_source`` naming a source that has no forecast accepted (and ignored by the consensus).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from api import access
from api_world import OWN, scenario_content
from test_api_access_matrix import OPENAPI, ROUTES, request_body

JSON = {"Content-Type": "application/json"}
RAW_BODY_ROUTES = {("POST", "/uploads"), ("POST", "/submissions")}  # read their own bodies (CSV or JSON)
SAMPLE_IDS = {"exception_id": "EX-00000000a1", "partner_id": OWN, "table": "production"}


def _fill(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(SAMPLE_IDS.get(m.group(1), 1)), path)


def _user_for(world, pol) -> str:
    """A user the route admits (the admin for a public route: no token is checked there)."""
    return next(u for r, u in (("admin", "adm"), ("planner", "pl"), ("finance", "fi"), ("partner", "ana"))
                if r in pol.roles or pol.public)


def _fields(r) -> list[str]:
    return [e["field"] for e in r.json()["detail"]]


# ------------------------------------------------------------------------------------- numbers


def _scenario_body(literal: str, where: str) -> bytes:
    content = scenario_content()
    content["time"]["start"] = "2026-01-01"
    text = json.dumps({"name": "bad", "content": content, "comment": ""})
    marker = {"opening_cash": '"opening_cash": ', "quantity": '"quantity": '}[where]
    start = text.index(marker) + len(marker)
    end = start
    depth = 0
    while True:  # replace the first value (a number or a list) after the marker
        ch = text[end]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth == 0 and ch in ",}":
            break
        end += 1
        if depth == 0 and ch == "]":
            break
    return (text[:start] + literal + text[end:]).encode()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_a_scenario_are_422_naming_the_field(world, literal):
    c = world.client
    before = c.get("/scenarios", headers=world.headers("pl")).json()["total"]
    r = c.post("/scenarios", content=_scenario_body(literal, "opening_cash"), headers=world.headers("pl", **JSON))
    assert r.status_code == 422, r.text
    assert any("opening_cash" in f for f in _fields(r)), r.text
    sid = world.ids["scenario"]["own"]
    etag = c.get(f"/scenarios/{sid}", headers=world.headers("pl")).headers["ETag"]
    body = _scenario_body(literal, "quantity").replace(b'"name": "bad", ', b"")
    r = c.post(f"/scenarios/{sid}/versions", content=body, headers=world.headers("pl", **JSON, **{"If-Match": etag}))
    assert r.status_code == 422, r.text
    assert any("quantity" in f for f in _fields(r)), r.text
    assert c.get("/scenarios", headers=world.headers("pl")).json()["total"] == before
    assert c.get(f"/scenarios/{sid}", headers=world.headers("pl")).headers["ETag"] == etag


def test_product_maps_in_a_scenario_are_stored_or_422_naming_the_entry(world):
    """Issue 20: a lane cost per product is stored; one naming an unknown product, or leaving out
    a product the lane carries, is 422 naming the field (and the product) and nothing is stored."""
    c = world.client
    before = c.get("/scenarios", headers=world.headers("pl")).json()["total"]
    content = scenario_content()
    products = [p["id"] for p in content["products"]]
    lane = content["lanes"][0]
    for bad, field, words in (
        ({**{p: 1.0 for p in products}, "nosuch": 1.0}, "body.content.lanes[0].cost_per_unit.nosuch", "unknown product"),
        ({products[0]: 1.0}, "body.content.lanes[0].cost_per_unit", f"'{products[1]}'"),
    ):
        lane["cost_per_unit"] = bad
        r = c.post("/scenarios", json={"name": "per-product", "content": content}, headers=world.headers("pl"))
        assert r.status_code == 422, r.text
        assert any(e["field"] == field and words in e["msg"] for e in r.json()["detail"]), r.text
    assert c.get("/scenarios", headers=world.headers("pl")).json()["total"] == before
    lane["cost_per_unit"] = {p: 1.0 + i for i, p in enumerate(products)}
    r = c.post("/scenarios", json={"name": "per-product", "content": content}, headers=world.headers("pl"))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), [1.0, float("nan")]])
def test_scenario_schema_refuses_non_finite_numbers(value):
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    data = scenario_content()
    data["partners"][0]["opening_cash"] = value if not isinstance(value, list) else 1.0
    data["sites"][0].setdefault("products", [])
    if isinstance(value, list):
        data["demand"][0]["quantity"] = [float("nan")] * len(data["demand"][0]["quantity"]) \
            if isinstance(data["demand"][0]["quantity"], list) else float("nan")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(copy.deepcopy(data))
    paths = [p.path for p in exc.value.problems]
    assert any(("opening_cash" in p) or ("quantity" in p) for p in paths), paths
    assert any("finite" in p.message for p in exc.value.problems), [str(p) for p in exc.value.problems]


@pytest.mark.parametrize("literal", [".nan", ".inf", "-.inf"])
def test_cli_plan_with_non_finite_numbers_exits_2_naming_the_field(tmp_path, literal):
    from jointplan.cli import app

    data = scenario_content()
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data).replace("opening_cash: ", f"opening_cash: {literal} #", 1))
    assert f"opening_cash: {literal}" in path.read_text()
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    assert "opening_cash" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------- every JSON body

JSON_ROUTES = [(m, p) for m, p in ROUTES if (m, p) not in RAW_BODY_ROUTES and p in OPENAPI["paths"]
               and "application/json" in (OPENAPI["paths"][p][m.lower()].get("requestBody") or {}).get("content", {})]

PROBES = {
    "nan": (b"NaN", "probe"),
    "infinity": (b"-Infinity", "probe"),
    "overflow": (b"1e400", "probe"),
    "nul": (b'"a\\u0000b"', "probe"),
    "nul-key": (b'{"a\\u0000": 1}', "probe"),
    "deep": (b"[" * 5000 + b"]" * 5000, "probe"),
    "digits": (b"9" * 5000, "probe"),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the body never reaches the database
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_every_json_route_refuses_bad_json_values_with_422(world, probe):
    assert JSON_ROUTES, "no JSON routes found"
    literal, field = PROBES[probe]
    prefix = "body" if probe == "deep" else f"body.{field}"  # too deep for Python: the path is unknown
    bad = []
    for method, path in JSON_ROUTES:
        pol = access.policy_for(method, path)
        example = request_body(OPENAPI["paths"][path][method.lower()]).get("json") or {}
        text = json.dumps(example)
        body = (text[:-1] + (", " if example else "") + f'"{field}": ').encode() + literal + b"}"
        headers = world.headers(_user_for(world, pol), **JSON, **{"If-Match": "*"})
        r = world.client.request(method, _fill(path), content=body, headers=headers)
        if r.status_code != 422 or not any(f.startswith(prefix) for f in _fields(r)):
            bad.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
    assert not bad, "\n".join(bad)


def test_nul_in_strings_that_reach_the_database_is_422(world):
    c = world.client
    rules = {"name": "cpfr", "rules": [{"name": "bad\x00rule", "kind": "tolerance", "sources": [OWN, "wholesale"],
                                        "relative": 0.15, "absolute": 60, "owner": OWN}]}
    r = c.post("/exception-scans", json={"rules": rules}, headers=world.headers("pl"))
    assert r.status_code == 422, r.text
    assert _fields(r) == ["body.rules.rules.0.name"], r.text
    content = scenario_content()
    r = c.post("/scenarios", json={"name": "ok", "content": {**content, "description": "x\x00"}},
               headers=world.headers("pl"))
    assert r.status_code == 422 and _fields(r) == ["body.content.description"], r.text
    r = c.post("/scenarios", json={"name": "o\x00k", "content": content}, headers=world.headers("pl"))
    assert r.status_code == 422 and _fields(r) == ["body.name"], r.text
    r = c.post(f"/exceptions/{world.ids['exception']['own']}/resolve",
               json={"action": "adjust", "value": 5, "reason": "a\x00b"}, headers=world.headers("ana"))
    assert r.status_code == 422 and _fields(r) == ["body.reason"], r.text
    r = c.post("/partners", json={"id": "nul", "name": "N\x00"}, headers=world.headers("adm"))
    assert r.status_code == 422 and _fields(r) == ["body.name"], r.text


def test_scenario_schema_refuses_nul_in_strings():
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    data = scenario_content()
    data["partners"][0]["name"] = "Shops\x00"
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert [p.path for p in exc.value.problems] == ["partners[0].name"], [str(p) for p in exc.value.problems]


# ------------------------------------------------------------------------ authentication first


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_authentication_comes_before_validation_on_every_route(world):
    bad = []
    for method, path in ROUTES:
        pol = access.policy_for(method, path)
        if pol is None or pol.public:  # /health, the documentation, the web app and /auth need no token
            continue
        url = _fill(path)
        for headers, expected in (({}, 401), ({"Authorization": "Bearer nope"}, 401)):
            r = world.client.request(method, url, params={"bogus": "1"}, content=b"{not json", headers={**headers, **JSON})
            if r.status_code != expected or r.headers.get("WWW-Authenticate") != "Bearer":
                bad.append(f"{method} {path} {headers}: {r.status_code} {r.text[:120]}")
        pol = access.policy_for(method, path)
        refused = next((u for r_, u in (("admin", "adm"), ("planner", "pl"), ("finance", "fi"), ("partner", "ana"))
                        if r_ not in pol.roles), None)
        if refused:
            r = world.client.request(method, url, params={"bogus": "1"}, content=b"{not json",
                                     headers=world.headers(refused, **JSON))
            if r.status_code != 403:
                bad.append(f"{method} {path} as {refused}: {r.status_code} {r.text[:120]}")
    assert not bad, "\n".join(bad)
    r = world.client.get("/consensus", params={"bogus": "1"}, headers=world.headers("pl"))
    assert r.status_code == 422 and _fields(r) == ["query.bogus"]
    assert world.client.get("/health", params={"bogus": "1"}).status_code in (200, 422)


# ---------------------------------------------------------------------------------- If-Match


def test_if_match_star_matches_the_current_version(world):
    c = world.client
    sid = world.ids["scenario"]["own"]
    content = c.get(f"/scenarios/{sid}", headers=world.headers("pl")).json()["content"]
    r = c.post(f"/scenarios/{sid}/versions", json={"content": content, "comment": "any"},
               headers=world.headers("pl", **{"If-Match": "*"}))
    assert r.status_code == 201, r.text
    r = c.post("/scenarios/999999/versions", json={"content": content}, headers=world.headers("pl", **{"If-Match": "*"}))
    assert r.status_code == 404
    r = c.post(f"/scenarios/{sid}/versions", json={"content": content}, headers=world.headers("pl", **{"If-Match": '"1-x"'}))
    assert r.status_code == 412


# ------------------------------------------------------------------------- users and partners


def test_no_token_for_a_disabled_user(world):
    from api.models import User
    from api.security import UserError, issue_token

    c = world.client
    uid = world.user_ids["spare"]
    assert c.post(f"/users/{uid}/disable", headers=world.headers("adm")).status_code == 200
    r = c.post(f"/users/{uid}/tokens", headers=world.headers("adm"))
    assert r.status_code == 409 and "disabled" in r.text, r.text
    with world.session() as s, pytest.raises(UserError, match="disabled"):
        issue_token(s, s.get(User, uid))


def test_disabled_partner_users_get_403_until_enabled(world):
    c = world.client
    assert c.get("/users/me", headers=world.headers("ana")).status_code == 200
    r = c.post(f"/partners/{OWN}/disable", headers=world.headers("adm"))
    assert r.status_code == 200 and r.json()["disabled"] is True, r.text
    for url in ("/users/me", "/partners", f"/exceptions/{world.ids['exception']['own']}"):
        r = c.get(url, headers=world.headers("ana"))
        assert r.status_code == 403 and "disabled" in r.text, (url, r.text)
    assert c.get("/users/me", headers=world.headers("wil")).status_code == 200  # other partners unaffected
    assert c.get(f"/partners/{OWN}", headers=world.headers("adm")).json()["disabled"] is True
    r = c.post("/users", json={"name": "newbie", "role": "partner", "partner_id": OWN}, headers=world.headers("adm"))
    assert r.status_code == 422 and "disabled" in r.text, r.text
    assert c.post(f"/partners/{OWN}/enable", headers=world.headers("adm")).json()["disabled"] is False
    assert c.get("/users/me", headers=world.headers("ana")).status_code == 200
    assert c.post("/partners/nosuch/disable", headers=world.headers("adm")).status_code == 404
    assert c.post(f"/partners/{OWN}/disable", headers=world.headers("pl")).status_code == 403


def test_revoke_one_token_by_id(world):
    c = world.client
    uid = world.user_ids["spare"]
    second = c.post(f"/users/{uid}/tokens", headers=world.headers("adm")).json()
    listed = c.get(f"/users/{uid}/tokens", headers=world.headers("adm")).json()
    assert len(listed) == 2 and all("hash" not in json.dumps(t) for t in listed)
    assert second["token_id"] in [t["id"] for t in listed]
    r = c.post(f"/users/{uid}/tokens/{second['token_id']}/revoke", headers=world.headers("adm"))
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    assert c.get("/users/me", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 401
    assert c.get("/users/me", headers=world.headers("spare")).status_code == 200  # the first token lives on
    other_uid = world.user_ids["ana"]
    assert c.post(f"/users/{other_uid}/tokens/{second['token_id']}/revoke", headers=world.headers("adm")).status_code == 404


def test_cli_partner_disable_and_token_revocation(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api_world import make_app
    from jointplan.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JOINTPLAN_DATABASE_URL", url)
    run = CliRunner().invoke
    assert run(app, ["partners", "create", "shops", "--role", "retailer"]).exit_code == 0
    token = run(app, ["users", "create", "ana", "--role", "partner", "--partner", "shops"]).output.strip().splitlines()[-1]
    client = TestClient(make_app(url))
    me = lambda t: client.get("/users/me", headers={"Authorization": f"Bearer {t}"}).status_code  # noqa: E731
    r = run(app, ["partners", "disable", "shops"])
    assert r.exit_code == 0, r.output
    assert me(token) == 403
    assert "disabled" in run(app, ["partners", "list"]).output
    assert run(app, ["partners", "enable", "shops"]).exit_code == 0 and me(token) == 200
    assert run(app, ["partners", "disable", "nosuch"]).exit_code == 2
    token2 = run(app, ["users", "token", "ana"]).output.strip().splitlines()[-1]
    listing = run(app, ["users", "tokens", "ana"])
    assert listing.exit_code == 0 and token2 not in listing.output
    r = run(app, ["users", "revoke-token", "--token", token2])
    assert r.exit_code == 0, r.output
    assert me(token2) == 401 and me(token) == 200
    ids = re.findall(r"^\s*(\d+)\s", listing.output, flags=re.M)
    assert ids, listing.output
    r = run(app, ["users", "revoke-token", "--id", ids[0]])
    assert r.exit_code == 0, r.output
    assert me(token) == 401
    assert run(app, ["users", "revoke-token", "--id", "9999"]).exit_code == 2
    assert run(app, ["users", "revoke-token"]).exit_code == 2
    assert run(app, ["users", "disable", "ana"]).exit_code == 0
    r = run(app, ["users", "token", "ana"])
    assert r.exit_code == 2 and "disabled" in r.output


# ------------------------------------------------------------------------------ accept_source


def test_accept_source_must_name_a_known_source(world):
    c = world.client
    ex = world.ids["exception"]["own"]
    r = c.post(f"/exceptions/{ex}/resolve", json={"action": "accept_source", "source": "nosuch", "reason": "x"},
               headers=world.headers("pl"))
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["field"] == "body.source" and OWN in err["msg"], err
    r = c.post(f"/exceptions/{ex}/resolve", json={"action": "accept_source", "source": OWN, "reason": "x"},
               headers=world.headers("pl"))
    assert r.status_code == 201, r.text
