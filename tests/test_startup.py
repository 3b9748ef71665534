"""Start-up: ``jointplan --help`` imports none of the model stacks (Pyomo, pandas, SciPy, numpy),
and ``jointplan plan`` none of the forecasting or service stacks (Prophet, statsforecast, Dask,
FastAPI, SQLAlchemy) nor scipy.stats. Each check runs the command in a fresh interpreter and lists
``sys.modules`` at its end (benchmarks/startup.py measures the times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from startup import HEAVY, WRAPPER, _env  # noqa: E402

MODEL_STACKS = {"pyomo", "pandas", "scipy", "numpy", "highspy"}
FORECAST_AND_SERVICE = {"prophet", "statsforecast", "statsmodels", "dask", "distributed", "fastapi", "sqlalchemy",
                        "scipy.stats"}


def loaded(args: list[str], tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", WRAPPER.format(heavy=HEAVY), str(out), *args],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300)
    assert out.exists(), proc.stderr
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize("args", [["--help"], ["plan", "--help"], ["examples"], ["forecast", "--help"],
                                  ["serve", "--help"], ["worker", "--help"], ["fund", "--help"]])
def test_help_and_listing_import_no_model_stack(args, tmp_path):
    mods = loaded(args, tmp_path)
    assert not mods & MODEL_STACKS, mods
    assert not mods & FORECAST_AND_SERVICE, mods


@pytest.mark.parametrize("args", [["plan", "small_chain"], ["plan", "small_chain", "--finance"]])
def test_plan_imports_no_forecasting_or_service_stack(args, tmp_path):
    mods = loaded([*args, "--out", str(tmp_path / "plan.json")], tmp_path)
    assert (tmp_path / "plan.json").exists()  # the command ran to its end
    assert {"pyomo", "pandas", "highspy"} <= mods
    assert not mods & FORECAST_AND_SERVICE, mods
