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
