"""The scale benchmark's cross-backend check (benchmarks/forecast_scale.py): forecasts are
compared only when at least two runs produced them."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from forecast_scale import compare_forecasts  # noqa: E402


def _frame(values):
    return pd.DataFrame({"unique_id": ["a"] * len(values), "ds": pd.date_range("2027-01-01", periods=len(values), freq="MS"),
                         "p50": values})


def test_one_run_is_not_compared():
    same, line = compare_forecasts({"serial/cold": _frame([1.0, 2.0])})
    assert same is None
    assert line == "only one backend ran (serial/cold): nothing to compare"
    assert compare_forecasts({}) == (None, "only one backend ran: nothing to compare")


def test_equal_and_different_runs():
    assert compare_forecasts({"serial/cold": _frame([1.0, 2.0]), "processes/cold": _frame([1.0, 2.0])})[0] is True
    same, line = compare_forecasts({"serial/cold": _frame([1.0, 2.0]), "dask/cold": _frame([1.0, 2.5])})
    assert same is False
    assert line == "identical forecasts across serial/cold, dask/cold: False"
