"""Authentication: bearer tokens stored hashed; 401 with WWW-Authenticate; 403 for the wrong role."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.models import ApiToken
from api.security import hash_token


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_missing_or_bad_token_is_401_with_www_authenticate(world):
    c = world.client
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    {"Authorization": "Bearer "}):
        r = c.get("/partners", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "token" in r.json()["detail"]
    assert c.get("/partners", headers=world.headers("ana")).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_wrong_role_is_403(world):
    r = world.client.get("/users", headers=world.headers("pl"))
    assert r.status_code == 403
    assert "planner" in r.json()["detail"]
    assert world.client.get("/users", headers=world.headers("adm")).status_code == 200
    r = world.client.post("/scenarios", json={"name": "x", "content": {}}, headers=world.headers("ana"))
    assert r.status_code == 403


def test_tokens_are_stored_only_as_sha256(world):
    with world.session() as s:
        hashes = set(s.scalars(sa.select(ApiToken.token_hash)))
        dump = " ".join(str(v) for row in s.execute(sa.text("SELECT * FROM api_tokens")) for v in row)
    for token in world.tokens.values():
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
        assert hash_token(token) in hashes
        assert token not in dump


def test_last_use_is_recorded_and_disabled_user_refused(world):
    c = world.client
    assert c.get("/users/me", headers=world.headers("spare")).json()["name"] == "spare"
    with world.session() as s:
        tok = s.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(world.tokens["spare"])))
        assert tok.last_used_at is not None
    r = c.post(f"/users/{world.user_ids['spare']}/disable", headers=world.headers("adm"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    r = c.get("/users/me", headers=world.headers("spare"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter
def test_admin_creates_user_and_new_token_works(world):
    c = world.client
    r = c.post("/users", json={"name": "zoe", "role": "partner", "partner_id": "maker"}, headers=world.headers("adm"))
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    me = c.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["partner_id"] == "maker" and me["role"] == "partner"
    r = c.post("/users", json={"name": "zed", "role": "partner"}, headers=world.headers("adm"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.partner_id"
    r = c.post("/users", json={"name": "zoe", "role": "planner"}, headers=world.headers("adm"))
    assert r.status_code == 409
    r = c.post(f"/users/{me['id']}/tokens", headers=world.headers("adm"))
    assert r.status_code == 201 and r.json()["token"] != token
    for t in (token, r.json()["token"]):
        assert c.get("/users/me", headers={"Authorization": f"Bearer {t}"}).status_code == 200


def test_cli_users_commands(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api_world import make_app
    from jointplan.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JOINTPLAN_DATABASE_URL", url)
    run = CliRunner().invoke
    assert run(app, ["partners", "create", "shops", "--role", "retailer"]).exit_code == 0
    r = run(app, ["users", "create", "ana", "--role", "partner", "--partner", "shops"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    bad = run(app, ["users", "create", "bob", "--role", "partner"])
    assert bad.exit_code == 2 and "partner_id" in bad.output
    client = TestClient(make_app(url))
    assert client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "ana"
    r2 = run(app, ["users", "token", "ana"])
    token2 = r2.output.strip().splitlines()[-1]
    assert token2 != token and client.get("/users/me", headers={"Authorization": f"Bearer {token2}"}).status_code == 200
    listing = run(app, ["users", "list"]).output
    assert "ana" in listing and token not in listing and token2 not in listing
    assert run(app, ["users", "disable", "ana"]).exit_code == 0
    assert client.get("/users/me", headers={"Authorization": f"Bearer {token2}"}).status_code == 401
