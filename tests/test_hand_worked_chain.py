"""A three-tier chain small enough to solve by hand; the solver's plan must equal the hand plan.

Instance (every number is a literal in :func:`chain` below), one product ``w``, 4 periods:

    plant (maker) --lane pd, lead 1, cost 2/unit--> dc (maker) --lane ds, lead 0, cost 1/unit--> store (shop)

- plant: regular capacity 100 units/period, material 10/unit; holding plant 0.5, dc 1.0,
  store 1.5 per unit per period (on closing stock); store opens with 40 units.
- demand at the store 40, 60, 130, 150 at price 30; lost sales, penalty 2/unit.
- transfer price maker -> shop 20/unit on lane ds; own-fleet lanes (the shipper pays the cost).
- maker: collection lag 1, payment lag 1, opening cash 2000; shop: collection lag 1, payment lag
  0, opening cash 1000; min cash 0, soft, funding-gap rate 0.01.

Hand solution. A unit made in t can reach the store no earlier than t + 1 (lead 1 then 0); its
margin made-and-sold is 30 - 10 - 2 - 1 = 17 (+2 lost-sale penalty avoided), each period it
waits costs 0.5 at the plant, 1 at the dc, 1.5 at the store, so stock waits at the plant.
- t = 0: demand 40 is met from the store's opening 40 (holding it would only cost 1.5/period).
- Production in t = 3 could not arrive in the horizon: 0.  Capacity 100 binds in t = 0, 1, 2
  (every unit earns 17 - at most 1.0 holding > 0) and 300 units can be sold in t = 1..3
  against demand 340, so 40 units are lost in t = 3 (the latest sales: selling earlier saves
  holding).
- Sales t = 1, 2, 3: 60, 130, 110.  t = 1's 60 come from t = 0's production; t = 2 needs 130 >
  100, so 30 of t = 0's production wait one period at the plant; t = 3's 110 = t = 2's 100 + 10
  of t = 0's production that wait two periods.
- production 100, 100, 100, 0; plant stock 40, 10, 0, 0; shipments plant->dc 60, 130, 110, 0
  arriving 1, 2, 3 (4); dc->store 0, 60, 130, 110; dc and store stock 0 after period 0;
  sales 40, 60, 130, 110; lost 0, 0, 0, 40.

Objective (maximize profit):
    revenue 340 x 30 = 10200; material 300 x 10 = 3000; lane pd 300 x 2 = 600;
    lane ds 300 x 1 = 300; holding 0.5 x (40 + 10) = 25; lost-sale penalty 40 x 2 = 80;
    profit = 10200 - 3000 - 600 - 300 - 25 - 80 = 6195.

Cash (settled = incurred + lag; the store's opening stock was already paid for):
    maker: t0 -20 (holding); t1 -1000 material -120 lane pd -5 holding = -1125;
           t2 -1000 -260 -60 lane ds +1200 transfer = -120; t3 -1000 -220 -130 +2600 = +1250
           closing 1980, 855, 735, 1985
    shop:  t0 0; t1 +1200 (40 x 30); t2 +1800 - 1200 = +600; t3 +3900 - 2600 = +1300
           closing 1000, 2200, 2800, 4100

Deliberate errors this module catches, checked: each was applied to planning/data.py or
planning/model.py in the working tree, the tests run, the change reverted (2026-12-02). Failing
tests of this module:
- every consumer price x 1.1 (data.py ``price``): test_objective_and_kpis_by_hand,
  test_cash_by_hand;
- every lane lead time + 1 (data.py ``lane_lead``): all five tests (the plan changes entirely);
- payment lag + 1 (data.py ``pay_lag``): test_cash_by_hand;
- collection lag + 1 (data.py ``settle``): test_cash_by_hand, test_objective_and_kpis_by_hand
  (the maker's cash goes below 0 and the funding gap is priced), test_independent_rechecks_agree;
- consumer revenue paid without its collection lag: test_cash_by_hand;
- transfer price x 1.1: test_cash_by_hand, test_objective_and_kpis_by_hand (maker's revenue);
- material cost sign flipped (``material`` stream +1): all five (production in t = 3 pays);
- holding cost sign flipped: four of five (all but the binding check);
- production capacity ignored (``production_capacity`` family not added): all five.
tests/test_balances.py catches these on the bundled examples too, and the dropped limits.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import solve
from plan_checks import inventory_residuals, limit_violations, recompute_cash, recompute_kpis

EXACT = 1e-6


def chain() -> dict:
    return {
        "name": "hand-worked",
        "objective": "maximize_profit",
        "time": {"freq": "monthly", "periods": 4, "start": "2027-01-01"},
        "products": [{"id": "w"}],
        "partners": [
            {"id": "maker", "role": "manufacturer", "opening_cash": 2000,
             "payment_terms": {"collection_lag": 1, "payment_lag": 1}},
            {"id": "shop", "role": "retailer", "opening_cash": 1000,
             "payment_terms": {"collection_lag": 1, "payment_lag": 0}},
        ],
        "sites": [
            {"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0.5,
             "production": {"material_cost": 10, "regular_capacity": 100}},
            {"id": "dc", "partner": "maker", "kind": "dc", "holding_cost": 1.0},
            {"id": "store", "partner": "shop", "kind": "store", "holding_cost": 1.5,
             "products": [{"product": "w", "opening_inventory": 40}]},
        ],
        "lanes": [
            {"id": "pd", "origin": "plant", "destination": "dc", "lead_time": 1, "cost_per_unit": 2},
            {"id": "ds", "origin": "dc", "destination": "store", "lead_time": 0, "cost_per_unit": 1},
        ],
        "demand": [{"site": "store", "product": "w", "price": 30, "quantity": [40, 60, 130, 150]}],
        "service": [{"site": "store", "policy": "lost_sales", "lost_sale_penalty": 2}],
        "transfer_prices": [{"seller": "maker", "buyer": "shop", "price": 20}],
        "cash": {"mode": "soft", "funding_gap_rate": 0.01},
    }


@pytest.fixture(scope="module")
def solved():
    data = chain()
    _, plan = solve(data)
    return data, plan


def _series(df, column, **where):
    for k, v in where.items():
        df = df[df[k] == v]
    return df.sort_values("period")[column].to_numpy()


def test_plan_by_hand(solved):
    """Production, shipments, stock, sales and lost sales equal the hand solution."""
    _, plan = solved
    assert plan.status == "optimal"
    t = plan.tables
    np.testing.assert_allclose(_series(t["production"], "production"), [100, 100, 100, 0], atol=EXACT)
    np.testing.assert_allclose(_series(t["shipments"], "quantity", lane="pd"), [60, 130, 110, 0], atol=EXACT)
    np.testing.assert_allclose(_series(t["shipments"], "quantity", lane="ds"), [0, 60, 130, 110], atol=EXACT)
    np.testing.assert_allclose(_series(t["inventory"], "inventory", site="plant"), [40, 10, 0, 0], atol=EXACT)
    np.testing.assert_allclose(_series(t["inventory"], "inventory", site="dc"), [0, 0, 0, 0], atol=EXACT)
    np.testing.assert_allclose(_series(t["inventory"], "inventory", site="store"), [0, 0, 0, 0], atol=EXACT)
    np.testing.assert_allclose(_series(t["sales"], "sales"), [40, 60, 130, 110], atol=EXACT)
    np.testing.assert_allclose(_series(t["sales"], "lost_sales"), [0, 0, 0, 40], atol=EXACT)


def test_objective_and_kpis_by_hand(solved):
    """profit = 10200 - 3000 - 600 - 300 - 25 - 80 = 6195, kind by kind."""
    _, plan = solved
    assert plan.objective == pytest.approx(6195, abs=EXACT)
    chain_kpis = plan.kpis["chain"]
    assert chain_kpis["revenue"] == pytest.approx(10200, abs=EXACT)
    costs = {k: v for k, v in chain_kpis["costs"].items() if abs(v) > EXACT}
    assert costs == pytest.approx({"material": 3000, "transport": 900, "holding": 25}, abs=EXACT)
    assert chain_kpis["penalties"] == pytest.approx({"lost_sale_penalty": 80}, abs=EXACT)
    assert plan.kpis["partners"]["shop"]["revenue"] == pytest.approx(10200, abs=EXACT)
    assert plan.kpis["partners"]["shop"]["costs"] == pytest.approx({"purchases": 6000}, abs=EXACT)
    assert plan.kpis["partners"]["maker"]["revenue"] == pytest.approx(6000, abs=EXACT)


def test_cash_by_hand(solved):
    """Closing cash per period with the lags: maker 1980, 855, 735, 1985; shop 1000, 2200, 2800, 4100."""
    _, plan = solved
    cash = plan.tables["cash"]
    np.testing.assert_allclose(_series(cash, "closing_cash", partner="maker"), [1980, 855, 735, 1985], atol=EXACT)
    np.testing.assert_allclose(_series(cash, "closing_cash", partner="shop"), [1000, 2200, 2800, 4100], atol=EXACT)
    np.testing.assert_allclose(cash["funding_gap"].to_numpy(), 0, atol=EXACT)


def test_capacity_binds_where_the_hand_solution_says(solved):
    """production_capacity is at its limit in t = 0, 1, 2 (and only there)."""
    _, plan = solved
    binding = sorted(b["constraint"] for b in plan.binding)
    assert binding == [f"production_capacity[plant,{t}]" for t in range(3)]


def test_independent_rechecks_agree(solved):
    """The generic rechecks (tests/plan_checks.py) agree with the hand plan too."""
    data, plan = solved
    assert inventory_residuals(data, plan) < EXACT
    assert max(limit_violations(data, plan).values()) < EXACT
    cash = recompute_cash(data, plan)
    np.testing.assert_allclose(cash["maker"], [1980, 855, 735, 1985], atol=EXACT)
    assert recompute_kpis(data, plan)["objective"] == pytest.approx(6195, abs=EXACT)
