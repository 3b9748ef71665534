"""Conservation and limits: every balance and every limit recomputed from the scenario itself.

Prices, costs, lags, lead times and limits are read from the scenario as plain data (the
YAML/dict, see ``tests/plan_checks.py``), never from ``planning.data`` nor from the plan's own
price/arrival/limit columns; only the plan's quantities are taken from the plan. So a model that
reads the scenario wrongly fails here even when its plan is internally consistent:

- arrivals: ``arrival = ship period + lane.lead_time`` of the scenario's lane;
- revenue: ``sales x demand.price`` of the scenario; costs from the scenario's cost fields;
- cash: opening cash + every movement settled ``lag`` periods after it is incurred;
- limits: every capacity/bound field of the schema (see ``plan_checks.limit_violations``).

Cases: the two bundled examples, the three textbook instances (regular capacity without a
workforce, minimize_cost, setups), and ``small_mip`` — a small chain with setups, whole workers,
workforce bounds, overtime and storage limits that bind, lane product restrictions, opening
backlog, trade terms and hard safety stock, solved as a MIP in one to three seconds so the MIP
path is in the default suite.

Mutation check (2026-12-02: each error put into planning/data.py or planning/model.py, the
default suite of this module, the hand-worked chain, the textbook and the infeasibility tests
run, the error reverted). Before this module was rewritten, "every consumer price x 1.1" and
"every lead time + 1" failed none of them; now each error below fails at least the tests named:
- consumer price x 1.1: sales price, revenue/profit and cash rechecks (4 cases each);
- lane lead time + 1: arrivals and inventory balance (3 cases with lanes);
- payment lag + 1, collection lag + 1, transfer price x 1.1: the cash recheck;
- material or holding cost sign flipped: cash, revenue/profit rechecks, profit = objective;
- a constraint family dropped (production capacity, overtime, subcontracting, setup link, lane
  capacity, storage capacity, safety stock, ending inventory, workforce bounds, workforce
  ending minimum, backlog clearance, minimum cash): test_every_limit_of_the_scenario_holds on at
  least one case (small_mip exists so that overtime, storage and workforce limits bind).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from conftest import example, instance, solve
from plan_checks import (
    TOL,
    arr,
    consumer_price,
    inventory_residuals,
    lane_arrival,
    limit_violations,
    recompute_cash,
    recompute_kpis,
)
from planning.synthetic import synthetic_chain
from test_shelf_life import perishable_chain


def small_mip() -> dict:
    """synthetic_chain(2 products, 1 plant, 1 DC, 2 stores, 6 weeks) with every integer feature
    and most limits switched on."""
    data = synthetic_chain(2, 1, 1, 2, 6, seed=5)
    plant, dc, north, south = data["sites"]
    prod = plant["production"]
    prod["setup_cost"] = {"p000": 400.0, "p001": 250.0}
    # limits chosen to bind: 3 workers in period 0 (min = max), at least 1 later (binds in 1-4),
    # 3 at the end; cheap overtime up to 20 hours in total and 8 per worker; the DC holds 80
    prod["workforce"].update({"integer": True, "min_workers": [3, 1, 1, 1, 1, 1], "max_workers": [3, 2, 2, 2, 2, 4],
                              "ending_min": 3})
    prod["overtime"].update({"cost": 2.0, "max_total": 20.0})
    dc["storage_capacity"] = 80.0
    dc["products"][0].update({"ending_inventory": 20.0})
    north["products"][0]["opening_backlog"] = 15.0
    data["lanes"][2]["products"] = ["p000"]  # dc00-store001 carries p000 only
    data["demand"] = [d for d in data["demand"] if not (d["site"] == "store001" and d["product"] == "p001")]
    south["products"] = [south["products"][0]]
    data["trade_terms"] = [{"seller": "wholesale", "buyer": "shops", "lag": 2}]
    data["partners"][3].update({"fixed_cost": 300.0, "opening_receivables": [500.0, 200.0]})
    data["partners"][0]["opening_payables"] = [1000.0]
    data["safety_stock"] = {"mode": "hard"}
    data["solver"] = {"mip_gap": 1e-6}
    return data


def _interior_point(data: dict) -> dict:
    """The same scenario solved by HiGHS's interior point (then crossover) instead of simplex."""
    return {**data, "solver": {**data.get("solver", {}), "lp_method": "ipm"}}


CASES = {
    "small_chain": lambda: example("small_chain"),
    "medium_chain": lambda: example("medium_chain"),
    "medium_chain_ipm": lambda: _interior_point(example("medium_chain")),
    "red_tomato": lambda: instance("red_tomato"),
    "sailco": lambda: instance("sailco"),
    "wagner_whitin": lambda: instance("wagner_whitin"),
    "small_mip": small_mip,
    "prod_mod": lambda: instance("prod_mod"),  # perishable (shelf life 2)
    "perishable_chain": perishable_chain,  # perishable with lanes, lead times, waste scrapped at a cost
}


def _synthetic_mip() -> dict:
    data = synthetic_chain(3, 1, 2, 4, 12, seed=5)
    for site in data["sites"]:
        if site.get("production"):
            site["production"]["setup_cost"] = 400.0
            site["production"]["workforce"]["integer"] = True
    data["solver"] = {"mip_gap": 1e-6}
    return data


SLOW_CASES = {
    "synthetic": lambda: synthetic_chain(6, 2, 3, 12, 26, seed=3),
    "synthetic_mip": _synthetic_mip,
}


@functools.lru_cache(maxsize=None)
def solved_case(name: str):
    data = {**CASES, **SLOW_CASES}[name]()
    scenario, plan = solve(data)
    assert plan.status == "optimal"
    return data, scenario, plan


@pytest.fixture(params=[*CASES, *(pytest.param(k, marks=pytest.mark.slow) for k in SLOW_CASES)])
def solved(request):
    return solved_case(request.param)


def test_small_mip_is_a_mip_with_runs_and_whole_workers():
    """The small_mip case goes down the MIP path (binary runs, some on and some off, whole
    workers) and its limits bind, so dropping one of them changes the plan and the limit
    recheck above sees the violation."""
    _, _, plan = solved_case("small_mip")
    assert plan.tables["production"]["setup"].isin([0, 1]).all()
    w = plan.tables["capacity"].sort_values("period")["workforce"].to_numpy()
    np.testing.assert_array_equal(w, np.round(w))
    np.testing.assert_allclose(w[:5], [3, 1, 1, 1, 1])  # max, then min_workers bind
    families = {b["family"] for b in plan.binding}
    assert {"production_capacity", "overtime_limit", "storage_capacity", "workforce_ending"} <= families
    assert 0 < plan.tables["production"]["setup"].sum() < len(plan.tables["production"])
    assert plan.mip_gap is not None and plan.mip_gap <= 1e-6


def test_arrivals_follow_the_scenario_lead_times(solved):
    """arrival_period = period + lead_time of the scenario's lane, for every shipment row."""
    data, _, plan = solved
    ship = plan.tables["shipments"]
    if not len(ship):
        pytest.skip("no lanes")
    expected = [lane_arrival(data, r.lane, r.period) for r in ship.itertuples(index=False)]
    assert ship["arrival_period"].tolist() == expected


def test_inventory_flow_balance(solved):
    """inv[t] = inv[t-1] + made + bought + arrivals(t - lead) - departures - sales, with the
    lead times and opening stock of the scenario."""
    data, _, plan = solved
    assert inventory_residuals(data, plan) < TOL


def test_every_limit_of_the_scenario_holds(solved):
    """Every limit field of the schema, rechecked from the scenario against the plan."""
    data, _, plan = solved
    violations = limit_violations(data, plan)
    assert violations  # the checks ran
    assert {k: x for k, x in violations.items() if x > TOL} == {}


def test_sales_table_carries_the_scenario_demand_and_price(solved):
    """demand and price columns equal the scenario's; revenue = sales x the scenario's price."""
    data, s, plan = solved
    sales = plan.tables["sales"]
    T = s.time.periods
    for (site, product), g in sales.groupby(["site", "product"]):
        g = g.sort_values("period")
        d = next(x for x in data["demand"] if x["site"] == site and x["product"] == product)
        price = consumer_price(data, site, product)
        np.testing.assert_allclose(g["demand"].to_numpy(), arr(d["quantity"], T), rtol=0, atol=TOL)
        np.testing.assert_allclose(g["price"].to_numpy(), price, rtol=0, atol=TOL)
        np.testing.assert_allclose(g["revenue"].to_numpy(), g["sales"].to_numpy() * price, rtol=1e-12, atol=TOL)


def test_cash_balance_recomputed_from_scenario(solved):
    """closing_cash[a,t] = opening + movements settled by t, priced and lagged from the scenario."""
    data, _, plan = solved
    expected = recompute_cash(data, plan)
    cash = plan.tables["cash"]
    for a, series in expected.items():
        got = cash[cash["partner"] == a].sort_values("period")["closing_cash"].to_numpy()
        assert np.abs(got - series).max() < TOL * max(1.0, np.abs(series).max()), a


def test_revenue_costs_and_profit_recomputed_from_scenario(solved):
    """Chain revenue = sum sales x price; each cost kind from the scenario's cost fields; profit
    and the objective (profit, or revenue - profit for minimize_cost) from those."""
    data, _, plan = solved
    mine = recompute_kpis(data, plan)
    chain = plan.kpis["chain"]
    scale = max(1.0, abs(mine["chain"]["revenue"]), sum(mine["chain"]["costs"].values()))
    assert chain["revenue"] == pytest.approx(mine["chain"]["revenue"], abs=TOL * scale)
    for kind in set(chain["costs"]) | set(mine["chain"]["costs"]):
        assert chain["costs"].get(kind, 0.0) == pytest.approx(mine["chain"]["costs"].get(kind, 0.0), abs=TOL * scale), kind
    for kind in set(chain["penalties"]) | set(mine["chain"]["penalties"]):
        assert chain["penalties"].get(kind, 0.0) == pytest.approx(mine["chain"]["penalties"].get(kind, 0.0), abs=TOL * scale), kind
    for a, k in mine["partners"].items():
        assert plan.kpis["partners"][a]["revenue"] == pytest.approx(k["revenue"], abs=TOL * scale), a
        assert plan.kpis["partners"][a]["profit"] == pytest.approx(k["profit"], abs=TOL * scale), a
    assert plan.objective == pytest.approx(mine["objective"], abs=TOL * scale)


def test_cash_table_adds_up(solved):
    _, _, plan = solved
    c = plan.tables["cash"]
    residual = c["opening_cash"] + c["inflows"] - c["outflows"] + c["other_flows"] - c["closing_cash"]
    assert residual.abs().max() < TOL * max(1.0, c["closing_cash"].abs().max())


def test_profit_kpis_match_objective(solved):
    data, _, plan = solved
    chain = plan.kpis["chain"]
    if data.get("objective") == "minimize_cost":
        assert chain["revenue"] - chain["profit"] == pytest.approx(plan.objective, rel=1e-9, abs=1e-6)
    else:
        assert chain["profit"] == pytest.approx(plan.objective, rel=1e-9, abs=1e-6)
    assert sum(p["profit"] for p in plan.kpis["partners"].values()) == pytest.approx(chain["profit"], rel=1e-9)
