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

from db_fixtures import DEFAULT_POSTGRES_URL, POSTGRES_ENV, db_url, postgres_server  # noqa: E402,F401 - fixtures


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


def pytest_ignore_collect(collection_path, config):
    """The default run (``-m 'not slow'``) skips collecting the modules that are slow as a whole and
    costly to collect (schemathesis builds its coverage cases at collection time)."""
    if collection_path.name in SLOW_MODULES and (config.option.markexpr or "").strip() == "not slow":
        return True
    return None


SLOW_MODULES = {"test_api_schemathesis_thorough.py"}
