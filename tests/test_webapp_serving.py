"""The web workbench's build served at ``/app`` (files, the single-page app's fallback to
``index.html``, caching), ``/`` redirecting there, and the 503 page saying how to build it when
there is no build. No token needed; none of it in the OpenAPI schema.

Seen failing: the fallback answering every missing path with ``index.html`` (also under
``assets/``): ``test_built_app_files_and_fallback`` (200 for a missing script); the query-string
check applied to ``/app``: ``test_app_urls_keep_their_query_strings`` (422).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

INDEX = '<!doctype html><html><head><script type="module" src="/app/assets/index-4f2a.js"></script></head>' \
        '<body><div id="root"></div></body></html>'


@pytest.fixture
def dist(tmp_path):
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text(INDEX)
    (d / "assets" / "index-4f2a.js").write_text("console.log('workbench')")
    (d / "assets" / "index-4f2a.css").write_text("body{margin:0}")
    (d / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return d


def _client(tmp_path, web_dist) -> TestClient:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}", web_dist=web_dist))
    return TestClient(app, follow_redirects=False)


def test_root_redirects_to_the_app(tmp_path, dist):
    c = _client(tmp_path, dist)
    r = c.get("/")
    assert r.status_code == 307 and r.headers["location"] == "/app/"
    r = c.get("/app")
    assert r.status_code == 307 and r.headers["location"] == "/app/"


def test_built_app_files_and_fallback(tmp_path, dist):
    c = _client(tmp_path, dist)
    for path in ("/app/", "/app/plans/12", "/app/scenarios/3/versions/2", "/app/index.html"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX and r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    r = c.get("/app/assets/index-4f2a.js")
    assert r.status_code == 200 and "workbench" in r.text and "javascript" in r.headers["content-type"]
    assert "immutable" in r.headers["cache-control"]
    assert c.get("/app/assets/index-4f2a.css").headers["content-type"].startswith("text/css")
    r = c.get("/app/favicon.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg")
    assert "immutable" not in r.headers["cache-control"]
    # a missing bundle is 404, not index.html (a stale page must not run HTML as a script)
    r = c.get("/app/assets/index-0000.js")
    assert r.status_code == 404
    # nothing outside the build
    for path in ("/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/..%2fsecret.txt", "/app/assets/%2e%2e/%2e%2e/secret.txt"):
        r = c.get(path)
        assert "outside the build" not in r.text, path
    assert c.head("/app/plans/1").status_code == 200
    assert c.post("/app/plans/1").status_code == 405
    assert c.get("/app/" + "a" * 5000).status_code == 200  # a name too long for the file system: the app's route
    assert c.get("/app/a%00b").status_code == 200


def test_app_urls_keep_their_query_strings(tmp_path, dist):
    c = _client(tmp_path, dist)
    assert c.get("/app/plans", params={"compare": "1,2"}).status_code == 200
    assert c.get("/app/", params={"next": "/app/plans"}).text == INDEX


def test_without_a_build_the_app_says_how_to_build_it(tmp_path):
    c = _client(tmp_path, tmp_path / "no-build")
    for path in ("/app", "/app/", "/app/plans/3", "/app/assets/index.js"):
        r = c.get(path)
        assert r.status_code == 503, path
        assert r.headers["content-type"].startswith("text/html")
        assert "not built" in r.text and "make web" in r.text and "npm ci" in r.text and "npm run build" in r.text
        assert str(tmp_path / "no-build") in r.text
    assert c.get("/").status_code == 307  # the redirect stays; the API and /docs still work
    assert c.get("/docs").status_code == 200
    assert c.get("/health").status_code in (200, 503)


def test_app_routes_need_no_token_and_stay_out_of_the_schema(tmp_path, dist):
    c = _client(tmp_path, dist)
    paths = c.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/app")]
    r = c.get("/app/plans/1", headers={"Authorization": "Bearer not-a-token", "Cookie": "jp_session=stale"})
    assert r.status_code == 200


def test_web_dist_is_a_setting(monkeypatch, tmp_path, dist):
    monkeypatch.setenv("JOINTPLAN_WEB_DIST", str(dist))
    assert Settings().web_dist == dist
    monkeypatch.delenv("JOINTPLAN_WEB_DIST")
    assert Settings().web_dist.parts[-2:] == ("web", "dist")
