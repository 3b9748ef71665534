"""The database fixtures of the service tests (imported by ``conftest.py``; kept apart so that
``test_postgres_fixture.py`` can run them in a subprocess without the planning imports)."""

from __future__ import annotations

import pytest

POSTGRES_ENV = "JOINTPLAN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_unreachable(url: str) -> str | None:
    """Why the PostgreSQL server at ``url`` cannot be used (None: it answers)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no server here
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL of the database tests' PostgreSQL variants.

    - ``$JOINTPLAN_TEST_POSTGRES_URL`` set (``.ci/run`` always sets it): the server must answer;
      if it does not, every PostgreSQL variant FAILS (a CI run must not pass with half its tests
      skipped).
    - unset: the local default server is tried; if it does not answer, the PostgreSQL variants are
      skipped, saying why (a developer's laptop without PostgreSQL).
    """
    import os

    explicit = os.environ.get(POSTGRES_ENV)
    url = explicit or DEFAULT_POSTGRES_URL
    why = postgres_unreachable(url)
    if why is None:
        return url
    if explicit:
        pytest.fail(f"PostgreSQL unreachable at {url} ({why}), but {POSTGRES_ENV} asks for it: start the server "
                    f"(.ci/run does) or unset {POSTGRES_ENV} to skip the PostgreSQL variants", pytrace=False)
    pytest.skip(f"PostgreSQL unreachable at the default {url} ({why}); set {POSTGRES_ENV} or run .ci/run")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request, tmp_path):
    """URL of an empty database: a SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    import uuid

    import sqlalchemy as sa

    base = request.getfixturevalue("postgres_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


