"""``GET /health``: readiness of the service for load balancers and orchestrators.

No token needed and nothing about the data is returned: whether the database answers and
whether its schema is at the migration head this code expects (``jointplan serve`` migrates at
start; a database left behind by an older release reads ``behind``). 200 when both hold, else
503 with the same body. Not part of the OpenAPI schema, like ``/docs``.
"""

from __future__ import annotations

from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.migrate import alembic_config

router = APIRouter()


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """The migration head(s) shipped with this code."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current_heads(engine) -> set[str]:
    """The database's migration heads: one query on ``alembic_version`` (load balancers call this
    often); Alembic's own look-up, which first checks that the table exists, when that fails."""
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # noqa: BLE001 - no table yet, or no database: Alembic's look-up tells which
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            return set(MigrationContext.configure(conn).get_current_heads())


@router.get("/health", include_in_schema=False)
def health(request: Request) -> JSONResponse:
    body: dict = {"status": "ok", "version": request.app.version}
    try:
        current = _current_heads(request.app.state.engine)
        body["database"] = "ok"
        body["schema"] = "current" if current == expected_heads() else ("missing" if not current else "behind")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is reported, not raised
        body["database"] = f"unreachable: {type(exc).__name__}"
        body["schema"] = "unknown"
    if body["database"] != "ok" or body["schema"] != "current":
        body["status"] = "unavailable"
    return JSONResponse(status_code=200 if body["status"] == "ok" else 503, content=body)
