"""The accuracy benchmark's uncertainty figures (benchmarks/forecast_accuracy.py), on small
panels whose answers are known by construction."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from forecast_accuracy import largest_series_effect, paired_bootstrap  # noqa: E402


def _scores(jointplan_errors, reference_errors, actuals) -> pd.DataFrame:
    rows = []
    for method, errors in (("jointplan", jointplan_errors), ("ref", reference_errors)):
        for i, (e, a) in enumerate(zip(errors, actuals)):
            rows.append({"series": f"s{i}", "method": method, "mase": e / 10.0, "abs_error": e, "actual": a, "wape": e / a})
    return pd.DataFrame(rows)


def test_a_uniformly_better_method_is_better_in_every_draw():
    rng = np.random.default_rng(3)
    reference = rng.uniform(5, 50, size=40)
    out = paired_bootstrap(_scores(0.5 * reference, reference, rng.uniform(100, 900, size=40)), "ref", draws=500)
    for measure in ("mase_ratio", "pooled_wape_ratio", "mean_wape_ratio"):
        assert out[measure]["low"] == pytest.approx(0.5) and out[measure]["high"] == pytest.approx(0.5)
        assert out[measure]["share_better"] == 1.0


def test_the_bootstrap_is_paired_and_its_interval_covers_the_panel_ratio():
    rng = np.random.default_rng(4)
    reference = rng.uniform(5, 50, size=60)
    jointplan = reference * rng.uniform(0.7, 1.3, size=60)  # better on some series, worse on others
    scores = _scores(jointplan, reference, rng.uniform(100, 900, size=60))
    out = paired_bootstrap(scores, "ref", draws=2000, seed=1)
    ratio = jointplan.sum() / reference.sum()
    assert out["pooled_wape_ratio"]["low"] < ratio < out["pooled_wape_ratio"]["high"]
    assert out["pooled_wape_ratio"]["high"] - out["pooled_wape_ratio"]["low"] < 0.2
    assert 0.0 < out["pooled_wape_ratio"]["share_better"] < 1.0
    assert paired_bootstrap(scores, "ref", draws=2000, seed=1) == out  # seeded: reproducible


def test_failed_fits_are_left_out_of_the_bootstrap():
    scores = _scores(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), np.array([10.0, 10.0, 10.0]))
    scores.loc[(scores["method"] == "ref") & (scores["series"] == "s2"), ["mase", "abs_error", "wape"]] = np.nan
    out = paired_bootstrap(scores, "ref", draws=100)
    assert out["series"] == 2 and out["pooled_wape_ratio"]["high"] == pytest.approx(0.5)


def test_largest_series_effect_recomputes_the_ratio_without_it():
    scores = _scores(np.array([1.0, 1.0, 30.0]), np.array([2.0, 2.0, 10.0]), np.array([10.0, 20.0, 70.0]))
    out = largest_series_effect(scores, "ref")
    assert out["series"] == "s2" and out["volume_share"] == pytest.approx(0.7)
    assert out["pooled_wape_ratio"] == pytest.approx(32.0 / 14.0)
    assert out["pooled_wape_ratio_without"] == pytest.approx(2.0 / 4.0)
