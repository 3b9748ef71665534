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


def _is_scenario_file(path: Path) -> bool:
    """A bundled YAML is a scenario when it reads as a mapping with the keys every scenario has
    (the folder also holds a CPFR collaboration-rules file, ``small_chain_collab.yaml``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and {"time", "partners"} <= set(data)


def list_examples() -> list[str]:
    """The bundled example scenarios (names for ``plan``, ``validate``, ...): scenario files only."""
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml") if _is_scenario_file(p))


def list_example_files() -> list[tuple[str, str]]:
    """Every other bundled example file (not a scenario) with what it is: (file name, kind)."""
    scenarios = set(list_examples())
    rows = []
    for p in sorted(EXAMPLES_DIR.iterdir()):
        if not p.is_file() or p.suffix == ".py" or (p.suffix == ".yaml" and p.stem in scenarios):
            continue
        if p.suffix == ".yaml":
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "rules" in data:
                kind = "CPFR exception rules (for `jointplan exceptions --rules`)"
            elif isinstance(data, dict) and any(isinstance(pf, dict) and "instruments" in pf
                                                for pf in data.get("partners") or []):
                kind = "funding instruments (for `jointplan fund --instruments`)"
            else:
                kind = "YAML file, not a scenario"
        elif p.suffix == ".csv" and "operating_cash_flow" in p.read_text(encoding="utf-8").split("\n", 1)[0]:
            kind = "cash-flow CSV (for `jointplan fund`)"
        elif p.name.endswith("_history.csv"):
            kind = "sales history CSV (for `jointplan forecast`)"
        elif "_submissions_" in p.name:
            kind = "a partner's forecast submissions CSV (for `jointplan submit`)"
        else:
            kind = "data file"
        rows.append((p.name, kind))
    return rows
