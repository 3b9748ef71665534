"""How HiGHS solves a cold LP (planning/solve.py ``lp_method``; scenario ``solver.lp_method``):
dual simplex or interior point with crossover reach the same optimum; ``auto`` picks interior
point from ``IPM_MIN_COLUMNS`` columns; a plan solved by interior point keeps a basis that a
later what-if warm-starts from, with its iteration budget taken from the row count; a MIP is
branch and bound whatever the option says. The balance rechecks of an interior-point plan are in
tests/test_balances.py (``medium_chain_ipm``)."""

from __future__ import annotations

import copy

import pytest

import planning.solve as solve_mod
from conftest import example, instance, solve
from planning.synthetic import synthetic_chain
from scenarios.io import parse_scenario
from scenarios.validation import ScenarioError
from test_balances import small_mip


def with_method(data: dict, method: str) -> dict:
    out = copy.deepcopy(data)
    out.setdefault("solver", {})["lp_method"] = method
    return out


@pytest.mark.parametrize("make", [lambda: example("small_chain"), lambda: example("medium_chain"),
                                  lambda: instance("red_tomato"), lambda: synthetic_chain(4, 1, 2, 8, 13, seed=2)],
                         ids=["small_chain", "medium_chain", "red_tomato", "synthetic"])
def test_simplex_and_interior_point_reach_the_same_optimum(make):
    data = make()
    _, simplex = solve(with_method(data, "simplex"))
    _, ipm = solve(with_method(data, "ipm"))
    assert simplex.status == ipm.status == "optimal"
    assert (simplex.solver_method, ipm.solver_method) == ("simplex", "ipm")
    assert ipm.objective == pytest.approx(simplex.objective, rel=1e-7, abs=1e-6)
    assert ipm.basis is not None and ipm.basis.kind == "basis"  # crossover ends at a basis
    assert ipm.to_dict()["solver_method"] == "ipm"


def test_auto_uses_interior_point_from_the_column_threshold(monkeypatch):
    data = example("small_chain")
    _, plan = solve(data)
    assert plan.solver_method == "simplex"  # small: below IPM_MIN_COLUMNS
    monkeypatch.setattr(solve_mod, "IPM_MIN_COLUMNS", 1)
    _, plan = solve(data)
    assert plan.solver_method == "ipm" and plan.status == "optimal"


def test_a_what_if_warm_starts_from_an_interior_point_plan():
    """The basis of an interior-point solve is a valid start; the warm solve is simplex, its
    budget comes from SIMPLEX_ITERATIONS_PER_ROW (the cold solve's crossover iterations say
    nothing about simplex), and it ends at the cold optimum of the edited scenario."""
    base = with_method(example("medium_chain"), "ipm")
    _, first = solve(base)
    edited = copy.deepcopy(base)
    for d in edited["demand"]:
        d["quantity"] = [q * 1.05 for q in d["quantity"]] if isinstance(d["quantity"], list) else d["quantity"] * 1.05
    _, cold = solve(with_method(edited, "simplex"))
    _, warm = solve(edited, warm=first.basis, warm_label="ipm plan")
    ws = warm.warm_start
    assert ws["used"] and not ws.get("fallback"), ws
    assert warm.solver_method == "simplex"
    rows = first.basis.meta["rows"]  # the edit changes data only: the same rows
    assert ws["iteration_budget"] == max(solve_mod.WARM_MIN_ITERATIONS,
                                         int(solve_mod.WARM_ITERATION_BUDGET * solve_mod.SIMPLEX_ITERATIONS_PER_ROW * rows))
    assert first.basis.meta["method"] == "ipm"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7)


def test_a_mip_is_branch_and_bound_whatever_the_lp_method():
    _, plan = solve(with_method(small_mip(), "ipm"))
    assert plan.status == "optimal" and plan.solver_method == "branch_and_bound"


def test_an_unknown_lp_method_is_refused_naming_the_field():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(with_method(example("small_chain"), "barrier"))
    assert "lp_method" in str(err.value)
    with pytest.raises(ValueError, match="lp_method"):
        solve_mod.run_highs(None, lp_method="barrier")  # type: ignore[arg-type]
