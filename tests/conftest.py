from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from planning.plan import plan_scenario
from scenarios.io import EXAMPLES_DIR, parse_scenario

INSTANCES = Path(__file__).parent / "instances"


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def instance(name: str) -> dict:
    return load_yaml(INSTANCES / f"{name}.yaml")


def example(name: str) -> dict:
    return load_yaml(EXAMPLES_DIR / f"{name}.yaml")


def solve(data: dict, **kwargs):
    scenario, warnings = parse_scenario(copy.deepcopy(data))
    return scenario, plan_scenario(scenario, warnings=warnings, **kwargs)


@pytest.fixture(scope="session")
def small_chain_plan():
    return solve(example("small_chain"))


@pytest.fixture(scope="session")
def medium_chain_plan():
    return solve(example("medium_chain"))


# ----------------------------------------------------------------------------- service databases

POSTGRES_ENV = "JOINTPLAN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_base_url() -> str:
    import os

    return os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL (``$JOINTPLAN_TEST_POSTGRES_URL`` or the local default); skips, saying why,
    only when the server cannot be reached (``.ci/run`` starts it)."""
    import sqlalchemy as sa

    url = _postgres_base_url()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no server here
        pytest.skip(f"PostgreSQL unreachable at {url} ({type(exc).__name__}); set {POSTGRES_ENV} or run .ci/run")
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
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


@pytest.fixture
def migrated_db_url(db_url):
    """``db_url`` upgraded to the latest migration."""
    from api.migrate import upgrade

    upgrade(db_url)
    return db_url


@pytest.fixture(scope="session")
def example_plan_result():
    """The plan runner's result for small_chain (solved once per test session)."""
    from api_world import solve_example_plan

    return solve_example_plan()


@pytest.fixture
def world(migrated_db_url):
    """A populated service (tests/api_world.py) on SQLite and on PostgreSQL, without a plan."""
    from api_world import build_world

    w = build_world(migrated_db_url)
    yield w
    w.client.close()
    w.engine.dispose()
