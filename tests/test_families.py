"""The constraint families are declared once (planning.model.FAMILIES) and everything that
treats families differently reads that record: the build order, the rows the infeasibility
diagnosis may relax, the limits a plan reports as binding.

A constraint the model builds without a record fails here, and so does a family whose elastic
or capacity flag changes without this file saying so (the expected sets are written out)."""

from __future__ import annotations

import copy
import functools

import pyomo.environ as pyo
import pytest

from conftest import example, instance
from planning import plan as plan_module
from planning.data import compile_data
from planning.model import CAPACITY_FAMILIES, ELASTIC_FAMILIES, FAMILIES, build_model
from planning.solve import compile_model, elastic_rows
from scenarios.io import parse_scenario
from test_balances import small_mip
from test_product_values import plant_sells
from test_shelf_life import perishable_chain

# Written out on purpose: a limit or target a planner can move, and nothing structural.
EXPECTED_ELASTIC = {
    "production_capacity",
    "overtime_limit",
    "subcontract_limit",
    "workforce_ending",
    "lane_capacity",
    "storage_capacity",
    "backlog_clearance",
    "safety_stock",
    "ending_inventory",
    "minimum_cash",
    "shelf_life",  # relaxed: units kept past their life (at an age-tracked site, one period past)
}
EXPECTED_CAPACITY = {
    "production_capacity",
    "overtime_limit",
    "subcontract_limit",
    "workforce_ending",
    "lane_capacity",
    "storage_capacity",
}

CASES = {
    "small_chain": lambda: example("small_chain"),
    "small_mip": small_mip,  # setups, whole workers, an ending workforce minimum
    "red_tomato": lambda: instance("red_tomato"),  # backlog cleared by the end
    "overtime_per_product": plant_sells,  # overtime priced per product: overtime_split
    "prod_mod": lambda: instance("prod_mod"),  # perishable stock: shelf_life
    "perishable_chain": perishable_chain,  # perishable on lanes: stock_age_balance, age_stock, age_ship
}


@functools.lru_cache(maxsize=None)
def built(name: str) -> pyo.ConcreteModel:
    scenario, _ = parse_scenario(copy.deepcopy(CASES[name]()))
    return build_model(compile_data(scenario))


def _families_in(m: pyo.ConcreteModel) -> list[str]:
    return [c.local_name for c in m.component_objects(pyo.Constraint, descend_into=True)]


def test_one_record_per_family_and_flags_as_expected():
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    assert {f.name for f in FAMILIES if f.elastic} == EXPECTED_ELASTIC == set(ELASTIC_FAMILIES)
    assert {f.name for f in FAMILIES if f.capacity} == EXPECTED_CAPACITY == set(CAPACITY_FAMILIES)
    assert plan_module.CAPACITY_FAMILIES is CAPACITY_FAMILIES  # the plan reads the record too
    assert all(f.description for f in FAMILIES)
    assert all(f.build.__name__ == f.name for f in FAMILIES)  # one builder per family, named after it


@pytest.mark.parametrize("name", list(CASES))
def test_every_constraint_of_a_built_model_is_a_declared_family_in_build_order(name):
    m = built(name)
    assert _families_in(m) == [f.name for f in FAMILIES]


def test_the_cases_have_rows_in_every_family():
    """So the diagnosis test below sees every family, elastic or not, with rows."""
    with_rows = {c.local_name for n in CASES for c in built(n).component_objects(pyo.Constraint) if len(c)}
    assert with_rows == {f.name for f in FAMILIES}


@pytest.mark.parametrize("name", list(CASES))
def test_the_diagnosis_relaxes_exactly_the_elastic_families(name):
    m = built(name)
    cm = compile_model(m)
    rows, signs = elastic_rows(cm)
    relaxed = {cm.rows[i].parent_component().local_name for i in rows}
    present = {c.local_name for c in m.component_objects(pyo.Constraint) if len(c)}
    assert relaxed == present & EXPECTED_ELASTIC
    # every row of an elastic family is relaxable, in the direction(s) its bounds allow
    per_row: dict[int, set[float]] = {}
    for i, s in zip(rows, signs):
        per_row.setdefault(i, set()).add(s)
    for i, con in enumerate(cm.rows):
        if con.parent_component().local_name not in EXPECTED_ELASTIC:
            assert i not in per_row
            continue
        expected = {-1.0, 1.0} if cm.row_sense[i] == 0 else {-1.0} if cm.row_sense[i] == 1 else {1.0}
        assert per_row[i] == expected, con.name
