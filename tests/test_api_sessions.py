"""Browser sign-in (issue 15): passwords, the session cookie, its CSRF token, the rate limit on
failed sign-ins, sign-out, expiry, and passwords set through the API and the CLI; on SQLite and
PostgreSQL where the database is involved.

Each test was seen to fail with the thing it guards broken:
- the CSRF check in ``api.deps.caller`` skipped: ``test_unsafe_methods_need_the_csrf_token`` (and the
  access matrix's cookie variant) fail;
- ``verify_password`` returning at once for an unknown user (no dummy hash):
  ``test_unknown_user_costs_as_much_as_a_wrong_password`` fails;
- ``login_retry_after`` never refusing: the three rate-limit tests fail (two apps on one database
  stand for two worker processes sharing the count);
- ``clear_login_failures`` not called on success: ``test_a_success_clears_the_names_count`` fails;
- the idle check dropped from ``find_web_session``: ``test_session_expiry_and_idle_timeout`` fails;
- ``set_password`` not revoking sessions: ``test_admin_password_reset_ends_the_users_sessions`` fails.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.models import LoginFailure, User, WebSession, utcnow
from api.security import hash_token
from api_world import PASSWORDS, make_app

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logic only: the database does not matter


def _login(client: TestClient, name: str, password: str | None = None):
    return client.post("/auth/login", json={"name": name, "password": PASSWORDS.get(name, "") if password is None else password})


def _set_cookie_attrs(r) -> dict[str, str]:
    header = r.headers["set-cookie"]
    parts = [p.strip() for p in header.split(";")]
    attrs = {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts[1:]}
    attrs["_value"] = parts[0].split("=", 1)[1]
    return attrs


# ------------------------------------------------------------------------------------- sign-in


def test_sign_in_sets_a_session_cookie_and_stores_only_hashes(world):
    client = TestClient(world.client.app)
    r = _login(client, "ana")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["name"] == "ana" and body["user"]["partner_id"] == "shops" and body["user"]["has_password"]
    assert set(body) >= {"user", "csrf_token", "expires_at"}
    attrs = _set_cookie_attrs(r)
    assert r.headers["set-cookie"].startswith("jp_session=")
    assert "httponly" in attrs and attrs["samesite"].lower() == "strict" and attrs["path"] == "/"
    assert "secure" not in attrs  # plain http: a Secure cookie would never be sent back
    assert int(attrs["max-age"]) == 8 * 3600
    assert r.headers["cache-control"] == "no-store"
    cookie, csrf = attrs["_value"], body["csrf_token"]
    # the session is accepted on the API's routes, as the user
    me = client.get("/users/me")
    assert me.status_code == 200 and me.json()["name"] == "ana"
    again = client.get("/auth/me").json()
    assert again["csrf_token"] == csrf and again["user"]["id"] == body["user"]["id"]
    assert again["expires_at"] == body["expires_at"]
    with world.session() as s:
        row = s.scalar(sa.select(WebSession).where(WebSession.user_id == world.user_ids["ana"]))
        assert row.token_hash == hash_token(cookie) and row.csrf_hash == hash_token(csrf)
        stored = " ".join(str(v) for t in ("web_sessions", "users") for r_ in s.execute(sa.text(f"SELECT * FROM {t}")) for v in r_)
        hours = (row.expires_at - row.created_at).total_seconds() / 3600
    assert cookie not in stored and csrf not in stored and PASSWORDS["ana"] not in stored
    assert abs(hours - 8) < 1e-6
    assert "$argon2id$" in stored


@SQLITE_ONLY
def test_cookie_is_secure_over_https(world):
    client = TestClient(world.client.app, base_url="https://testserver")
    r = _login(client, "pl")
    assert r.status_code == 200 and "secure" in _set_cookie_attrs(r)
    assert client.get("/users/me").json()["name"] == "pl"


def test_every_refused_sign_in_gets_the_same_401(world):
    """Unknown name, wrong password, a user without a password, a disabled user, a user of a
    disabled partner: one answer, so whether a user exists does not leak."""
    c = world.client
    with world.session() as s:  # fi has no password; spare is disabled; wil's partner is disabled
        s.execute(sa.update(User).where(User.name == "fi").values(password_hash=None))
        s.execute(sa.update(User).where(User.name == "spare").values(disabled=True))
        s.commit()
    assert c.post("/partners/wholesale/disable", headers=world.headers("adm")).status_code == 200
    answers = [_login(c, "nobody-at-all", "whatever-password"), _login(c, "ana", "not-her-password"),
               _login(c, "fi", PASSWORDS["fi"]), _login(c, "spare"), _login(c, "wil")]
    for r in answers:
        assert r.status_code == 401, r.text
        assert r.json() == {"detail": "wrong name or password"}
        assert "set-cookie" not in r.headers
    assert len({(r.text, tuple(sorted((k, v) for k, v in r.headers.items() if k not in ("date",)))) for r in answers}) == 1
    assert _login(c, "ana").status_code == 200


@SQLITE_ONLY
def test_unknown_user_costs_as_much_as_a_wrong_password(world):
    """An unknown name is checked against a dummy argon2 hash: it takes about as long as a wrong
    password (without it, ~100 times faster)."""
    c = world.client

    def cost(name: str) -> float:
        times = []
        for _ in range(4):
            t = time.perf_counter()
            assert _login(c, name, "wrong-password-1").status_code == 401
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    cost("adm")  # warm up
    known, unknown = cost("pl"), cost("no-such-user")
    assert unknown > 0.4 * known, (unknown, known)
    assert known > 0.4 * unknown, (unknown, known)


@SQLITE_ONLY
def test_bad_sign_in_input_is_422_naming_the_field(world):
    c = world.client
    for body, field in (({"name": "ana"}, "body.password"), ({"password": "x"}, "body.name"),
                        ({"name": "", "password": "x"}, "body.name"), ({"name": "ana", "password": ""}, "body.password"),
                        ({"name": "ana", "password": "x" * 1025}, "body.password"),
                        ({"name": "ana", "password": "x", "extra": 1}, "body.extra"),
                        ({"name": "a\x00", "password": "x"}, "body.name")):
        r = c.post("/auth/login", json=body)
        assert r.status_code == 422, (body, r.text)
        assert [e["field"] for e in r.json()["detail"]] == [field], (body, r.text)
    # a form post from another site cannot sign in: the body must be JSON
    r = c.post("/auth/login", content=b'{"name": "ana", "password": "' + PASSWORDS["ana"].encode() + b'"}',
               headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and "set-cookie" not in r.headers


# ------------------------------------------------------------------------------------- rate limit


@pytest.mark.slow
def test_failed_sign_ins_are_limited_across_processes(world):
    """The count is in the database: two apps (two worker processes) share it. Past the limit a
    sign-in gets 429 with Retry-After, even with the right password, until the window has passed."""
    limits = {"login_max_failures_per_name": 3, "login_max_failures_per_address": 100, "login_window_minutes": 10}
    first = TestClient(make_app(world.url, world.engine, **limits))
    second = TestClient(make_app(world.url, world.engine, **limits))
    for client in (first, second, first):
        assert _login(client, "pl", "a-wrong-password").status_code == 401
    for client in (second, first):
        r = _login(client, "pl")  # the right password: refused all the same
        assert r.status_code == 429, r.text
        retry = int(r.headers["Retry-After"])
        assert 0 < retry <= 600
        assert "too many" in r.json()["detail"]
    assert _login(first, "adm").status_code == 200  # another name from the same address
    with world.session() as s:  # the window passes
        s.execute(sa.update(LoginFailure).values(at=utcnow() - timedelta(minutes=11)))
        s.commit()
    assert _login(second, "pl").status_code == 200


def test_failures_from_one_address_are_limited(world):
    limits = {"login_max_failures_per_name": 100, "login_max_failures_per_address": 4}
    client = TestClient(make_app(world.url, world.engine, **limits))
    for name in ("a1", "a2", "a3", "a4"):
        assert _login(client, name, "wrong-password").status_code == 401
    r = _login(client, "ana")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    other = TestClient(client.app, client=("10.1.2.3", 50000))  # another address is not affected
    assert _login(other, "ana").status_code == 200
    assert _login(client, "ana").status_code == 429  # a success elsewhere does not clear the address's count


@SQLITE_ONLY
def test_a_success_clears_the_names_count(world):
    client = TestClient(make_app(world.url, world.engine, login_max_failures_per_name=3))
    for _ in range(3):
        for _ in range(2):
            assert _login(client, "fi", "wrong-password").status_code == 401
        assert _login(client, "fi").status_code == 200
    for _ in range(3):
        assert _login(client, "fi", "wrong-password").status_code == 401
    assert _login(client, "fi").status_code == 429


# ------------------------------------------------------------------------------------- sessions


def test_sign_out_ends_the_session(world):
    s = world.sign_in("pl")
    client, csrf, cookie = s["client"], s["csrf"], s["cookie"]
    r = client.post("/auth/logout")
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    assert client.get("/users/me").status_code == 200  # still signed in
    r = client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert _set_cookie_attrs(r)["max-age"] == "0"
    stale = TestClient(client.app, cookies={"jp_session": cookie})
    r = stale.get("/users/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert stale.get("/auth/me").status_code == 401
    assert stale.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204  # nothing left to end
    with world.session() as ses:
        assert ses.scalar(sa.select(WebSession.revoked_at).where(WebSession.token_hash == hash_token(cookie))) is not None


def test_session_expiry_and_idle_timeout(world):
    a, b = world.sign_in("pl"), world.sign_in("fi")

    def backdate(cookie: str, **values) -> None:
        with world.session() as s:
            s.execute(sa.update(WebSession).where(WebSession.token_hash == hash_token(cookie)).values(**values))
            s.commit()

    now = utcnow()
    backdate(a["cookie"], last_seen_at=now - timedelta(minutes=59))  # idle, but less than 60 minutes
    assert a["client"].get("/users/me").status_code == 200
    with world.session() as s:  # the use was recorded: the idle clock starts again
        seen = s.scalar(sa.select(WebSession.last_seen_at).where(WebSession.token_hash == hash_token(a["cookie"])))
        assert utcnow() - seen < timedelta(minutes=1)
    backdate(a["cookie"], last_seen_at=now - timedelta(minutes=61))
    r = a["client"].get("/users/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer" and "sign in again" in r.json()["detail"]
    assert a["client"].get("/auth/me").status_code == 401
    backdate(b["cookie"], expires_at=now - timedelta(seconds=1))  # used a moment ago, but past its lifetime
    assert b["client"].get("/users/me").status_code == 401
    # the settings decide: an app with a 2-hour lifetime and 5 idle minutes
    app = make_app(world.url, world.engine, session_hours=2, session_idle_minutes=5)
    c = TestClient(app)
    body = _login(c, "adm").json()
    assert body["idle_timeout_minutes"] == 5
    with world.session() as s:
        row = s.scalar(sa.select(WebSession).where(WebSession.user_id == world.user_ids["adm"]).order_by(WebSession.id.desc()))
        assert abs((row.expires_at - row.created_at).total_seconds() - 7200) < 1e-3
    backdate(c.cookies["jp_session"], last_seen_at=utcnow() - timedelta(minutes=6))
    assert c.get("/users/me").status_code == 401


def test_unsafe_methods_need_the_csrf_token(world):
    s = world.sign_in("adm")
    client, csrf = s["client"], s["csrf"]
    body = {"id": "newco", "name": "New Co"}
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
        r = client.post("/partners", json=body, headers=headers)
        assert r.status_code == 403, r.text
        assert "X-CSRF-Token" in r.json()["detail"]
    assert client.get("/partners").status_code == 200  # a safe method needs none
    r = client.post("/partners", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    # invalid input: 403 without the token (before the 422), 422 naming the field with it
    r = client.post("/partners", json={"id": "x y"}, headers={})
    assert r.status_code == 403
    r = client.post("/partners", json={"id": "x y"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "body.id" in {e["field"] for e in r.json()["detail"]}
    # another session's token does not do
    other = world.sign_in("adm")
    assert client.post("/partners", json={"id": "co2", "name": "C"}, headers={"X-CSRF-Token": other["csrf"]}).status_code == 403


@SQLITE_ONLY
def test_a_bearer_token_wins_over_the_cookie(world):
    s = world.sign_in("adm")
    client = s["client"]
    assert client.get("/users/me", headers=world.headers("ana")).json()["name"] == "ana"
    # a bearer request needs no CSRF token, and is judged as the token's user (ana may not create partners)
    assert client.post("/partners", json={"id": "n1", "name": "N"}, headers=world.headers("ana")).status_code == 403
    assert client.post("/partners", json={"id": "n1", "name": "N"}, headers=world.headers("adm")).status_code == 201
    r = client.get("/users/me", headers={"Authorization": "Bearer not-a-token"})  # a bad token is not rescued by the cookie
    assert r.status_code == 401
    assert client.get("/auth/me", headers=world.headers("pl")).json()["user"]["name"] == "adm"  # /auth/me: the session
    bearer_only = TestClient(client.app)
    assert bearer_only.get("/auth/me", headers=world.headers("pl")).status_code == 401


def test_a_browser_user_sees_what_its_token_sees(world):
    """A partner's session reaching another partner's object gets the same 404 as its token."""
    s = world.sign_in("ana")
    client = s["client"]
    for kind, path in (("upload", "/uploads/{}"), ("submission", "/submissions/{}"), ("exception", "/exceptions/{}")):
        for owner, status in (("own", 200), ("other", 404)):
            url = path.format(world.ids[kind][owner])
            by_cookie, by_token = client.get(url), world.client.get(url, headers=world.headers("ana"))
            assert by_cookie.status_code == by_token.status_code == status, (url, by_cookie.text)
            assert by_cookie.json() == by_token.json()
    assert client.get("/uploads").json() == world.client.get("/uploads", headers=world.headers("ana")).json()
    assert client.get("/scenarios").status_code == 403
    r = client.post(f"/uploads/{world.ids['upload']['other']}/retract", headers={"X-CSRF-Token": s["csrf"]})
    assert r.status_code == 404


def test_disabled_users_and_partners_lose_their_sessions(world):
    spare, ana = world.sign_in("spare"), world.sign_in("ana")
    assert spare["client"].get("/users/me").status_code == 200
    r = world.client.post(f"/users/{world.user_ids['spare']}/disable", headers=world.headers("adm"))
    assert r.status_code == 200
    r = spare["client"].get("/users/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    with world.session() as s:  # ended, not only refused: enabling the user again does not revive it
        assert s.scalar(sa.select(WebSession.revoked_at).where(WebSession.token_hash == hash_token(spare["cookie"])))
    # a disabled partner: its users get 403 everywhere, as with their tokens
    assert world.client.post("/partners/shops/disable", headers=world.headers("adm")).status_code == 200
    for client in (ana["client"], world.client):
        headers = {} if client is ana["client"] else world.headers("ana")
        r = client.get("/uploads", headers=headers)
        assert r.status_code == 403 and "disabled" in r.json()["detail"]
    assert ana["client"].get("/auth/me").status_code == 403
    assert _login(TestClient(world.client.app), "ana").status_code == 401
    assert world.client.post("/partners/shops/enable", headers=world.headers("adm")).status_code == 200
    assert ana["client"].get("/uploads").status_code == 200


# ------------------------------------------------------------------------------------- passwords


def test_admin_creates_a_user_with_a_password(world):
    c, h = world.client, world.headers("adm")
    r = c.post("/users", json={"name": "zoe", "role": "planner", "password": "zoe's long passphrase"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["has_password"] is True and "password" not in r.text.replace("has_password", "")
    assert _login(TestClient(c.app), "zoe", "zoe's long passphrase").status_code == 200
    for password in ("too short", "x" * 257, 12345678901):
        r = c.post("/users", json={"name": "zed", "role": "planner", "password": password}, headers=h)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["detail"]] == ["body.password"]
    r = c.post("/users", json={"name": "tok", "role": "finance"}, headers=h)
    assert r.status_code == 201 and r.json()["user"]["has_password"] is False


def test_admin_password_reset_ends_the_users_sessions(world):
    first, second = world.sign_in("spare"), world.sign_in("spare")
    uid = world.user_ids["spare"]
    r = world.client.put(f"/users/{uid}/password", json={"password": "a brand new passphrase"}, headers=world.headers("adm"))
    assert r.status_code == 200, r.text
    assert r.json()["sessions_revoked"] == 2 and r.json()["user"]["name"] == "spare"
    for s in (first, second):
        assert s["client"].get("/users/me").status_code == 401
    fresh = TestClient(world.client.app)
    assert _login(fresh, "spare").status_code == 401  # the old password
    assert _login(fresh, "spare", "a brand new passphrase").status_code == 200
    # the admin through its own browser session (CSRF token needed, as for any PUT)
    adm = world.sign_in("adm")
    r = adm["client"].put(f"/users/{uid}/password", json={"password": "yet another passphrase"})
    assert r.status_code == 403
    r = adm["client"].put(f"/users/{uid}/password", json={"password": "yet another passphrase"},
                          headers={"X-CSRF-Token": adm["csrf"]})
    assert r.status_code == 200 and r.json()["sessions_revoked"] == 1
    r = world.client.put("/users/999999/password", json={"password": "yet another passphrase"}, headers=world.headers("adm"))
    assert r.status_code == 404


def test_users_change_their_own_password_only(world):
    mine, elsewhere = world.sign_in("ana"), world.sign_in("ana")
    client, h = mine["client"], {"X-CSRF-Token": mine["csrf"]}
    uid = world.user_ids["ana"]
    r = client.put(f"/users/{world.user_ids['pl']}/password", json={"password": "taking over pl"}, headers=h)
    assert r.status_code == 403
    r = client.put(f"/users/{uid}/password", json={"password": "a new passphrase"}, headers=h)
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["body.current_password"]
    r = client.put(f"/users/{uid}/password", json={"password": "a new passphrase", "current_password": "wrong one"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "wrong password"
    r = client.put(f"/users/{uid}/password", json={"password": "short", "current_password": PASSWORDS["ana"]}, headers=h)
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["body.password"]
    r = client.put(f"/users/{uid}/password", json={"password": "a new passphrase", "current_password": PASSWORDS["ana"]},
                   headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["sessions_revoked"] == 1  # the other browser's session; this one goes on
    assert client.get("/users/me").status_code == 200
    assert elsewhere["client"].get("/users/me").status_code == 401
    assert _login(TestClient(client.app), "ana", "a new passphrase").status_code == 200
    # with its bearer token the user changes its own too (current password needed)
    r = world.client.put(f"/users/{uid}/password", json={"password": "third passphrase!", "current_password": "a new passphrase"},
                         headers=world.headers("ana"))
    assert r.status_code == 200


@pytest.mark.slow
@SQLITE_ONLY
def test_wrong_current_passwords_are_rate_limited(world):
    app = make_app(world.url, world.engine, login_max_failures_per_name=2)
    client, uid = TestClient(app), world.user_ids["wil"]
    body = {"password": "a new passphrase", "current_password": "not it"}
    for _ in range(2):
        assert client.put(f"/users/{uid}/password", json=body, headers=world.headers("wil")).status_code == 422
    r = client.put(f"/users/{uid}/password", json={**body, "current_password": PASSWORDS["wil"]}, headers=world.headers("wil"))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_cli_sets_passwords_from_stdin(tmp_path, monkeypatch, db_url):
    """``users create --password-stdin`` and ``users set-password --password-stdin``: the password
    is read from standard input, never printed; a set password ends the user's sessions."""
    from jointplan.cli import app

    monkeypatch.setenv("JOINTPLAN_DATABASE_URL", db_url)
    run = CliRunner().invoke
    assert run(app, ["partners", "create", "shops", "--role", "retailer"]).exit_code == 0
    secret = "correct horse battery staple"
    r = run(app, ["users", "create", "ana", "--role", "partner", "--partner", "shops", "--password-stdin"], input=secret + "\n")
    assert r.exit_code == 0, r.output
    assert secret not in r.output and "sign-in password" in " ".join(r.output.split())
    client = TestClient(make_app(db_url))
    assert _login(client, "ana", secret).status_code == 200
    bad = run(app, ["users", "create", "bob", "--role", "planner", "--password-stdin"], input="short\n")
    assert bad.exit_code == 2 and "password" in bad.output and "short" not in bad.output
    new = "another long passphrase"
    r = run(app, ["users", "set-password", "ana", "--password-stdin"], input=new + "\n")
    assert r.exit_code == 0, r.output
    assert new not in r.output and "1 browser session(s) ended" in " ".join(r.output.split())
    assert client.get("/users/me").status_code == 401  # the session opened above ended
    fresh = TestClient(client.app)
    assert _login(fresh, "ana", secret).status_code == 401
    assert _login(fresh, "ana", new).status_code == 200
    assert run(app, ["users", "set-password", "nobody", "--password-stdin"], input=new + "\n").exit_code == 2
    assert run(app, ["users", "set-password", "ana"], input=new + "\n").exit_code == 2  # not a terminal: say --password-stdin
    listing = run(app, ["users", "list"]).output
    assert "set" in listing and new not in listing
    assert run(app, ["users", "disable", "ana"]).exit_code == 0
    assert fresh.get("/users/me").status_code == 401
