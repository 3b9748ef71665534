"""The instrument formulation is the same code the joint mode will use: here it is plugged into
the planning model through the extension hook (revolvers only, no collateral), with no change to
planning/."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from conftest import example
from finance.formulation import InstrumentModel, PartnerInputs
from planning.plan import plan_scenario
from scenarios.finance import parse_finance_spec
from scenarios.io import parse_scenario


class InstrumentsAsExtension:
    name = "finance"

    def __init__(self, spec):
        self.spec = spec

    def _fm(self, d):
        if not hasattr(self, "fm"):
            zeros = [0.0] * d.T
            inputs = {a: PartnerInputs(a, zeros, zeros, np.ones(d.T)) for a in d.partners}
            self.fm = InstrumentModel(self.spec.partners, inputs, d.T)
        return self.fm

    def declare(self, m, d):
        m.finance = pyo.Block()
        self._fm(d).declare(m.finance)

    def cash_terms(self, m, d):
        yield from self._fm(d).cash_terms(m.finance)

    def add_constraints(self, m, d):
        self._fm(d).add_constraints(m.finance)

    def objective_terms(self, m, d):
        for c, v in self._fm(d).cost_terms(m.finance):
            yield -c, v

    def read_solution(self, m, d):
        return {"financing": self._fm(d).read(m.finance)}


def test_revolvers_inside_the_plan_replace_the_funding_gap():
    """small_chain prices a funding gap at 1.5 % a period; a 0.5 % revolver for every partner
    (limit 200,000, repaid by the end) removes the gap and raises chain profit. The plan's cash
    table adds up with the instruments' flows."""
    scenario, _ = parse_scenario(example("small_chain"))
    base = plan_scenario(scenario)
    spec = parse_finance_spec({"partners": [
        {"partner": a.id, "instruments": [{"id": "rcf", "type": "revolver", "limit": 200_000, "rate": 0.005}]}
        for a in scenario.partners
    ]})
    plan = plan_scenario(scenario, extensions=[InstrumentsAsExtension(spec)])
    assert base.status == plan.status == "optimal"
    assert base.kpis["chain"]["total_funding_gap"] > 1000
    assert plan.kpis["chain"]["total_funding_gap"] < 1e-6
    assert plan.objective > base.objective
    assert plan.kpis["chain"]["profit"] == pytest.approx(plan.objective, rel=1e-9)
    fin = plan.tables["financing"]
    assert fin["closing_balance"].max() > 1000
    assert fin.groupby("instrument")["closing_balance"].last().abs().max() < 1e-6
    c = plan.tables["cash"]
    residual = c["opening_cash"] + c["inflows"] - c["outflows"] + c["other_flows"] - c["closing_cash"]
    assert residual.abs().max() < 1e-6
    # other_flows are exactly the instruments' net cash
    net = (fin["inflow"] - fin["outflow"] - fin["interest"] - fin["fees"]).groupby([fin["partner"], fin["period"]]).sum()
    got = c.set_index(["partner", "period"])["other_flows"]
    assert np.allclose(got.loc[net.index].to_numpy(), net.to_numpy(), atol=1e-6)
