"""The direct linear reader and Pyomo's standard-form compiler hand HiGHS the same LP."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from conftest import example, instance
from planning.data import compile_data
from planning.model import build_model
from planning.solve import compile_model, run_highs
from scenarios.io import parse_scenario


def _entries(cm):
    """{(row name, column name): coefficient}, bounds and costs by name."""
    A = cm.lp.a_matrix_
    start, index, value = np.asarray(A.start_), np.asarray(A.index_), np.asarray(A.value_)
    out = {}
    for j, v in enumerate(cm.columns):
        for k in range(start[j], start[j + 1]):
            out[(cm.rows[index[k]].name, v.name)] = value[k]
    rows = {
        c.name: (lo, hi) for c, lo, hi in zip(cm.rows, np.asarray(cm.lp.row_lower_), np.asarray(cm.lp.row_upper_))
    }
    cost = {v.name: c for v, c in zip(cm.columns, np.asarray(cm.lp.col_cost_)) if c != 0}
    return out, rows, cost


@pytest.mark.parametrize("name", ["small_chain", "red_tomato", "wagner_whitin"])
def test_direct_reader_matches_standard_form(name):
    data = example(name) if name == "small_chain" else instance(name)
    scenario, _ = parse_scenario(copy.deepcopy(data))
    m = build_model(compile_data(scenario))
    direct = compile_model(m, method="direct")
    standard = compile_model(m, method="standard_form")
    a1, r1, c1 = _entries(direct)
    a2, r2, c2 = _entries(standard)
    assert a1.keys() == a2.keys()
    assert all(a1[k] == pytest.approx(a2[k]) for k in a1)
    assert r1 == r2
    assert c1.keys() == c2.keys() and all(c1[k] == pytest.approx(c2[k]) for k in c1)
    assert direct.objective_offset == pytest.approx(standard.objective_offset)
    assert direct.is_mip == standard.is_mip
    o1 = run_highs(direct).objective
    o2 = run_highs(standard).objective
    assert o1 == pytest.approx(o2, rel=1e-9)


def test_unrecognised_expressions_fall_back_to_standard_form():
    import pyomo.environ as pyo

    scenario, _ = parse_scenario(example("small_chain"))
    m = build_model(compile_data(scenario))
    m.extra = pyo.Constraint(expr=m.cash["maker", 0] <= 1e9)  # a bare variable body
    with pytest.raises(ValueError):
        compile_model(m, method="direct")
    cm = compile_model(m)  # auto
    assert any(c.name == "extra" for c in cm.rows)
