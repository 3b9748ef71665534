"""Plans that cannot meet demand still come back; infeasible scenarios come back diagnosed."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import highspy
import pytest

from conftest import INSTANCES, example, instance, solve
from planning.data import compile_data
from planning.iis_child import load_lp
from planning.model import build_model
from planning.solve import compile_model, iis_diagnosis, isolated_iis
from scenarios.io import parse_scenario
from test_shelf_life import perishable_chain, plant_to_store

ROOT = Path(__file__).resolve().parents[1]


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


def _perishable_targets(on_lane: bool) -> dict:
    """Life 1, nothing to sell, and a hard safety stock of 10 in both periods plus 10 at the end
    at the site holding A; A can be made only in period 0 (3 hours a unit, 30 hours). Holding
    period 0's 10 units to the end of period 1 breaks the life by 10 units (one row); meeting
    the targets otherwise needs 10 more units made in period 1 (30 hours over capacity) or the
    safety stock and the ending target both lowered by 10 (20). ``on_lane``: the stock is at a
    store fed by a lane of lead 0 (stock tracked by age); else at the plant itself (the one-row
    bound)."""
    data = plant_to_store(1)
    data["time"]["periods"] = 2
    data["lanes"][0].update({"lead_time": 0, "capacity": None})
    data["sites"][0]["production"] = {"material_cost": 1, "hours_per_unit": 3, "regular_capacity": [30, 0]}
    data["demand"][0]["quantity"] = [0, 0]
    data["safety_stock"] = {"mode": "hard"}
    holder = data["sites"][1] if on_lane else data["sites"][0]
    holder["products"][0].update({"safety_stock": 10, "ending_inventory": 10})
    if not on_lane:
        data["lanes"] = []
        data["sites"].pop(1)
        data["demand"][0]["site"] = "plant"
        data["service"][0]["site"] = "plant"
    return data


@pytest.mark.parametrize("on_lane", [True, False])
def test_an_infeasible_perishable_plan_names_the_shelf_life_rows(on_lane):
    """Seen to fail with shelf_life not elastic: the diagnosis then lowers the safety stock in
    period 1 and the ending target by 10 each."""
    _, plan = solve(_perishable_targets(on_lane))
    assert plan.status == "infeasible"
    site = "store" if on_lane else "plant"
    assert plan.diagnosis["relaxation"] == [{"constraint": f"shelf_life[{site},A,1]", "violation": pytest.approx(10)}]
    assert plan.diagnosis["families"] == {"shelf_life": 1}


def test_an_iis_that_crashes_highs_does_not_take_the_process_down():
    """tests/instances/iis_crash.npz is a real structural conflict: the perishable chain
    (test_shelf_life.perishable_chain) under the former one-row shelf-life bound, with waste
    held at 0, so aged opening stock has nowhere to go. HiGHS 1.15.1's getIis dies on it with a
    segmentation fault (the child run directly below shows it). isolated_iis runs it in a child
    process and says so. Seen to fail (pytest itself killed by SIGSEGV) with getIis called in
    this process, as _iis did before."""
    path = INSTANCES / "iis_crash.npz"
    direct = subprocess.run([sys.executable, str(ROOT / "planning" / "iis_child.py"), str(path)],
                            capture_output=True, text=True, timeout=300)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(load_lp(str(path)))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    found = isolated_iis(h)
    if direct.returncode < 0:  # HiGHS crashes on it (1.15.1 does)
        assert "error" in found and "HiGHS crashed computing the IIS (signal SIGSEGV)" in found["error"]
    else:  # a HiGHS that no longer crashes: the IIS comes back
        assert found["rows"]


def _without_waste(data: dict):
    """The model and a solved HiGHS of ``data`` with every waste variable held at 0."""
    scenario, _ = parse_scenario(copy.deepcopy(data))
    m = build_model(compile_data(scenario))
    for v in m.waste.values():
        v.setub(0)
    cm = compile_model(m)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(cm.lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    return h, cm


def test_a_structural_conflict_gets_its_iis_from_the_child():
    """plant_to_store (life 1) with 10 units at the store, one period old, and no waste allowed:
    they may not be held and nobody buys them in period 0. The IIS, computed in the child
    process, names the stock balances and the rows that hold the aged stock."""
    data = plant_to_store(1)
    data["sites"][1]["products"][0].update({"opening_inventory": 10, "opening_age": 1})
    h, cm = _without_waste(data)
    diag = iis_diagnosis(h, cm)
    assert diag["method"] == "HiGHS IIS"
    assert {"inventory_balance", "shelf_life", "stock_age_balance"} <= set(diag["families"]), diag
    assert "shelf_life[store,A,0]" in diag["constraints"]
    assert all(name.split("[")[0] in diag["families"] for name in diag["constraints"])


def test_a_real_plan_whose_iis_crashes_highs_is_still_diagnosed():
    """The perishable chain with no waste allowed (aged opening stock at the DC has nowhere to
    go): HiGHS 1.15.1's getIis crashes on it too, and the diagnosis says so."""
    h, cm = _without_waste(perishable_chain())
    diag = iis_diagnosis(h, cm)
    assert diag["method"] == "HiGHS IIS"
    assert diag["families"] or "HiGHS crashed computing the IIS" in diag["note"], diag
