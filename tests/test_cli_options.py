"""Numeric command-line options refuse non-finite and out-of-range values: exit code 2 and a
message naming the option and the reason (checked on every numeric float option; integer
options cannot be nan and keep typer's min/max)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from jointplan.cli import app

runner = CliRunner()

# (command line before the option, option, bad value, words the reason must contain)
REFUSED = [
    (["plan", "small_chain"], "--time-limit", "-1", "not greater than 0"),
    (["plan", "small_chain"], "--time-limit", "0", "not greater than 0"),
    (["plan", "small_chain"], "--time-limit", "nan", "not a finite number"),
    (["plan", "small_chain"], "--time-limit", "inf", "not a finite number"),
    (["plan", "small_chain"], "--mip-gap", "5", "greater than 1"),
    (["plan", "small_chain"], "--mip-gap", "-0.1", "less than 0"),
    (["plan", "small_chain"], "--mip-gap", "nan", "not a finite number"),
    (["plan", "small_chain"], "--service-level", "nan", "not a finite number"),
    (["plan", "small_chain"], "--service-level", "0.3", "less than 0.5"),
    (["plan", "small_chain"], "--service-level", "1", "greater than 0.9999"),
    (["fund", "plan.json", "--out", "x.json"], "--time-limit", "-5", "not greater than 0"),
    (["fund", "plan.json", "--out", "x.json"], "--time-limit", "nan", "not a finite number"),
    (["compare-finance", "small_chain"], "--time-limit", "-inf", "not a finite number"),
    (["compare-finance", "small_chain"], "--time-limit", "0", "not greater than 0"),
    (["resolve", "widget/store-north", "--author", "a"], "--adjust", "nan", "not a finite number"),
    (["consensus"], "--service-level", "nan", "not a finite number"),
    (["worker"], "--poll", "nan", "not a finite number"),
    (["worker"], "--poll", "0", "less than 0.05"),
    (["worker"], "--lease", "inf", "not a finite number"),
    (["worker"], "--lease", "0.5", "less than 1"),
]


def _plain(text: str) -> str:
    """Output without rich's box drawing and line wrapping."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


@pytest.mark.parametrize("head, option, value, reason", REFUSED, ids=[f"{r[0][0]} {r[1]} {r[2]}" for r in REFUSED])
def test_bad_numeric_option_exits_2_naming_option_and_reason(head, option, value, reason):
    result = runner.invoke(app, [*head, option, value])
    out = _plain(result.output)
    assert result.exit_code == 2, out
    assert f"Invalid value for '{option}'" in out, out
    assert reason in out, out


def test_good_values_pass_option_checks(tmp_path):
    """In-range values get past the option checks (the command then fails on the missing file)."""
    missing = str(tmp_path / "none.yaml")
    result = runner.invoke(app, ["plan", missing, "--time-limit", "30", "--mip-gap", "0.01", "--service-level", "0.95"])
    out = _plain(result.output)
    assert result.exit_code == 2 and "file not found" in out and "Invalid value" not in out, out
    result = runner.invoke(app, ["plan", missing, "--mip-gap", "0", "--time-limit", "1e-3"])
    assert "Invalid value" not in _plain(result.output)
