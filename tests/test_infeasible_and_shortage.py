"""Plans that cannot meet demand still come back; infeasible scenarios come back diagnosed."""

from __future__ import annotations

import pytest

from conftest import example, instance, solve


def test_capacity_shortage_returns_plan_with_unmet_demand_and_binding_limits():
    data = example("small_chain")
    data["sites"][0]["production"]["workforce"]["max_workers"] = 6
    data["sites"][0]["production"].pop("subcontracting")
    _, plan = solve(data)
    assert plan.status == "optimal"
    assert plan.kpis["chain"]["unmet_demand"] > 1000
    assert plan.kpis["chain"]["fill_rate"] < 0.9
    families = {b["family"] for b in plan.binding}
    assert "production_capacity" in families
    assert all(b["shadow_price"] != 0 for b in plan.binding)


def test_hard_minimum_cash_that_cannot_be_met_is_diagnosed():
    data = example("small_chain")
    data["cash"] = {"mode": "hard"}
    _, plan = solve(data)
    assert plan.status == "infeasible"
    assert plan.tables == {}
    diag = plan.diagnosis
    assert "minimum_cash" in diag["families"]
    assert any(c.startswith("minimum_cash[maker,") for c in diag["constraints"])
    assert all(r["violation"] > 0 for r in diag["relaxation"])


def test_impossible_ending_target_is_named_with_the_shortfall():
    data = example("small_chain")
    data["sites"][1]["products"][0]["ending_inventory"] = 1_000_000  # DC holds at most 8,000
    _, plan = solve(data)
    assert plan.status == "infeasible"
    relax = {r["constraint"]: r["violation"] for r in plan.diagnosis["relaxation"]}
    assert "ending_inventory[dc,widget]" in relax
    assert relax["ending_inventory[dc,widget]"] >= 1_000_000 - 8_000 - 1e-6


def test_diagnosed_relaxation_is_the_least_movement():
    """Sailco with overtime capped at 20 a quarter and 125 boats due in quarter 4: the yard can
    make at most 4 x 60 = 240 boats plus its 10 in stock, 50 fewer than the 300 demanded, so
    some limit must move by 50 units in total (capacity, overtime or the backlog at the end)."""
    data = instance("sailco")
    data["sites"][0]["production"]["overtime"]["max_total"] = 20
    data["demand"][0]["quantity"] = [40, 60, 75, 125]
    _, plan = solve(data)
    assert plan.status == "infeasible"
    assert sum(r["violation"] for r in plan.diagnosis["relaxation"]) == pytest.approx(50, abs=1e-6)
    data["demand"][0]["quantity"] = [40, 60, 75, 75]
    _, feasible = solve(data)
    assert feasible.status == "optimal"


def test_infeasible_mip_is_diagnosed_too():
    data = instance("red_tomato")
    data["sites"][0]["production"]["workforce"].update({"integer": True, "max_workers": 10})
    data["sites"][0]["production"].pop("subcontracting")
    _, plan = solve(data)
    assert plan.status == "infeasible"
    assert "backlog_clearance" in plan.diagnosis["families"] or "ending_inventory" in plan.diagnosis["families"]
