"""Reading scenarios from YAML or JSON, with every problem reported by field path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .fields import Problem, problems_from_validation_error
from .finance import INSTRUMENT_TYPES
from .schema import Scenario
from .validation import ScenarioError, errors_of, validate_scenario

EXAMPLES_DIR = Path(__file__).parent / "examples"


def parse_scenario(data: dict[str, Any], *, check: bool = True) -> tuple[Scenario, list[Problem]]:
    """Parse and check a scenario; raise :class:`ScenarioError` listing every error."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("(scenario)", "a scenario must be a mapping of fields")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation_error(exc, "(scenario)", INSTRUMENT_TYPES)) from None
    problems = validate_scenario(scenario) if check else []
    if errors_of(problems):
        raise ScenarioError(problems)
    return scenario, problems


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ScenarioError([Problem(str(path), "file not found")])
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError([Problem(str(path), f"cannot parse: {exc}")]) from None


def load_scenario(path: str | Path, *, check: bool = True) -> tuple[Scenario, list[Problem]]:
    """Load a scenario from a YAML or JSON file (or a bundled example's name)."""
    p = Path(path)
    if not p.exists() and not p.suffix:
        candidate = EXAMPLES_DIR / f"{p.name}.yaml"
        if candidate.exists():
            p = candidate
    return parse_scenario(read_scenario_file(p), check=check)


def scenario_fingerprint(scenario: Scenario) -> str:
    """A content hash identifying a scenario version (canonical JSON, sha256)."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def list_examples() -> list[str]:
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))
