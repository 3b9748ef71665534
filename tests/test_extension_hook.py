"""Another module adds variables and constraints through the extension hook, without editing
planning/: here a revolving overdraft per partner, cheaper than the funding-gap penalty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from conftest import example
from planning.plan import plan_scenario
from scenarios.io import parse_scenario


class Overdraft:
    """balance[a,t] <= limit; cash in t: balance[t] - (1 + rate) * balance[t-1]; cost rate*balance."""

    name = "overdraft"

    def __init__(self, limit: float, rate: float):
        self.limit, self.rate = limit, rate

    def declare(self, m, d):
        m.overdraft = pyo.Var([(a, t) for a in d.partners for t in range(d.T)], bounds=(0, self.limit))

    def cash_terms(self, m, d):
        for a in d.partners:
            for t in range(d.T):
                yield a, t, 1.0, m.overdraft[a, t]
                if t > 0:
                    yield a, t, -(1.0 + self.rate), m.overdraft[a, t - 1]

    def add_constraints(self, m, d):
        # repaid by the end of the horizon
        m.overdraft_repaid = pyo.Constraint(d.partners, rule=lambda _m, a: _m.overdraft[a, d.T - 1] <= 0)

    def objective_terms(self, m, d):
        for a in d.partners:
            for t in range(d.T - 1):
                yield -self.rate, m.overdraft[a, t]

    def read_solution(self, m, d):
        rows = [{"partner": a, "period": t, "balance": pyo.value(m.overdraft[a, t])} for a in d.partners for t in range(d.T)]
        return {"overdraft": pd.DataFrame(rows)}


def test_extension_replaces_expensive_funding_gap():
    scenario, _ = parse_scenario(example("small_chain"))
    base = plan_scenario(scenario)
    ext = Overdraft(limit=200_000, rate=0.005)  # cheaper than the 1.5 % funding-gap rate
    plan = plan_scenario(scenario, extensions=[ext])
    assert base.status == plan.status == "optimal"
    assert base.kpis["chain"]["total_funding_gap"] > 1000
    assert plan.kpis["chain"]["total_funding_gap"] < 1e-6
    od = plan.tables["overdraft"]
    assert od["balance"].max() > 1000
    assert plan.objective > base.objective  # cheaper money, more profit
    assert plan.kpis["chain"]["profit"] == pytest.approx(plan.objective, rel=1e-9)
    assert plan.kpis["chain"]["extensions"]["overdraft"] < 0
    # the cash table still adds up with the extension's flows
    c = plan.tables["cash"]
    residual = c["opening_cash"] + c["inflows"] - c["outflows"] + c["other_flows"] - c["closing_cash"]
    assert residual.abs().max() < 1e-6
    # other_flows are exactly the overdraft's cash movements
    for a in scenario.partners:
        bal = od[od["partner"] == a.id].sort_values("period")["balance"].to_numpy()
        expected = bal - (1 + ext.rate) * np.concatenate([[0.0], bal[:-1]])
        got = c[c["partner"] == a.id].sort_values("period")["other_flows"].to_numpy()
        np.testing.assert_allclose(got, expected, atol=1e-6)
