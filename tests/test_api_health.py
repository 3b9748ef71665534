"""GET /health: 200 only when the database answers and its schema is at this code's migration head."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.db import make_engine
from api.migrate import upgrade
from api.settings import Settings


def _health(url: str):
    engine = make_engine(url)
    try:
        with TestClient(create_app(Settings(database_url=url), engine=engine)) as client:
            return client.get("/health")
    finally:
        engine.dispose()


def test_health_follows_the_database_and_its_schema(db_url):
    empty = _health(db_url)
    assert empty.status_code == 503
    assert empty.json()["database"] == "ok" and empty.json()["schema"] == "missing"

    upgrade(db_url, "0001_core")  # a database left behind by an older release
    behind = _health(db_url)
    assert behind.status_code == 503 and behind.json()["schema"] == "behind"

    upgrade(db_url)
    ready = _health(db_url)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "version": "0.1.0", "database": "ok", "schema": "current"}
    assert "Authorization" not in ready.request.headers  # no token needed


def test_health_reports_an_unreachable_database(tmp_path):
    gone = _health(f"sqlite:///{tmp_path / 'no-such-dir' / 'service.db'}")
    assert gone.status_code == 503
    body = gone.json()
    assert body["status"] == "unavailable" and body["database"].startswith("unreachable")
    assert body["schema"] == "unknown"


def test_health_is_outside_the_api_schema():
    app = create_app(Settings(database_url="sqlite://"))
    assert "/health" not in app.openapi()["paths"]
