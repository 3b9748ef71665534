"""The interactive documentation works offline: ``/docs`` (Swagger UI) and ``/redoc`` load their
scripts and styles from the service itself (the ``fastapi-offline`` package's files), never from a
CDN; in the slow suite, headless Chromium renders ``/docs`` with every other host unreachable.

Seen failing with FastAPI's defaults (``docs.add_docs`` removed, ``docs_url="/docs"`` back in
``create_app``): ``test_docs_pages_reference_no_external_url`` (the CDN URLs) and, in the slow
suite, ``test_chromium_renders_swagger_ui_offline`` (an empty ``#swagger-ui`` element).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'docs.db'}"
    return TestClient(create_app(Settings(database_url=url)))


def _references(html: str) -> list[str]:
    """Every URL a page loads: src/href attributes and the spec URL handed to the script."""
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    refs += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)  # Swagger UI's spec
    refs += re.findall(r"""Redoc\.init\(\s*['"]([^'"]+)['"]""", html)
    refs += re.findall(r'spec-url\s*=\s*["\']([^"\']+)["\']', html)  # ReDoc's spec
    return refs


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_no_external_url(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    external = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'<>]*", r.text)
    assert not external, f"{page} loads from outside the service: {external}"
    refs = _references(r.text)
    scripts = [u for u in refs if u.endswith(".js")]
    assert scripts, f"{page}: no script found in {r.text[:500]}"
    assert "/openapi.json" in refs
    for ref in refs:
        assert ref.startswith("/"), ref
        got = client.get(ref)
        assert got.status_code == 200, (ref, got.status_code)
        assert len(got.content) > 1000, ref
        kind = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}[Path(ref).suffix]
        assert kind in got.headers["content-type"], (ref, got.headers["content-type"])


def test_docs_need_no_token_and_stay_out_of_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/docs/assets/no-such-file.js").status_code == 404
    assert client.get("/docs/assets/../../api/settings.py").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app on a real socket (uvicorn in a thread), for the browser."""
    import uvicorn

    url = f"sqlite:///{tmp_path_factory.mktemp('docs-live') / 'docs.db'}"
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=url)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def chromium_dom(url: str, budget_ms: int = 20000) -> str:
    """The DOM of ``url`` after its scripts ran, in headless Chromium that can reach only 127.0.0.1."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    profile = tempfile.mkdtemp(prefix="jp-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--virtual-time-budget={budget_ms}",
           f"--user-data-dir={profile}", "--dump-dom", url]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow
def test_chromium_renders_swagger_ui_offline(live_server):
    dom = chromium_dom(f"{live_server}/docs")
    assert 'id="swagger-ui"' in dom
    assert 'class="swagger-ui' in dom, dom[:2000]  # the element Swagger UI renders into #swagger-ui
    assert "opblock-tag" in dom and "/auth/login" in dom, dom[:2000]  # the operations, read from /openapi.json


@pytest.mark.slow
def test_chromium_renders_redoc_offline(live_server):
    dom = chromium_dom(f"{live_server}/redoc")
    assert "redoc-wrap" in dom or "api-content" in dom, dom[:2000]
    assert "/auth/login" in dom
