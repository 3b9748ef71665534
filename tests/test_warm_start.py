"""Warm-started re-plans (planning/warm.py, planning/solve.py): a plan keeps HiGHS's final basis
keyed by names; a later solve of an edited scenario starts from it and ends at the cold solve's
optimum.

- test_warm_equals_cold: every what-if kind (data: demand, capacity, costs, prices, payment terms,
  safety stock, opening stock; structure: a new lane, product, store) on both bundled examples and
  a synthetic chain: the warm start is used and the objective equals the cold solve's (1e-6).
- test_warm_takes_fewer_iterations: a demand what-if on medium_chain, warm < 1/10 of the cold
  iterations.
- corrupted, mismatched or refused bases, and a warm start past its iteration budget: a cold solve
  with the same optimum and a warning saying so; an unreadable basis is a BasisError.
- MIPs: the earlier plan's solution is a starting solution (also when columns are new).
- the basis's encodings (bytes, plan JSON) and ``jointplan plan --warm-from`` with its errors.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
import zlib
from pathlib import Path

import highspy
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import example, instance, solve
from jointplan.cli import app
from planning.synthetic import synthetic_chain
from planning.warm import BasisError, SavedBasis, read_plan_basis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from whatif import DATA_WHATIFS, EDITS, STRUCTURE_WHATIFS, whatif  # noqa: E402
from whatif import solve as solve_lp  # noqa: E402

RTOL = 1e-6
BASES = {
    "small_chain": lambda: example("small_chain"),
    "medium_chain": lambda: example("medium_chain"),
    "synthetic": lambda: synthetic_chain(3, 1, 2, 6, 12, seed=3),
}


def agree(a: float, b: float, rtol: float = RTOL) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(b))


@pytest.fixture(scope="module")
def bases():
    """Each base scenario (dict) and the basis of its cold solve."""
    out = {}
    for name, make in BASES.items():
        data = make()
        r = solve_lp(data)
        assert r["status"] == "optimal" and r["result"].basis is not None
        out[name] = (data, r["result"].basis)
    return out


# ----------------------------------------------------------------------------- warm == cold


@pytest.mark.parametrize("kind", list(EDITS))
@pytest.mark.parametrize("base", list(BASES))
def test_warm_equals_cold(bases, base, kind):
    data, basis = bases[base]
    edited = whatif(data, kind)
    cold = solve_lp(edited)
    warm = solve_lp(edited, warm=basis)
    assert cold["status"] == warm["status"] == "optimal"
    assert agree(warm["objective"], cold["objective"]), (warm["objective"], cold["objective"])
    ws = warm["warm_start"]
    assert ws["used"] and not ws.get("fallback"), ws
    assert ws["kind"] == "basis"
    if kind in DATA_WHATIFS:  # same model, other data: every name matches
        assert ws["new"] == {"columns": 0, "rows": 0} and ws["dropped"] == {"columns": 0, "rows": 0}, ws
    else:
        assert kind in STRUCTURE_WHATIFS
        assert ws["new"]["columns"] > 0 and ws["matched"]["columns"] > 0, ws
    # the warm solve is a full solve: its own basis is kept for the next one
    assert warm["result"].basis is not None and warm["result"].basis.meta["warm_started"]


def test_warm_takes_fewer_iterations():
    data = example("medium_chain")
    base = solve_lp(data)
    edited = whatif(data, "demand")
    cold, warm = solve_lp(edited), solve_lp(edited, warm=base["result"].basis)
    assert agree(warm["objective"], cold["objective"])
    assert cold["iterations"] > 1000
    assert warm["iterations"] * 10 < cold["iterations"], (warm["iterations"], cold["iterations"])


def test_plan_records_warm_start_and_keeps_its_basis():
    data = example("small_chain")
    _, base = solve(data)
    assert base.warm_start is None and base.basis is not None and base.basis.kind == "basis"
    assert base.simplex_iterations and base.simplex_iterations > 0
    _, cold = solve(whatif(data, "demand"))
    _, warm = solve(whatif(data, "demand"), warm=base.basis, warm_label="the base plan")
    assert agree(warm.objective, cold.objective)
    ws = warm.warm_start
    assert ws["from"] == "the base plan" and ws["used"] and ws["simplex_iterations"] < cold.simplex_iterations
    assert ws["matched"]["columns"] == len(base.basis.col_names) and ws["solve_s"] >= 0
    assert ws["reference_cold"]["simplex_iterations"] == base.simplex_iterations
    assert not [w for w in warm.warnings if w.path == "warm_start"]
    # tables match too (same optimum; the plan read back from the warm solution)
    assert warm.kpis["chain"]["profit"] == pytest.approx(cold.kpis["chain"]["profit"], rel=1e-6)
    d = warm.to_dict()
    assert d["warm_start"]["used"] and "basis" not in d  # the basis is kept apart from the plan's dict


# ----------------------------------------------------------------------------- falling back


def _warning(plan) -> str:
    found = [w.message for w in plan.warnings if w.path == "warm_start"]
    assert len(found) == 1, plan.warnings
    return found[0]


def test_mismatched_basis_is_a_cold_solve_with_a_warning():
    _, other = solve(instance("sailco"))  # another model: no name in common
    data = example("small_chain")
    _, cold = solve(data)
    _, plan = solve(data, warm=other.basis, warm_label="sailco")
    assert plan.status == "optimal" and agree(plan.objective, cold.objective)
    assert not plan.warm_start["used"] and plan.warm_start["matched"]["columns"] == 0
    assert "not warm-started from sailco" in _warning(plan)


def test_corrupted_statuses_are_repaired_or_fall_back():
    data = example("small_chain")
    _, base = solve(data)
    bad = copy.deepcopy(base.basis)
    bad.col_status[:] = 1  # every column basic: far too many basic variables
    bad.row_status[::2] = 4
    _, cold = solve(whatif(data, "demand"))
    _, plan = solve(whatif(data, "demand"), warm=bad, warm_label="bad")
    assert plan.status == "optimal" and agree(plan.objective, cold.objective)
    ws = plan.warm_start
    assert ws["used"] and "HiGHS completed the basis" in ws["repaired"]


def test_duplicate_names_are_not_used():
    data = example("small_chain")
    _, base = solve(data)
    bad = copy.deepcopy(base.basis)
    bad.col_names[1] = bad.col_names[0]
    _, cold = solve(data)
    _, plan = solve(data, warm=bad, warm_label="dup")
    assert agree(plan.objective, cold.objective)
    assert not plan.warm_start["used"] and "could not be used" in plan.warm_start["reason"]
    assert "BasisError" in _warning(plan)


def test_basis_refused_by_highs_is_a_cold_solve(monkeypatch):
    data = example("small_chain")
    _, base = solve(data)
    monkeypatch.setattr(highspy.Highs, "setBasis", lambda self, *a: highspy.HighsStatus.kError)
    _, plan = solve(whatif(data, "price"), warm=base.basis, warm_label="refused")
    monkeypatch.undo()
    _, cold = solve(whatif(data, "price"))
    assert plan.status == "optimal" and agree(plan.objective, cold.objective)
    assert not plan.warm_start["used"] and "refused the basis" in _warning(plan)


def test_warm_start_over_its_budget_falls_back_to_cold(monkeypatch):
    import planning.solve as solve_module

    data = example("small_chain")
    _, base = solve(data)
    monkeypatch.setattr(solve_module, "WARM_ITERATION_BUDGET", 0.0)
    monkeypatch.setattr(solve_module, "WARM_MIN_ITERATIONS", 1)
    _, plan = solve(whatif(data, "capacity"), warm=base.basis, warm_label="base")
    _, cold = solve(whatif(data, "capacity"))
    assert plan.status == "optimal" and agree(plan.objective, cold.objective)
    ws = plan.warm_start
    assert ws["iteration_budget"] == 1 and "re-solved cold" in ws["fallback"]
    assert ws["cold_simplex_iterations"] == plan.simplex_iterations > 1
    assert "fell back to a cold solve" in _warning(plan)
    assert {"highs_warm_attempt", "highs_cold_fallback"} <= set(plan.timings)


def test_warm_start_that_ends_infeasible_is_confirmed_cold():
    """An edit that makes the plan infeasible: the warm solve's verdict is checked by a cold solve,
    which also diagnoses it (as without a warm start)."""
    data = example("small_chain")
    data["safety_stock"] = {"mode": "hard"}
    _, base = solve(data)
    assert base.status == "optimal"
    edited = copy.deepcopy(data)
    for s in edited["sites"]:
        for p in s.get("products") or []:
            if p.get("safety_stock"):
                p["safety_stock"] = 1e6
    _, cold = solve(edited)
    _, plan = solve(edited, warm=base.basis, warm_label="base")
    assert cold.status == plan.status == "infeasible"
    assert plan.diagnosis and plan.diagnosis["constraints"] == cold.diagnosis["constraints"]
    assert "re-solved cold" in plan.warm_start["fallback"]


def test_unreadable_bases_raise_basis_error():
    data = example("small_chain")
    _, base = solve(data)
    blob = base.basis.to_bytes()
    assert SavedBasis.from_bytes(blob).col_names == base.basis.col_names
    with pytest.raises(BasisError, match="header"):
        SavedBasis.from_bytes(b"not a basis")
    with pytest.raises(BasisError, match="damaged"):
        SavedBasis.from_bytes(blob[: len(blob) // 2])  # truncated
    raw = zlib.decompress(blob[8:])
    with pytest.raises(BasisError, match="statuses"):
        SavedBasis.from_bytes(blob[:8] + zlib.compress(raw[:-3]))
    with pytest.raises(BasisError, match="status codes"):
        SavedBasis.from_bytes(blob[:8] + zlib.compress(raw[:-1] + b"\x09"))
    with pytest.raises(BasisError, match="base64"):
        SavedBasis.from_json({**base.basis.to_json(), "data": "***"})


# ----------------------------------------------------------------------------- MIPs


def _mip(data: dict) -> dict:
    data = copy.deepcopy(data)
    for s in data["sites"]:
        wf = (s.get("production") or {}).get("workforce")
        if wf:
            wf["integer"] = True
    data.setdefault("solver", {})["mip_gap"] = 0.0
    return data


@pytest.mark.parametrize("kind", ["demand", "new_lane"])
def test_mip_starts_from_the_earlier_solution(kind):
    data = _mip(example("small_chain"))
    _, base = solve(data)
    assert base.status == "optimal" and base.basis.kind == "solution"
    edited = whatif(data, kind)
    _, cold = solve(edited)
    _, warm = solve(edited, warm=base.basis, warm_label="base MIP")
    assert agree(warm.objective, cold.objective)
    ws = warm.warm_start
    assert ws["kind"] == "solution" and ws["used"], ws
    assert ws["mip_nodes"] >= 0 and "simplex_iterations" in ws
    # HiGHS took the start: its objective is where branch and bound began
    assert ws["start"] == "feasible" and ws["start_objective"] <= warm.objective + 1e-6 * abs(warm.objective)
    if kind == "new_lane":
        assert ws["new"]["columns"] > 0  # a partial starting solution: HiGHS completes it


def test_lp_basis_does_not_start_a_mip():
    lp = example("small_chain")
    _, base = solve(lp)
    _, plan = solve(_mip(lp), warm=base.basis, warm_label="LP plan")
    assert plan.status == "optimal" and not plan.warm_start["used"]
    assert "cannot start a MIP" in _warning(plan)


# ----------------------------------------------------------------------------- files and the CLI


runner = CliRunner()


def test_plan_json_keeps_the_basis_last_and_it_reads_back(tmp_path):
    _, plan = solve(example("small_chain"))
    path = tmp_path / "plan.json"
    plan.write_json(path)
    doc = json.loads(path.read_text())
    assert list(doc)[-1] == "basis" and doc["basis"]["kind"] == "basis"
    assert doc["basis"]["columns"] == len(plan.basis.col_names)
    back = read_plan_basis(str(path))
    assert back.col_names == plan.basis.col_names and np.array_equal(back.row_status, plan.basis.row_status)
    # the names are Pyomo's own (the ones diagnoses cite)
    assert "inventory_balance[dc,widget,0]" in back.row_names and "produce[plant,widget,0]" in back.col_names
    # a file with its keys in another order still reads (the whole file is parsed then)
    reordered = {"basis": doc["basis"], **{k: v for k, v in doc.items() if k != "basis"}}
    path.write_text(json.dumps(reordered))
    assert read_plan_basis(str(path)).col_names == plan.basis.col_names


def test_cli_warm_from(tmp_path):
    old = tmp_path / "old.json"
    r = runner.invoke(app, ["plan", "small_chain", "--out", str(old)])
    assert r.exit_code == 0, r.output
    edited = tmp_path / "edited.yaml"
    import yaml

    edited.write_text(yaml.safe_dump(whatif(example("small_chain"), "demand")))
    new = tmp_path / "new.json"
    r = runner.invoke(app, ["plan", str(edited), "--warm-from", str(old), "--out", str(new)])
    assert r.exit_code == 0, r.output
    assert f"Warm start from {old}" in r.output.replace("\n", "")
    plan = json.loads(new.read_text())
    ws = plan["warm_start"]
    assert ws["from"] == str(old) and ws["used"] is True and ws["kind"] == "basis"
    assert ws["matched"]["columns"] > 0 and ws["new"] == {"columns": 0, "rows": 0}
    assert ws["dropped"] == {"columns": 0, "rows": 0}
    assert isinstance(ws["simplex_iterations"], int) and ws["solve_s"] >= 0
    assert plan["basis"]["format"] == "jointplan-basis/1"
    cold = json.loads(old.read_text())
    assert plan["simplex_iterations"] < cold["simplex_iterations"]


@pytest.mark.parametrize("case", ["missing", "no_basis", "not_json", "damaged"])
def test_cli_warm_from_errors_name_the_option(tmp_path, case):
    path = tmp_path / "old.json"
    if case == "no_basis":
        path.write_text(json.dumps({"status": "infeasible", "objective": None}))
    elif case == "not_json":
        path.write_text("status: optimal\n")
    elif case == "damaged":
        _, plan = solve(example("small_chain"))
        doc = {"status": "optimal", "basis": plan.basis.to_json()}
        doc["basis"]["data"] = base64.b64encode(b"JPBASIS1" + b"garbage").decode()
        path.write_text(json.dumps(doc))
    r = runner.invoke(app, ["plan", "small_chain", "--warm-from", str(path)])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    assert "Invalid value for '--warm-from'" in out
    expected = {"missing": "does not exist", "no_basis": "has no basis (its status is infeasible)",
                "not_json": "not a plan JSON file", "damaged": "damaged"}[case]
    assert expected in out, out


# ----------------------------------------------------------------------------- the ladder (slow)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["demand", "payment_terms", "new_lane"])
def test_warm_equals_cold_on_the_57k_chain(kind):
    """The ladder's 57k-variable chain (benchmarks/whatif.py's base): warm and cold agree, and a
    demand what-if needs under 1 % of the cold iterations."""
    data = synthetic_chain(10, 2, 4, 40, 26, seed=1)
    base = solve_lp(data)
    edited = whatif(data, kind)
    cold, warm = solve_lp(edited), solve_lp(edited, warm=base["result"].basis)
    assert agree(warm["objective"], cold["objective"])
    assert warm["warm_start"]["used"] and not warm["warm_start"].get("fallback")
    assert warm["iterations"] < (0.01 if kind == "demand" else 0.2) * cold["iterations"]


def test_a_joint_finance_replan_warm_starts_its_operations_only_solve_too():
    """plan_with_finance first plans operations alone (collection rates for factoring); on a
    re-plan both that solve and the joint one start from the earlier joint plan's basis (the
    finance columns and rows are dropped by name) and end at the cold optima."""
    from finance.extension import plan_with_finance
    from scenarios.io import parse_scenario

    base, _ = parse_scenario(example("small_chain"))
    first = plan_with_finance(base)
    assert first.status == "optimal" and first.basis is not None
    data = example("small_chain")
    for d in data["demand"]:
        d["quantity"] = [q * 1.04 for q in d["quantity"]] if isinstance(d["quantity"], list) else d["quantity"] * 1.04
    edited, _ = parse_scenario(data)
    cold = plan_with_finance(edited)
    warm = plan_with_finance(edited, warm=first.basis, warm_label="the earlier joint plan")
    ops = warm.warm_start["operations_only"]
    assert warm.warm_start["used"] and ops["used"] and not ops.get("fallback"), warm.warm_start
    assert ops["dropped"]["rows"] > 0  # the joint plan's finance rows are not in the operations-only model
    assert agree(warm.objective, cold.objective)
