"""Access matrix: every route of the app × every role × an own and another partner's object.

The routes come from the app's route table, so a new route without an access policy fails here
(and the app refuses to start). Each call is expected to be refused (403 for a role the policy
leaves out; 404 for a partner user reaching another partner's object) or to get past the access
checks (2xx, or 409 when the call conflicts with what the earlier calls made).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api import access
from api.app import ROUTERS, create_app
from api.settings import Settings
from api_world import OTHER, OWN, ROLE_USER, build_world, copy_sqlite, make_app

APP = create_app(Settings(database_url="sqlite://"))
OPENAPI = APP.openapi()
ROUTES = access.api_routes(APP.routes)
ALLOWED = lambda code: 200 <= code < 300 or code == 409  # noqa: E731


def test_every_route_has_a_policy():
    assert ROUTES, "no routes found"
    missing = [f"{m} {p}" for m, p in ROUTES if access.policy_for(m, p) is None]
    assert not missing, f"routes without an access policy: {missing}"


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


@pytest.fixture(scope="module")
def template(tmp_path_factory, example_plan_result):
    """A populated SQLite database, built once and copied for each route."""
    from api.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'world.db'}"
    upgrade(url)
    w = build_world(url, example_plan_result)
    w.client.close()
    w.engine.dispose()
    return w


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


def path_and_query(method: str, path: str, pol: access.Policy, ids: dict, owner: str) -> tuple[str, dict[str, Any]]:
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
        kind = name.removesuffix("_id")
        if kind not in ids:
            kind = pol.obj or kind
        assert kind in ids, (f"{method} {path}: no {kind!r} object in the test world (tests/api_world.py; "
                             f"job kinds in tests/api_world_jobs.py add_objects)")
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


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_access(method, path, template, tmp_path):
    pol = access.policy_for(method, path)
    assert pol is not None, f"{method} {path} has no access policy"
    url = copy_sqlite(template.url, tmp_path / "db.sqlite")
    client = TestClient(make_app(url))
    headers_of = lambda user, extra=None: {"Authorization": f"Bearer {template.tokens[user]}", **(extra or {})}  # noqa: E731
    op = OPENAPI["paths"][path][method.lower()]
    results = []
    for role, user in ROLE_USER.items():
        for owner in ("own", "other"):
            filled, query = path_and_query(method, path, pol, template.ids, owner)
            kwargs = request_body(op)
            headers = headers_of(user, kwargs.pop("headers", None))
            if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in op.get("parameters", [])):
                current = client.get(re.match(r"^/[^/]+/[^/]+", filled).group(0), headers=headers_of("adm"))  # the object's own URL
                headers["If-Match"] = current.headers["ETag"]
            r = client.request(method, filled, params=query, headers=headers, **kwargs)
            if role not in pol.roles:
                expected = "403"
                ok = r.status_code == 403
            elif role == "partner" and pol.partner_owned and owner == "other":
                expected = "404"
                ok = r.status_code == 404
            else:
                expected = "allowed (2xx or 409)"
                ok = ALLOWED(r.status_code)
            results.append((role, owner, r.status_code, expected, ok, r.text[:200]))
    bad = [x for x in results if not x[4]]
    assert not bad, f"{method} {path}: " + "; ".join(f"{r}/{o}: got {c}, expected {e} ({t})" for r, o, c, e, _, t in bad)
