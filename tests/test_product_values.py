"""Product-specific values: every cost, price, penalty and capacity of a product quantity takes
one number, T numbers, ``{product: number}`` or ``{product: [T numbers]}``.

The field list is read from the schema (``scenarios.fields.product_fields``), so a field declared
with ``_product_field`` is tested here without being named; a money or capacity field declared any
other way fails ``test_every_cost_and_capacity_is_a_product_field`` unless it is one of the written
exceptions (partner-level money, per-worker figures, rows that already name their product).

Each shape is checked by planning and recomputing the plan from the scenario's own fields
(``plan_checks``: ledger, penalties, limits), and small cases are worked by hand.
"""

from __future__ import annotations

import copy
import re
import typing
from functools import lru_cache

import numpy as np
import pytest
from pydantic import BaseModel

from conftest import solve
from plan_checks import limit_violations, recompute_cash, recompute_kpis
from scenarios.fields import PER_PRODUCT_KEY, product_fields, walk_models
from scenarios.io import parse_scenario
from scenarios.schema import Scenario, scenario_json_schema
from scenarios.validation import ScenarioError

TOL = 1e-6
T = 3


def full_chain() -> dict:
    """Four partners, one plant in units with every lever, a dc, a backlog store and a lost-sales
    store: an instance of every model class that has a product field."""
    return {
        "name": "product-values",
        "time": {"freq": "monthly", "periods": T, "start": "2027-01-01"},
        "products": [{"id": "A", "volume": 1.0, "standard_cost": 5}, {"id": "B", "volume": 2.0, "standard_cost": 7}],
        "partners": [
            {"id": "maker", "role": "manufacturer", "opening_cash": 10000},
            {"id": "whole", "role": "wholesaler", "opening_cash": 10000},
            {"id": "haul", "role": "transporter", "payment_terms": {"collection_lag": 1}},
            {"id": "shop", "role": "retailer", "opening_cash": 10000},
        ],
        "sites": [
            {"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0.2, "storage_capacity": 400,
             "production": {"material_cost": 4, "variable_cost": 1, "regular_capacity": 60,
                            "overtime": {"cost": 2, "max_total": 30},
                            "subcontracting": {"cost": 9, "max_units": 20}}},
            {"id": "dc", "partner": "whole", "kind": "dc", "holding_cost": 0.3, "storage_capacity": 300,
             "products": [{"product": "A", "safety_stock": 5}, {"product": "B", "safety_stock": 3}]},
            {"id": "store", "partner": "shop", "kind": "store", "holding_cost": 0.4, "storage_capacity": 200},
            {"id": "store2", "partner": "shop", "kind": "store", "holding_cost": 0.4},
        ],
        "lanes": [
            {"id": "pd", "origin": "plant", "destination": "dc", "transporter": "haul",
             "capacity": 150, "cost_per_unit": 1, "freight_rate": 1.5},
            {"id": "ds", "origin": "dc", "destination": "store", "transporter": "haul", "lead_time": 1,
             "capacity": 120, "cost_per_unit": 0.5},
            {"id": "ds2", "origin": "dc", "destination": "store2", "cost_per_unit": 0.7},
        ],
        "demand": [
            {"site": "store", "product": "A", "quantity": [30, 40, 50], "price": 40},
            {"site": "store", "product": "B", "quantity": [20, 25, 30], "price": 55},
            {"site": "store2", "product": "A", "quantity": 15, "price": 42},
            {"site": "store2", "product": "B", "quantity": 10, "price": 57},
        ],
        "service": [
            {"site": "store", "policy": "backlog", "backlog_penalty": 1.5, "clear_backlog_by_end": False,
             "lost_sale_penalty": 0},
            {"site": "store2", "policy": "lost_sales", "lost_sale_penalty": 3},
        ],
        "transfer_prices": [
            {"seller": "maker", "buyer": "whole", "price": 15},
            {"seller": "whole", "buyer": "shop", "price": 25},
        ],
        "safety_stock": {"mode": "soft", "penalty": 2},
        "cash": {"mode": "soft", "funding_gap_rate": 0},
    }


def _models_reachable(root: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model class a scenario can hold, from the type annotations."""
    seen: set[type[BaseModel]] = set()
    stack = [root]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for info in cls.model_fields.values():
            todo = [info.annotation]
            while todo:
                t = todo.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    stack.append(t)
                todo += list(typing.get_args(t))
    return seen


def _product_field_paths() -> dict[tuple[str, str], str]:
    """(class, field) -> the path of its first instance in full_chain()."""
    scenario = Scenario.model_validate(full_chain())
    out: dict[tuple[str, str], str] = {}
    for where, model, _ in walk_models(scenario):
        for name in product_fields(type(model)):
            out.setdefault((type(model).__name__, name), f"{where}.{name}")
    return out


PATHS = _product_field_paths()


def test_the_base_chain_holds_every_product_field_of_the_schema():
    """A new product field in a class full_chain() lacks fails here (extend full_chain)."""
    declared = {(cls.__name__, name) for cls in _models_reachable(Scenario) for name in product_fields(cls)}
    assert declared == set(PATHS)
    assert len(declared) >= 18  # 18 when written


# Money or capacity of something other than a product quantity, or on a row naming its product.
NOT_PER_PRODUCT = {
    ("Partner", "opening_cash"), ("Partner", "min_cash"), ("Partner", "fixed_cost"),
    ("Partner", "opening_receivables"), ("Partner", "opening_payables"),
    ("Workforce", "wage"), ("Workforce", "hiring_cost"), ("Workforce", "layoff_cost"),
    ("Overtime", "max_per_worker"),  # hours per worker: needs a workforce, so capacity in hours
    ("Product", "standard_cost"), ("Product", "volume"), ("Product", "scrap_cost"), ("SiteProduct", "holding_cost"), ("Demand", "price"),
}


def test_every_cost_and_capacity_is_a_product_field():
    """The README's rule by construction: a field whose unit is money per unit or capacity is a
    product field, unless written above. (Finance instruments are not part of this rule.)"""
    from scenarios import finance

    offenders = []
    for cls in _models_reachable(Scenario):
        if cls.__module__ == finance.__name__:
            continue
        for name, info in cls.model_fields.items():
            unit = (info.json_schema_extra or {}).get("unit", "") if isinstance(info.json_schema_extra, dict) else ""
            money_or_capacity = unit.startswith("currency") or "capacity units" in unit or unit == "units/period"
            if cls.__name__ == "Demand" and name == "quantity":
                continue  # demand is per (site, product) already
            if money_or_capacity and name not in product_fields(cls) and (cls.__name__, name) not in NOT_PER_PRODUCT:
                offenders.append(f"{cls.__name__}.{name} [{unit}]")
    assert offenders == []


def test_the_json_schema_shows_the_shapes_and_the_meaning():
    schema = scenario_json_schema()
    lane = schema["$defs"]["Lane"]["properties"]
    for name, meaning in (("cost_per_unit", "price"), ("capacity", "limit")):
        prop = lane[name]
        shapes = prop.get("anyOf", [])
        types = {s.get("type") for s in shapes}
        assert {"number", "array", "object"} <= types, prop
        assert prop[PER_PRODUCT_KEY] == meaning
        assert "{product: value}" in prop["description"]


def _set(data: dict, path: str, value) -> None:
    parts = re.findall(r"[A-Za-z_]+|\[\d+\]", path)
    node = data
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node.setdefault(part, {})
    node[parts[-1]] = value


def _get(data: dict, path: str):
    node = data
    for part in re.findall(r"[A-Za-z_]+|\[\d+\]", path):
        if part.startswith("["):
            node = node[int(part[1:-1])]
        else:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
    return node


def _shapes(v: float) -> dict[str, object]:
    return {
        "constant": v,
        "series": [v, round(v * 1.1, 4), round(v * 0.9, 4)],
        "per_product": {"A": v, "B": round(v * 1.5, 4)},
        "per_product_series": {"A": [v, round(v * 1.2, 4), v], "B": [round(v * 0.8, 4), v, round(v * 1.3, 4)]},
    }


@lru_cache(maxsize=None)
def _base_plan():
    return solve(full_chain())[1]


@pytest.mark.parametrize("shape", ["constant", "series", "per_product", "per_product_series"])
@pytest.mark.parametrize("field", sorted(PATHS), ids=lambda f: f"{f[0]}.{f[1]}")
def test_every_field_takes_every_shape(field, shape):
    """Planned and recomputed from the scenario's own fields: objective, each partner's cash and
    every limit. (Broken on purpose: lane costs and freight rates read for the first product
    whatever the product shipped, in planning/data.py, failed the map cases of Lane.cost_per_unit
    and Lane.freight_rate here: the recomputed objective differed.)"""
    path = PATHS[field]
    data = full_chain()
    base = _get(data, path)
    _set(data, path, _shapes(float(base) if isinstance(base, (int, float)) and base else 1.0)[shape])
    _, plan = solve(data)
    assert plan.status == "optimal"
    again = recompute_kpis(data, plan)
    assert plan.objective == pytest.approx(again["objective"], rel=1e-7, abs=TOL)
    assert plan.kpis["chain"]["profit"] == pytest.approx(again["chain"]["profit"], rel=1e-7, abs=TOL)
    cash = plan.tables["cash"]
    for a, closing in recompute_cash(data, plan).items():
        got = cash[cash["partner"] == a].sort_values("period")["closing_cash"].to_numpy()
        np.testing.assert_allclose(got, closing, atol=1e-5)
    violations = {k: v for k, v in limit_violations(data, plan).items() if v > 1e-6}
    assert violations == {}


@pytest.mark.parametrize("field", sorted(PATHS), ids=lambda f: f"{f[0]}.{f[1]}")
def test_an_unknown_product_in_a_map_is_refused_by_path(field):
    path = PATHS[field]
    data = full_chain()
    _set(data, path, {"A": 1, "B": 1, "Z": 1})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert any(p.path == f"{path}.Z" and "unknown product 'Z'" in p.message for p in exc.value.problems)


PRICE_FIELDS = sorted(f for f, path in PATHS.items() if f[0] != "TransferPrice" and
                      product_fields(next(c for c in _models_reachable(Scenario) if c.__name__ == f[0]))[f[1]] == "price")
LIMIT_FIELDS = sorted(f for f in PATHS if f not in PRICE_FIELDS and f[0] != "TransferPrice")


@pytest.mark.parametrize("field", PRICE_FIELDS, ids=lambda f: f"{f[0]}.{f[1]}")
def test_a_cost_map_that_leaves_out_a_product_is_refused(field):
    """A product left out of a cost, price or penalty map would cost nothing: refused, naming
    the field and the product. (Broken on purpose: check_product_maps returning nothing failed
    every case here, and the refusals below.)"""
    path = PATHS[field]
    data = full_chain()
    _set(data, path, {"A": 1})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert any(p.path == path and "'B'" in p.message and "names every product" in p.message
               for p in exc.value.problems), exc.value.problems


def test_a_transfer_price_map_that_leaves_out_a_product_leaves_it_unpriced():
    data = full_chain()
    data["transfer_prices"][0]["price"] = {"A": 15}
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert [p.path for p in exc.value.problems if "'B'" in p.message] == ["lanes[0]"]


def test_a_transfer_price_map_on_a_row_naming_its_product_is_refused():
    data = full_chain()
    data["transfer_prices"][0].update(product="A", price={"A": 15, "B": 16})
    data["transfer_prices"].append({"seller": "maker", "buyer": "whole", "price": 16})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert [p.path for p in exc.value.problems] == ["transfer_prices[0].price"]


@pytest.mark.parametrize("field", LIMIT_FIELDS, ids=lambda f: f"{f[0]}.{f[1]}")
def test_a_capacity_map_may_leave_out_a_product(field):
    path = PATHS[field]
    data = full_chain()
    _set(data, path, {"A": 10})
    scenario, _ = parse_scenario(data)
    assert scenario is not None


@pytest.mark.parametrize("name", ["overtime.cost", "overtime.max_total", "regular_capacity"])
def test_maps_on_shared_hours_are_refused(name):
    data = full_chain()
    prod = data["sites"][0]["production"]
    prod["hours_per_unit"] = {"A": 1, "B": 2}
    _set(prod, name, {"A": 5, "B": 5})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert [(p.path, "hours of one resource" in p.message) for p in exc.value.problems] == [
        (f"sites[0].production.{name}", True)]


# --------------------------------------------------------------------------- worked by hand


def two_products(T: int = 2) -> dict:
    """A maker's plant and dc joined by the transporter's lane; A and B sold at the dc. Holding
    stock costs a little, so nothing is made early and the optimum is unique."""
    return {
        "name": "two-products",
        "time": {"freq": "monthly", "periods": T, "start": "2027-01-01"},
        "products": [{"id": "A"}, {"id": "B"}],
        "partners": [
            {"id": "maker", "role": "manufacturer", "opening_cash": 100000},
            {"id": "haul", "role": "transporter"},
        ],
        "sites": [
            {"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0.1,
             "production": {"material_cost": {"A": 4, "B": 6}}},
            {"id": "dc", "partner": "maker", "kind": "dc", "holding_cost": 0.1},
        ],
        "lanes": [{"id": "pd", "origin": "plant", "destination": "dc", "transporter": "haul",
                   "cost_per_unit": {"A": 1, "B": 2}, "freight_rate": {"A": 3, "B": 5}}],
        "demand": [{"site": "dc", "product": "A", "quantity": 10, "price": 20},
                   {"site": "dc", "product": "B", "quantity": 20, "price": 30}],
        "cash": {"mode": "soft", "funding_gap_rate": 0},
    }


def _ship(plan, product, lane=None):
    s = plan.tables["shipments"]
    s = s[s["product"] == product]
    if lane is not None:
        s = s[s["lane"] == lane]
    return s.groupby("period")["quantity"].sum().to_numpy()


def test_freight_per_product_by_hand():
    """Everything sells: profit = 2 x [10 x (20-4-1) + 20 x (30-6-2)] = 1180; the haulier earns
    2 x (10 x 3 + 20 x 5) = 260 of freight and spends 2 x (10 x 1 + 20 x 2) = 100; the maker
    pays the 260. (Broken on purpose: freight read for the first product's rate made the
    haulier's revenue 2 x 30 x 3 = 180.)"""
    data = two_products()
    _, plan = solve(data)
    assert plan.objective == pytest.approx(1180, abs=TOL)
    haul, maker = plan.kpis["partners"]["haul"], plan.kpis["partners"]["maker"]
    assert haul["revenue"] == pytest.approx(260, abs=TOL)
    assert haul["costs"] == pytest.approx({"transport": 100}, abs=TOL)
    assert maker["costs"]["freight"] == pytest.approx(260, abs=TOL)
    flows = plan.tables["cash_flows"]
    revenue = flows[(flows["partner"] == "haul") & (flows["kind"] == "freight_revenue")]
    assert revenue.groupby("period_settled")["amount"].sum().to_list() == pytest.approx([130, 130])


def test_a_product_cost_on_a_lane_moves_the_optimum():
    """B's lane cost 25 leaves it a margin of 30 - 6 - 25 = -1: B stays home, profit =
    2 x 10 x (20 - 4 - 1) = 300."""
    data = two_products()
    data["lanes"][0]["cost_per_unit"] = {"A": 1, "B": 25}
    _, plan = solve(data)
    assert plan.objective == pytest.approx(300, abs=TOL)
    np.testing.assert_allclose(_ship(plan, "B"), [0, 0], atol=TOL)
    np.testing.assert_allclose(_ship(plan, "A"), [10, 10], atol=TOL)


def test_lane_capacity_per_product_equals_one_lane_per_product():
    """capacity {A: 8, B: 15} with B's volume 2: A ships 8, B 7.5 a period; profit =
    2 x (8 x 15 + 7.5 x 22) = 570 and freight 2 x (8 x 3 + 7.5 x 5) = 123, the same as the old
    workaround of one lane per product. (Broken on purpose: without the per-product rows of
    lane_capacity the lane was unlimited and this failed.)"""
    data = two_products()
    data["products"][1]["volume"] = 2.0
    data["lanes"][0]["capacity"] = {"A": 8, "B": 15}
    _, plan = solve(data)
    workaround = two_products()
    workaround["products"][1]["volume"] = 2.0
    workaround["lanes"] = [
        {"id": "pdA", "origin": "plant", "destination": "dc", "transporter": "haul", "products": ["A"],
         "capacity": 8, "cost_per_unit": 1, "freight_rate": 3},
        {"id": "pdB", "origin": "plant", "destination": "dc", "transporter": "haul", "products": ["B"],
         "capacity": 15, "cost_per_unit": 2, "freight_rate": 5},
    ]
    _, old = solve(workaround)
    for p in (plan, old):
        assert p.objective == pytest.approx(570, abs=TOL)
        assert p.kpis["partners"]["haul"]["revenue"] == pytest.approx(123, abs=TOL)
        np.testing.assert_allclose(_ship(p, "A"), [8, 8], atol=TOL)
        np.testing.assert_allclose(_ship(p, "B"), [7.5, 7.5], atol=TOL)
    assert {b["constraint"] for b in plan.binding} >= {"lane_capacity[pd,A,0]", "lane_capacity[pd,B,1]"}


def test_a_lane_capacity_map_leaves_unnamed_products_unlimited():
    data = two_products()
    data["lanes"][0]["capacity"] = {"A": 4}
    _, plan = solve(data)
    np.testing.assert_allclose(_ship(plan, "A"), [4, 4], atol=TOL)
    np.testing.assert_allclose(_ship(plan, "B"), [20, 20], atol=TOL)


def test_lost_sale_penalty_per_product_by_hand():
    """A shared lane of 10 units, 10 of each wanted at 20, nothing else costs: losing A costs 5,
    losing B 1, so A ships; profit = 2 x (10 x 20 - 10 x 1) = 380."""
    data = two_products()
    data["sites"][0]["production"]["material_cost"] = 0
    data["lanes"][0].update(capacity=10, cost_per_unit=0, freight_rate=0)
    data["demand"] = [{"site": "dc", "product": p, "quantity": 10, "price": 20} for p in ("A", "B")]
    data["service"] = [{"site": "dc", "policy": "lost_sales", "lost_sale_penalty": {"A": 5, "B": 1}}]
    _, plan = solve(data)
    assert plan.objective == pytest.approx(380, abs=TOL)
    np.testing.assert_allclose(_ship(plan, "A"), [10, 10], atol=TOL)
    assert plan.kpis["chain"]["penalties"] == pytest.approx({"lost_sale_penalty": 20}, abs=TOL)


def plant_sells(T: int = 2) -> dict:
    """One maker selling A and B at its plant, capacity in units."""
    return {
        "name": "units",
        "time": {"freq": "monthly", "periods": T, "start": "2027-01-01"},
        "products": [{"id": "A"}, {"id": "B"}],
        "partners": [{"id": "maker", "role": "manufacturer"}],
        "sites": [{"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0.1,
                   "production": {"regular_capacity": 100, "overtime": {"cost": {"A": 3, "B": 5}}}}],
        "demand": [{"site": "plant", "product": "A", "quantity": 20, "price": 100},
                   {"site": "plant", "product": "B", "quantity": 110, "price": 100}],
        "cash": {"mode": "soft", "funding_gap_rate": 0},
    }


def test_overtime_cost_per_product_by_hand():
    """130 units against 100 regular: 30 in overtime, the plant puts the cheaper A's 20 units
    there (3 each) and 10 of B (5 each): profit per period 13000 - 110 = 12890. (Broken on
    purpose: without overtime_product <= produce, all 30 were booked as A at 3: 12910.)"""
    _, plan = solve(plant_sells())
    assert plan.objective == pytest.approx(2 * 12890, abs=TOL)
    prod = plan.tables["production"].sort_values(["product", "period"])
    assert prod["overtime"].to_list() == pytest.approx([20, 20, 10, 10], abs=TOL)
    assert plan.tables["capacity"]["overtime"].to_list() == pytest.approx([30, 30], abs=TOL)
    assert plan.kpis["chain"]["costs"]["overtime"] == pytest.approx(220, abs=TOL)


def test_overtime_limit_per_product_by_hand():
    """At most 5 units of A in overtime: the other 25 overtime units are B's (5 each): overtime
    costs 5 x 3 + 25 x 5 = 140 a period."""
    data = plant_sells()
    data["sites"][0]["production"]["overtime"]["max_total"] = {"A": 5}
    _, plan = solve(data)
    assert plan.objective == pytest.approx(2 * (13000 - 140), abs=TOL)


def test_regular_capacity_per_product_by_hand():
    """regular_capacity {A: 50}, no overtime: A is made 50 a period, B (not named) is unlimited."""
    data = plant_sells()
    prod = data["sites"][0]["production"]
    prod["regular_capacity"] = {"A": 50}
    del prod["overtime"]
    data["demand"] = [{"site": "plant", "product": "A", "quantity": 80, "price": 100},
                      {"site": "plant", "product": "B", "quantity": 500, "price": 100}]
    _, plan = solve(data)
    assert plan.objective == pytest.approx(2 * 550 * 100, abs=TOL)
    assert {b["constraint"] for b in plan.binding} == {"production_capacity[plant,A,0]", "production_capacity[plant,A,1]"}


def test_the_docs_table_lists_every_product_field_with_its_meaning():
    """docs/scenario-values.md's table between its markers: one row per product field of the
    schema, the path with list indices dropped, the unit and the meaning of a map as declared."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-values.md").read_text()
    table = text.split("<!-- product-fields")[1].split("<!-- /product-fields -->")[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in {"field", "---"} and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = (cells[1], cells[2])
    classes = {c.__name__: c for c in _models_reachable(Scenario)}
    expected = {}
    for (cls, name), path in PATHS.items():
        info = classes[cls].model_fields[name]
        expected[re.sub(r"\[\d+\]", "[]", path)] = (info.json_schema_extra["unit"], info.json_schema_extra[PER_PRODUCT_KEY])
    assert rows == expected


@pytest.mark.parametrize("field", sorted(PATHS), ids=lambda f: f"{f[0]}.{f[1]}")
def test_a_bad_number_in_a_map_is_named_where_it_is(field):
    """One problem, at the entry (``...cost_per_unit.A[1]``), not also at the field from the
    number member of the union. (Broken on purpose: without the deepest-only rule in
    problems_from_validation_error a second problem named the field itself.)"""
    path = PATHS[field]
    data = full_chain()
    _set(data, path, {"A": [1, "y", 1], "B": 2})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert [(p.path, "valid number" in p.message) for p in exc.value.problems] == [(f"{path}.A[1]", True)]


def test_subcontracting_limit_per_product_by_hand():
    """Regular capacity 100, 130 of A and 50 of B wanted at 100, buying in costs 50: at most 10
    of A may be bought, B is not named so unlimited. Make 100 A, buy 10 A and 50 B: profit a
    period = 160 x 100 - 60 x 50 = 13000 (with one shared limit of 10 it would be 10500)."""
    data = plant_sells()
    prod = data["sites"][0]["production"]
    del prod["overtime"]
    prod["subcontracting"] = {"cost": 50, "max_units": {"A": 10}}
    data["demand"] = [{"site": "plant", "product": "A", "quantity": 130, "price": 100},
                      {"site": "plant", "product": "B", "quantity": 50, "price": 100}]
    _, plan = solve(data)
    assert plan.objective == pytest.approx(2 * 13000, abs=TOL)
    prod["subcontracting"]["max_units"] = 10
    _, shared = solve(data)
    assert shared.objective == pytest.approx(2 * 10500, abs=TOL)


def test_storage_capacity_per_product_by_hand():
    """100 a period can be made; 150 of A are wanted in period 1 only, so 50 must be made early,
    but the plant stores at most 30 of A: 130 sold, less 30 x 0.1 of holding = 12997."""
    data = plant_sells()
    site = data["sites"][0]
    del site["production"]["overtime"]
    site["storage_capacity"] = {"A": 30}
    data["demand"] = [{"site": "plant", "product": "A", "quantity": [0, 150], "price": 100}]
    _, plan = solve(data)
    assert plan.objective == pytest.approx(13000 - 3, abs=TOL)
    assert any(b["constraint"] == "storage_capacity[plant,A,0]" for b in plan.binding)
