"""CPFR exception rules on small hand-made forecasts whose breaches are known."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from forecasting.exceptions import (
    ErrorRule,
    ServiceRule,
    ToleranceRule,
    error_exceptions,
    service_exceptions,
    tolerance_exceptions,
)

DS = pd.to_datetime(["2027-01-04", "2027-01-11", "2027-01-18"])


def _fc(source, values, uid="widget/north"):
    return pd.DataFrame({"unique_id": uid, "ds": DS, "source": source, "value": values})


def test_relative_and_absolute_tolerance_must_both_break():
    fc = pd.concat([_fc("statistical", [100, 100, 10]), _fc("shops", [100, 130, 14])])
    rule = ToleranceRule(name="20% and 10 units", relative=0.2, absolute=10)
    exc = tolerance_exceptions(fc, rule)
    # week 2 differs by 30 (23%): both broken; week 3 by 4 (29%) is under 10 units
    assert exc["ds"].tolist() == [DS[1]]
    row = exc.iloc[0]
    assert row["sources"] == "shops vs statistical" or row["sources"] == "statistical vs shops"
    assert row["owner"] == "shops" and row["rule"] == "20% and 10 units"
    assert row["measure"] == 30


def test_tolerance_values_read_as_quantities():
    """Thousands separated, whole units from 100 up (was "2225 vs 1516.93", "1.23457e+06")."""
    fc = pd.concat([_fc("shops", [2225, 1_234_567, 12.5]), _fc("statistical", [1516.93, 2_500_000.4, 0.125])])
    exc = tolerance_exceptions(fc, ToleranceRule(name="r", relative=0.1))
    assert exc["values"].tolist() == ["2,225 vs 1,517", "1,234,567 vs 2,500,000", "12.5 vs 0.125"]
    assert exc.iloc[0]["message"] == "shops (2,225) and statistical (1,517) differ by 708 (32%)"


def test_severity_grows_with_the_breach():
    fc = pd.concat([_fc("maker", [100, 100, 100]), _fc("shops", [112, 125, 400])])
    exc = tolerance_exceptions(fc, ToleranceRule(name="r", relative=0.1, owner="maker"))
    assert exc["severity"].tolist() == ["low", "medium", "high"]  # 1.07x, 2x, 7.5x the 10% tolerance
    assert set(exc["owner"]) == {"maker"}


def test_rule_needs_a_tolerance():
    with pytest.raises(ValidationError, match="give relative, absolute or both"):
        ToleranceRule(name="none")


def test_error_rule_uses_wape_on_history():
    actual = pd.DataFrame({"unique_id": "widget/north", "ds": DS, "y": [100, 100, 100]})
    fc = pd.concat([_fc("statistical", [90, 110, 100]), _fc("shops", [150, 150, 150])])
    exc = error_exceptions(fc, actual, ErrorRule(name="wape 20%", limit=0.2))
    assert exc["sources"].tolist() == ["shops"]
    assert exc.iloc[0]["measure"] == pytest.approx(0.5)


def test_in_stock_below_criterion():
    # the brief's example: in-stock 83% against a 90% criterion
    periods = pd.date_range("2027-01-04", periods=6, freq="W-MON")
    svc = pd.DataFrame({"unique_id": "widget/north", "ds": periods, "on_hand": [5, 0, 3, 4, 2, 6]})
    exc = service_exceptions(svc, ServiceRule(name="in-stock 90%", measure="in_stock", target=0.9, owner="wholesale"))
    assert exc.iloc[0]["values"] == "83.3%"
    assert exc.iloc[0]["owner"] == "wholesale"
