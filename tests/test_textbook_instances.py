"""Published planning instances with known optimal values, written as jointplan scenarios.

Each test cites its source; the expected figures are the published optima.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import instance, solve


def _series(df, column, **filters):
    for k, v in filters.items():
        df = df[df[k] == v]
    return df.sort_values("period")[column].to_numpy()


def test_red_tomato_tools_lp():
    """Chopra & Meindl, Supply Chain Management, ch. 8 (aggregate planning by LP), Red Tomato
    Tools: optimal total cost $422,275; lay off 15.417 workers in January, keep 64.583; no
    overtime, no subcontracting; 266.67 units backlogged in April; 500 units left in June."""
    _, plan = solve(instance("red_tomato"))
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(422_275, abs=0.01)
    cap = plan.tables["capacity"]
    np.testing.assert_allclose(_series(cap, "workforce"), 64.5833333, atol=1e-4)
    np.testing.assert_allclose(_series(cap, "laid_off"), [15.4166667, 0, 0, 0, 0, 0], atol=1e-4)
    np.testing.assert_allclose(_series(cap, "hired"), 0, atol=1e-6)
    np.testing.assert_allclose(_series(cap, "overtime"), 0, atol=1e-6)
    np.testing.assert_allclose(plan.tables["production"]["subcontracting"], 0, atol=1e-6)
    np.testing.assert_allclose(_series(plan.tables["sales"], "backlog"), [0, 0, 0, 266.6667, 0, 0], atol=1e-3)
    np.testing.assert_allclose(_series(plan.tables["inventory"], "inventory")[-1], 500, atol=1e-6)
    costs = plan.kpis["chain"]["costs"]
    assert costs["wages"] == pytest.approx(248_000, abs=0.01)
    assert costs["material"] == pytest.approx(155_000, abs=0.01)
    assert costs["layoff"] == pytest.approx(7_708.33, abs=0.01)
    assert costs["holding"] == pytest.approx(10_233.33, abs=0.01)
    assert plan.kpis["chain"]["penalties"]["backlog_penalty"] == pytest.approx(1_333.33, abs=0.01)


def test_red_tomato_default_funding_gap_charge_is_visible():
    """Issue 17: the instance sets cash.funding_gap_rate: 0, so it keeps its published optimum and
    carries no warning; without the cash section the default charge changes the objective and the
    plan's warnings say so."""
    _, plan = solve(instance("red_tomato"))
    assert plan.objective == pytest.approx(422_275, abs=0.01)
    assert not [w for w in plan.warnings if w.path == "cash.funding_gap_rate"]
    data = instance("red_tomato")
    del data["cash"]
    _, plan = solve(data)
    assert plan.objective > 422_275 + 1
    assert [w.severity for w in plan.warnings if w.path == "cash.funding_gap_rate"] == ["warning"]


def test_red_tomato_tools_integer_workforce():
    """Same source: hiring and layoffs in whole workers give an optimal cost of $422,660."""
    data = instance("red_tomato")
    data["sites"][0]["production"]["workforce"]["integer"] = True
    _, plan = solve(data)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(422_660, abs=0.01)
    workforce = plan.tables["capacity"]["workforce"].to_numpy()
    np.testing.assert_array_equal(workforce, np.round(workforce))


def test_red_tomato_tools_higher_seasonality():
    """Same source, the variant with demand 1000, 3000, 3800, 4800, 2000, 1400: cost $432,858.33."""
    data = instance("red_tomato")
    data["demand"][0]["quantity"] = [1000, 3000, 3800, 4800, 2000, 1400]
    _, plan = solve(data)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(432_858.33, abs=0.01)


def test_wagner_whitin_1958():
    """Wagner & Whitin (1958), Management Science 5(1):89-96, numerical example: minimum cost 864,
    producing in months 1, 3, 5, 8, 10, 11 lots of 98, 97, 121, 112, 67, 135."""
    _, plan = solve(instance("wagner_whitin"))
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(864, abs=1e-6)
    prod = plan.tables["production"].sort_values("period")
    np.testing.assert_allclose(
        prod["production"].to_numpy(), [98, 0, 97, 0, 121, 0, 0, 112, 0, 67, 135, 0], atol=1e-6
    )
    assert prod["setup"].tolist() == [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0]


def test_silver_pyke_peterson_lot_sizing():
    """Silver, Pyke & Peterson, Inventory Management and Production Planning and Scheduling
    (3rd ed., 1998), ch. 6 numerical example: A = $54, h = $0.40/unit/period; Wagner-Whitin
    optimum $501.20 ordering in periods 1, 4, 5, 7, 9, 10, 11."""
    data = instance("wagner_whitin")
    data["name"] = "silver-pyke-peterson"
    data["sites"][0]["holding_cost"] = 0.4
    data["sites"][0]["production"]["setup_cost"] = 54
    data["demand"][0]["quantity"] = [10, 62, 12, 130, 154, 129, 88, 52, 124, 160, 238, 41]
    _, plan = solve(data)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(501.20, abs=1e-6)
    prod = plan.tables["production"].sort_values("period")
    np.testing.assert_allclose(
        prod["production"].to_numpy(), [84, 0, 0, 130, 283, 0, 140, 0, 124, 160, 279, 0], atol=1e-6
    )


def test_sailco():
    """Winston, Operations Research: Applications and Algorithms, sec. 3.10 (Sailco): optimal
    cost $78,450 with regular production 40, 40, 40, 25 and overtime 0, 10, 35, 0."""
    _, plan = solve(instance("sailco"))
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(78_450, abs=1e-6)
    np.testing.assert_allclose(_series(plan.tables["production"], "production"), [40, 50, 75, 25], atol=1e-6)
    np.testing.assert_allclose(_series(plan.tables["capacity"], "overtime"), [0, 10, 35, 0], atol=1e-6)
    np.testing.assert_allclose(_series(plan.tables["inventory"], "inventory"), [10, 0, 0, 0], atol=1e-6)


def test_lot_sizing_beats_lot_for_lot_baseline():
    """The optimal lot-sizing plan costs no more than lot-for-lot (a setup every month, no stock),
    the simple baseline: for Wagner-Whitin's data that is the sum of the twelve setup costs."""
    data = instance("wagner_whitin")
    _, plan = solve(data)
    lot_for_lot = sum(data["sites"][0]["production"]["setup_cost"])
    assert plan.objective <= lot_for_lot
    assert lot_for_lot == 1234
