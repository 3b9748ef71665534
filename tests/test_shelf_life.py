"""Perishable stock: shelf life, waste and its validation.

Model (docs/shelf-life.md): a unit's age runs from when it entered the chain (made, bought in,
or opening stock at -opening_age); transit and every site count. At a stock point on no lane of
the product, stock at the end of t is at most what entered in t-L+1 .. t; on lanes, stock and
shipments are tracked by entry cohort. What cannot stay is scrapped (``waste``) at the
product's ``scrap_cost``.

Checked against the outside world:
- prod.mod (Fourer, Gay & Kernighan 1990), the file GLPK ships as an example (Debian
  glpk-utils 5.0-1: /usr/share/doc/glpk-utils/examples/prod.mod, model and data in one file):
  glpsol 5.0 solves it to 4,428,412.468 with its life of 2 periods, and to 4,428,377.618 with
  life = 13 (no limit). The transcription is tests/instances/prod_mod.yaml (how each parameter
  maps is written there); it is planned here through the CLI, ``jointplan plan FILE``.
- a two-period case derived by hand below, and three chain cases: age carried across a lane
  (45, where the former bound, dating a shipment's age from when it left, gave 90), waiting at
  the plant and at a DC (90; the former bound 135) and the fresher unit shipped while the older
  one is sold (90);
- conservation and the ages recomputed from the plan's tables for a chain with lanes and lead
  times (plan_checks.age_violations).

Broken on purpose to see these fail: the shelf_life rows dropped (prod.mod gives the relaxed
4,428,377.62, the hand case 86 instead of 81); the window one period too long (``t - life``:
prod.mod fails); waste left out of inventory_balance (the hand case is infeasible: opening stock
that cannot stay has nowhere to go; on the chain HiGHS's IIS then crashed the process, see
test_infeasible_and_shortage); a lane allowed to deliver a unit one period past its life
(``arrive <= c + L_d + 1``: the plant-to-store case gives 90, and the chain's age check finds
1,173 units delivered past their life); the cohorts no longer tied to the stock (age_stock
rows dropped: the plant-to-store case sells in period 2, the chain's cohorts stop adding up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import INSTANCES, example, instance, solve
from plan_checks import age_tracked, age_violations, limit_violations
from scenarios.io import parse_scenario
from scenarios.validation import validate_scenario

ROOT = Path(__file__).resolve().parents[1]


def _cli_plan(path: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "jointplan", "plan", str(path), "--out", str(out)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())


def test_prod_mod_published_optimum_with_life_2_through_the_cli(tmp_path):
    """prod.mod's published optimum, life = 2: 4,428,412.47 (glpsol: 4428412.468), to the cent;
    without the life (products' shelf_life removed): the relaxed 4,428,377.62 (glpsol with
    life = 13: 4428377.618). No waste: prod.mod has no scrapping, and none is needed."""
    plan = _cli_plan(INSTANCES / "prod_mod.yaml", tmp_path / "plan.json")
    assert plan["status"] == "optimal"
    assert round(plan["objective"], 2) == 4_428_412.47
    assert plan["kpis"]["chain"]["waste_units"] == pytest.approx(0, abs=1e-6)
    # prod.mod's age limit, recomputed from the tables: stock at the end of t <= made in t-1 and t
    prod = {(r["product"], r["period"]): r["production"] for r in plan["tables"]["production"]}
    for r in plan["tables"]["inventory"]:
        made = prod[r["product"], r["period"]] + prod.get((r["product"], r["period"] - 1), 0.0)
        assert r["inventory"] <= made + 1e-6, r  # prod.mod's opening stock is netted out of demand

    data = instance("prod_mod")
    for p in data["products"]:
        del p["shelf_life"]
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text(yaml.safe_dump(data))
    plan = _cli_plan(relaxed, tmp_path / "relaxed.json")
    assert round(plan["objective"], 2) == 4_428_377.62


def _two_period(life: int | None, opening_age: int) -> dict:
    sp = {"product": "A", "opening_inventory": 6, "opening_age": opening_age}
    product = {"id": "A", "standard_cost": 3, "scrap_cost": 2}
    if life is not None:
        product["shelf_life"] = life
    return {
        "name": "two-period-perishable",
        "time": {"freq": "weekly", "periods": 2, "start": "2027-01-04"},
        "products": [product],
        "partners": [{"id": "maker", "role": "manufacturer"}],
        "sites": [{"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0.5,
                   "products": [sp],
                   "production": {"material_cost": 1, "regular_capacity": 10}}],
        "demand": [{"site": "plant", "product": "A", "quantity": [4, 5], "price": 10}],
        "service": [{"site": "plant", "policy": "lost_sales"}],
        "cash": {"mode": "soft", "funding_gap_rate": 0},
    }


def test_two_periods_by_hand():
    """One plant selling A: opening 6 units, demand 4 then 5 at price 10, capacity 10 a period at
    material 1, holding 0.5 a unit-period, scrap 2 a unit, standard cost 3; life L = 1.

    L = 1: a unit entering in t may be held at the end of t only. The opening stock is one
    period old (opening_age 1: it entered in period -1), so none of it may be held at the end
    of period 0: 4 are sold, 2 are scrapped (cost 4). Making units in period 0 to hold them
    costs 1 + 0.5 against 1 in period 1, so period 1 makes its 5. Profit = 10 x 9 - 5 x 1 - 2 x 2
    = 81; waste 2 units in period 0, cost 4, value 2 x 3 = 6.
    Opening stock two periods old (opening_age 2) was past its life before period 0: all 6 are
    scrapped (12), and 4 + 5 made: 90 - 9 - 12 = 69 (the code before sold 4 of them: 81).
    Opening stock of age 0 (as fresh as period 0's output) may be held to the end of period 0:
    2 kept (holding 1), 3 made in period 1: 90 - 1 - 3 = 86, the same as without a shelf life."""
    _, plan = solve(_two_period(1, opening_age=1))
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(81, abs=1e-6)
    waste = plan.tables["waste"]
    assert waste[["site", "product", "period"]].values.tolist() == [["plant", "A", 0], ["plant", "A", 1]]
    np.testing.assert_allclose(waste["units"], [2, 0], atol=1e-6)
    np.testing.assert_allclose(waste["cost"], [4, 0], atol=1e-6)
    chain = plan.kpis["chain"]
    assert chain["costs"]["scrap"] == pytest.approx(4, abs=1e-6)
    assert (chain["waste_units"], chain["waste_value"]) == pytest.approx((2, 6), abs=1e-6)
    assert plan.kpis["partners"]["maker"]["waste_units"] == pytest.approx(2, abs=1e-6)
    np.testing.assert_allclose(plan.tables["production"]["production"], [0, 5], atol=1e-6)

    site_life = _two_period(None, opening_age=1)  # the same life set at the site instead
    site_life["sites"][0]["products"][0]["shelf_life"] = 1
    _, plan = solve(site_life)
    assert plan.objective == pytest.approx(81, abs=1e-6)

    expired = _two_period(1, opening_age=2)  # past its life before period 0: scrapped, not sold
    _, plan = solve(expired)
    assert plan.objective == pytest.approx(90 - 9 * 1 - 6 * 2, abs=1e-6)  # 69: all 6 scrapped, 9 made
    np.testing.assert_allclose(plan.tables["waste"]["units"], [6, 0], atol=1e-6)
    assert {k: x for k, x in limit_violations(expired, plan).items() if x > 1e-6} == {}

    for life, age in ((1, 0), (None, 1)):
        _, plan = solve(_two_period(life, opening_age=age))
        assert plan.objective == pytest.approx(86, abs=1e-6), (life, age)
        assert plan.kpis["chain"]["waste_units"] == pytest.approx(0, abs=1e-6)


def perishable_chain() -> dict:
    """small_chain with both products perishable (life 2), scrapped at a cost, and opening stock
    at the DC two periods old and more than its lanes can carry away in period 0: waste is
    forced."""
    data = example("small_chain")
    for p in data["products"]:
        p["shelf_life"] = 2
        p["scrap_cost"] = 1.5
    dc = next(x for x in data["sites"] if x["id"] == "dc")
    for sp in dc["products"]:
        sp["opening_age"] = 2
        sp["opening_inventory"] = 10_000
    return data


def test_waste_is_reported_and_stock_is_conserved():
    """For every site, product and period, recomputed from the tables: opening (or last period's
    stock) + production + subcontracting + arrivals = sales + departures + ending stock + waste;
    over the horizon: production + opening + arrivals = sales + shipments + ending stock + waste.
    And the life itself, exactly: every site of the chain is on a lane, so its stock and
    shipments come by entry cohort, and plan_checks.age_violations recomputes them from the
    scenario's fields (no unit held, shipped or delivered past its life; cohorts conserved)."""
    data = perishable_chain()
    s, plan = solve(data)
    assert plan.status == "optimal"
    waste = plan.tables["waste"]
    assert waste["units"].sum() > 1, "aged opening stock at the DC must be scrapped"
    np.testing.assert_allclose(waste["cost"], waste["units"] * 1.5, atol=1e-9)
    by_partner = {a: k["waste_units"] for a, k in plan.kpis["partners"].items()}
    assert sum(by_partner.values()) == pytest.approx(plan.kpis["chain"]["waste_units"], abs=1e-6)
    assert plan.kpis["chain"]["costs"]["scrap"] == pytest.approx(waste["cost"].sum(), abs=1e-6)

    T = data["time"]["periods"]
    opening = {(x["id"], sp["product"]): sp.get("opening_inventory", 0.0)
               for x in data["sites"] for sp in x.get("products", [])}
    lead = {ln["id"]: ln.get("lead_time", 0) for ln in data["lanes"]}

    def flows(table, site_col, value):
        out = {}
        for r in plan.tables[table].to_dict("records"):
            out[r[site_col], r["product"], r["period"]] = out.get((r[site_col], r["product"], r["period"]), 0.0) + r[value]
        return out

    made = flows("production", "site", "production")
    bought = flows("production", "site", "subcontracting")
    sold = flows("sales", "site", "sales")
    stock = flows("inventory", "site", "inventory")
    wasted = flows("waste", "site", "units")
    out_, arrived = {}, {}
    for r in plan.tables["shipments"].to_dict("records"):
        k = (r["origin"], r["product"], r["period"])
        out_[k] = out_.get(k, 0.0) + r["quantity"]
        a = (r["destination"], r["product"], r["period"] + lead[r["lane"]])
        arrived[a] = arrived.get(a, 0.0) + r["quantity"]
    keys = {(x, p) for x, p, _ in stock}
    for x, p in keys:
        g = lambda m, t: m.get((x, p, t), 0.0)  # noqa: E731
        prev = opening.get((x, p), 0.0)
        for t in range(T):
            lhs = prev + g(made, t) + g(bought, t) + g(arrived, t)
            rhs = g(sold, t) + g(out_, t) + g(stock, t) + g(wasted, t)
            assert lhs == pytest.approx(rhs, abs=1e-6), (x, p, t)
            prev = g(stock, t)
        total_in = opening.get((x, p), 0.0) + sum(g(made, t) + g(bought, t) + g(arrived, t) for t in range(T))
        total_out = sum(g(sold, t) + g(out_, t) + g(wasted, t) for t in range(T)) + g(stock, T - 1)
        assert total_in == pytest.approx(total_out, abs=1e-6), (x, p)
    assert age_tracked(data) == keys
    assert len(plan.tables["stock_ages"]) and len(plan.tables["shipment_ages"])
    assert {k: x for k, x in age_violations(data, plan).items() if x > 1e-6} == {}


def plant_to_store(life: int) -> dict:
    """A plant that can make 10 units of A in period 0 only (material 1 a unit) and a store one
    period away (lane lead 1, at most 5 units a period) selling 5 in period 1 and 5 in period 2
    at 10; no holding cost, unsold demand lost."""
    return {
        "name": "plant-to-store",
        "time": {"freq": "weekly", "periods": 3, "start": "2027-01-04"},
        "products": [{"id": "A", "standard_cost": 1, "shelf_life": life}],
        "partners": [{"id": "maker", "role": "manufacturer"}],
        "sites": [{"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0,
                   "products": [{"product": "A"}],
                   "production": {"material_cost": 1, "regular_capacity": [10, 0, 0]}},
                  {"id": "store", "partner": "maker", "kind": "dc", "holding_cost": 0,
                   "products": [{"product": "A"}]}],
        "lanes": [{"id": "plant-store", "origin": "plant", "destination": "store", "lead_time": 1,
                   "capacity": 5}],
        "demand": [{"site": "store", "product": "A", "quantity": [0, 5, 5], "price": 10}],
        "service": [{"site": "store", "policy": "lost_sales"}],
        "cash": {"mode": "soft", "funding_gap_rate": 0},
    }


def test_age_is_carried_across_a_lane_by_hand():
    """plant_to_store with life L = 1: a unit made in period 0 may be held at the end of period 0
    only, and transit counts, so it must leave the plant in period 0 (arriving in 1, sold on
    arrival). The lane carries 5 then: 5 made, 5 sold, profit 5 x 10 - 5 x 1 = 45. The period-2
    demand cannot be met: a unit made in 0, held at the plant at the end of 0 and in transit at the
    end of 1 has spent two period ends in the chain.
    The former one-row bound dated a shipment's age from when it left the plant, so it made 10,
    shipped 5 in period 0 and 5 in period 1 and sold all 10: 90 (what the code before this gave).
    With L = 2 that plan is allowed, and is the optimum: 90."""
    data = plant_to_store(1)
    _, plan = solve(data)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(45, abs=1e-6)
    np.testing.assert_allclose(plan.tables["production"]["production"], [5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(plan.tables["shipments"]["quantity"], [5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(plan.tables["sales"]["sales"], [0, 5, 0], atol=1e-6)
    ages = plan.tables["shipment_ages"]
    assert ages[["period", "cohort", "age", "units"]].values.tolist() == [[0, 0, 0, 5.0]]
    assert {k: x for k, x in limit_violations(data, plan).items() if x > 1e-6} == {}

    _, plan = solve(plant_to_store(2))
    assert plan.objective == pytest.approx(90, abs=1e-6)
    np.testing.assert_allclose(plan.tables["shipments"]["quantity"], [5, 5, 0], atol=1e-6)
    ages = plan.tables["shipment_ages"]
    assert ages[["period", "cohort", "age", "units"]].values.tolist() == [[0, 0, 0, 5.0], [1, 0, 1, 5.0]]


def test_waiting_at_two_sites_by_hand():
    """Plant -> DC (lead 1) -> store (lead 0), life 2, the plant can make 15 in period 0 only
    (material 1); the store sells 5 in each of periods 1, 2, 3 at 10. A unit made in 0 may spend
    the ends of periods 0 and 1 in the chain and be sold by period 2, wherever it waits: 10 sell
    (periods 1 and 2), profit 100 - 10 = 90, and none is made for period 3. The former bound let
    a unit wait at the plant (end of 0), travel (end of 1), wait at the DC (end of 2) and sell in
    3, restarting its age at each lane: all 15 sold, 135."""
    data = plant_to_store(2)
    data["time"]["periods"] = 4
    data["sites"][0]["production"]["regular_capacity"] = [15, 0, 0, 0]
    data["sites"].insert(1, {"id": "dc", "partner": "maker", "kind": "dc", "holding_cost": 0,
                             "products": [{"product": "A"}]})
    data["lanes"] = [{"id": "plant-dc", "origin": "plant", "destination": "dc", "lead_time": 1},
                     {"id": "dc-store", "origin": "dc", "destination": "store", "lead_time": 0}]
    data["demand"][0]["quantity"] = [0, 5, 5, 5]
    _, plan = solve(data)
    assert plan.objective == pytest.approx(90, abs=1e-6)
    np.testing.assert_allclose(plan.tables["sales"]["sales"], [0, 5, 5, 0], atol=1e-6)
    assert plan.tables["production"]["production"].sum() == pytest.approx(10, abs=1e-6)
    assert {k: x for k, x in limit_violations(data, plan).items() if x > 1e-6} == {}


def test_the_age_check_catches_a_unit_shipped_too_old():
    """plan_checks recomputes ages from the scenario and the tables: the life-2 plan read
    against the life-1 scenario delivers 5 units past their life at the store (made in 0, held
    at the plant at the end of 0, in transit at the end of 1: arriving in 2 > 0 + 1)."""
    _, plan = solve(plant_to_store(2))
    bad = {k: x for k, x in limit_violations(plant_to_store(1), plan).items() if x > 1e-6}
    assert bad == {"shelf_life (arrives past its life)": pytest.approx(5)}


def test_the_fresher_unit_is_shipped_and_the_older_sold_by_hand():
    """Not oldest-first: life 2 everywhere; the plant makes 5 in period 0 and 5 in period 1 (its
    only capacity), sells 5 itself in period 2, and the lane (lead 0) carries 5 in period 1 only
    to the store, which sells 5 in period 3, at 10 each, material 1. Period 0's units may be sold
    by period 2 at the latest, so they must be the plant's; the store's units wait at the ends of
    periods 1 and 2 and must be period 1's. Profit 10 x 10 - 10 x 1 = 90. Shipping the oldest
    first would leave the store with units too old to sell in period 3."""
    data = plant_to_store(2)
    data["time"]["periods"] = 4
    data["sites"][0]["production"]["regular_capacity"] = [5, 5, 0, 0]
    data["lanes"][0].update({"lead_time": 0, "capacity": [0, 5, 0, 0]})
    data["demand"] = [{"site": "plant", "product": "A", "quantity": [0, 0, 5, 0], "price": 10},
                      {"site": "store", "product": "A", "quantity": [0, 0, 0, 5], "price": 10}]
    data["service"].append({"site": "plant", "policy": "lost_sales"})
    _, plan = solve(data)
    assert plan.objective == pytest.approx(90, abs=1e-6)
    ages = plan.tables["shipment_ages"]
    assert ages[["period", "cohort", "units"]].values.tolist() == [[1, 1, 5.0]]
    stock = plan.tables["stock_ages"]
    held = {(r.site, r.period, r.cohort): r.units for r in stock.itertuples() if r.units > 1e-9}
    assert held == {("plant", 0, 0): 5, ("plant", 1, 0): 5, ("store", 1, 1): 5, ("store", 2, 1): 5}
    assert {k: x for k, x in limit_violations(data, plan).items() if x > 1e-6} == {}


def test_validation_refuses_a_life_shorter_than_the_longest_path():
    """small_chain's store-south is reached by plant -> dc (1 period) -> store-south (1 period):
    a life of 1 is refused naming the field and the path; a site's own life names its field."""
    data = example("small_chain")
    data["products"][0]["shelf_life"] = 1
    problems = [p for p in validate_scenario(parse_scenario(data, check=False)[0]) if p.severity == "error"]
    msgs = [(p.path, p.message) for p in problems]
    assert any(path == "products[0].shelf_life" and "plant -> dc -> store-south" in msg
               and "lanes plant-dc, dc-south" in msg and "lead time 2" in msg for path, msg in msgs), msgs
    # store-north's longest path is 1 period: a life of 1 is enough there
    assert not any("store-north" in msg for _, msg in msgs), msgs

    data = example("small_chain")
    data["products"][0]["shelf_life"] = 2
    south = next(i for i, x in enumerate(data["sites"]) if x["id"] == "store-south")
    j = next(j for j, sp in enumerate(data["sites"][south]["products"]) if sp["product"] == "widget")
    data["sites"][south]["products"][j]["shelf_life"] = 1
    problems = [p for p in validate_scenario(parse_scenario(data, check=False)[0]) if p.severity == "error"]
    assert [p.path for p in problems] == [f"sites[{south}].products[{j}].shelf_life"]

    data = example("small_chain")
    data["products"][0]["shelf_life"] = 2
    assert not [p for p in validate_scenario(parse_scenario(data, check=False)[0]) if p.severity == "error"]

    data = example("small_chain")
    data["sites"][south]["products"][j]["opening_age"] = 3  # widget does not perish
    warned = [p for p in validate_scenario(parse_scenario(data, check=False)[0]) if "opening_age" in p.path]
    assert [(p.path, p.severity) for p in warned] == [(f"sites[{south}].products[{j}].opening_age", "warning")]


def test_schema_shows_the_new_fields():
    from typer.testing import CliRunner

    from jointplan.cli import app

    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    defs = json.loads(result.output)["$defs"]
    assert defs["Product"]["properties"]["shelf_life"]["unit"] == "periods"
    assert defs["Product"]["properties"]["scrap_cost"]["unit"] == "currency/unit"
    assert defs["SiteProduct"]["properties"]["shelf_life"]["unit"] == "periods"
    assert defs["SiteProduct"]["properties"]["opening_age"]["unit"] == "periods"


def test_the_terminal_summary_names_the_waste(tmp_path):
    """The hand-worked case through ``jointplan plan``: the chain line gives the waste, its value
    at standard cost and its scrap cost; a plan without perishable stock says nothing of waste."""
    from typer.testing import CliRunner

    from jointplan.cli import app

    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(_two_period(1, opening_age=1)))
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    assert "waste 2 units (value 6, scrap cost 4)" in " ".join(result.output.split())  # the console wraps
    path.write_text(yaml.safe_dump(_two_period(None, opening_age=1)))
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 0 and "waste" not in result.output, result.output


def test_the_age_tables_reach_the_json_and_the_workbook(tmp_path):
    """The plan's JSON (what --out writes and the service stores) carries stock_ages and
    shipment_ages, and the workbook shows them as sheets with the same rows."""
    import openpyxl

    from planning.plan import json_default
    from planning.workbook import write_workbook

    _, plan = solve(plant_to_store(2))
    doc = json.loads(json.dumps(plan.to_dict(), default=json_default))
    rows = doc["tables"]["shipment_ages"]
    assert [(r["lane"], r["period"], r["cohort"], r["age"], r["units"]) for r in rows] == [
        ("plant-store", 0, 0, 0, 5.0), ("plant-store", 1, 0, 1, 5.0)]
    assert [(r["site"], r["period"], r["cohort"], r["age"]) for r in doc["tables"]["stock_ages"]] == [("plant", 0, 0, 0)]
    write_workbook(tmp_path / "plan.xlsx", doc)
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    values = [[c.value for c in row] for row in wb["Shipments by age"].iter_rows()]
    header, body = values[0], values[1:]
    assert [(r[header.index("Entered in period no.")], r[header.index("Age (periods)")]) for r in body] == [(0, 0), (0, 1)]
    assert len(list(wb["Stock by age"].iter_rows())) == 2


def test_age_travels_from_a_site_where_the_product_does_not_perish():
    """The product perishes only at the store (site life 2); the plant holds 5 units of opening
    stock and makes nothing; the lane takes 1 period; the store sells 5 in period 1 at 10. A unit
    of opening_age a entered in -a and must arrive by -a + 2: with a = 1 it arrives in 1 and
    sells (50); with a = 2 it would arrive a period past its life, so nothing sells (0). The
    opening_age at the plant has an effect, so it draws no warning."""
    profits = {}
    for age in (1, 2):
        data = plant_to_store(1)
        del data["products"][0]["shelf_life"]
        data["sites"][1]["products"][0]["shelf_life"] = 2
        data["sites"][0]["products"][0].update({"opening_inventory": 5, "opening_age": age})
        data["sites"][0]["production"]["regular_capacity"] = [0, 0, 0]
        data["demand"][0]["quantity"] = [0, 5, 0]
        scenario, plan = solve(data)
        assert not [w for w in validate_scenario(scenario) if "opening_age" in w.path]
        assert {k: x for k, x in limit_violations(data, plan).items() if x > 1e-6} == {}
        profits[age] = plan.objective
    assert profits == {1: pytest.approx(50, abs=1e-6), 2: pytest.approx(0, abs=1e-6)}
