"""Hand a built Pyomo model to HiGHS in memory and read the solution back.

The path is one-shot: Pyomo's linear standard-form compiler turns the model into sparse arrays,
which go straight into ``highspy`` (``Highs.passModel``); no model file is written and no
persistent interface is kept. Solver status is returned as a value (:class:`SolveResult`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.base.var import VarData
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression
from pyomo.common.errors import InfeasibleConstraintException

from .gc_pause import gc_paused
from .model import ELASTIC_FAMILIES
from .status import has_solution
from .warm import BASIC, SavedBasis, component_names, crash_new_rows, map_names, warm_solution, warm_statuses

INF = highspy.kHighsInf

WARM_MAX_NEW = 0.5
"""An LP with more than this share of its columns (or rows) new to the earlier plan's basis is
solved cold at once: the basis says little about it, and a starting basis switches HiGHS's presolve
off."""

WARM_ITERATION_BUDGET = 0.3
"""A warm-started LP solve may take at most this share of the simplex iterations of the cold solve
it descends from (scaled by the row counts; at least :data:`WARM_MIN_ITERATIONS`); past that HiGHS
stops and the model is solved cold. A safety net: measured on the synthetic chains and the bundled
examples (docs/performance.md), data-only what-ifs take under 2 % of the cold iterations and
structural ones (with :func:`planning.warm.crash_new_rows`) 2-16 % (the most: a fifth product added
to medium_chain, 25 % new columns); before that crash a new store could take 2.4x the cold time (no
presolve with a starting basis, so each iteration costs more than a cold solve's)."""

WARM_MIN_ITERATIONS = 1000

LP_METHODS = ("auto", "simplex", "ipm")
"""How HiGHS solves a cold LP: ``simplex`` (dual simplex, HiGHS's own choice for an LP), ``ipm``
(interior point, then crossover to a basis, so duals and the basis kept for warm starts are the
same kind), or ``auto``: interior point from :data:`IPM_MIN_COLUMNS` columns, else simplex.
A warm-started LP always uses simplex (from the earlier basis); a MIP uses HiGHS's branch and bound."""

IPM_MIN_COLUMNS = 250_000
"""``auto`` solves a cold LP with this many columns or more by interior point. Measured on the
synthetic ladder (docs/performance.md): dual simplex takes about 1.4 iterations per row and each
iteration costs more as the model grows; interior point's work grows far less. At 57k columns
simplex is ahead (6.7 against 7.2 s of CPU), at 271k they tie (102.7 against 104.3 s of CPU, the
same process), at 788k interior point took 822 s of CPU against simplex's 2,674 s."""

SIMPLEX_ITERATIONS_PER_ROW = 1.4
"""Dual simplex iterations per row of a cold solve on the synthetic ladder (49,094 at 33,436 rows;
225,487 at 160,368): the reference for a warm start's iteration budget when the cold solve it
descends from ran interior point (whose crossover iterations say nothing about simplex)."""

WARM_COST_PERTURBATION = 0.0
"""HiGHS's ``dual_simplex_cost_perturbation_multiplier`` for a warm-started LP solve (a cold solve
keeps HiGHS's 1.0). The perturbation HiGHS applies to the costs at the start of dual simplex makes
an optimal basis dual infeasible again; from an earlier plan's basis that costs iterations: on the
271k-variable chain, measured in the same process, 7,211 -> 4,876 iterations after a payment-term
change, 13,976 -> 10,349 after a capacity cut, 10,511 -> 8,101 after a new lane (8.1 -> 7.2 s,
29.4 -> 22.8 s, 14.2 -> 9.7 s)."""


@dataclass
class CompiledModel:
    """The model as HiGHS sees it: columns are Pyomo VarData, rows Pyomo ConstraintData."""

    columns: list[Any]
    rows: list[Any]  # ConstraintData per row
    row_sense: np.ndarray  # 0: ==, 1: <=, -1: >=
    lp: highspy.HighsLp
    objective_sense: int  # 1 minimize, -1 maximize
    objective_offset: float
    is_mip: bool
    integer: np.ndarray  # bool mask of integer columns
    _names: tuple[list[str], list[str]] | None = None

    def names(self) -> tuple[list[str], list[str]]:
        """Pyomo's names of the columns and rows (computed once)."""
        if self._names is None:
            self._names = (component_names(self.columns), component_names(self.rows))
        return self._names


@dataclass
class SolveResult:
    status: str  # optimal | feasible | infeasible | unbounded | time_limit | error
    termination: str
    objective: float | None = None
    mip_gap: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    log: str = ""
    x: np.ndarray | None = None  # column values
    row_activity: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    diagnosis: dict[str, Any] | None = None
    message: str = ""
    simplex_iterations: int = 0  # after an interior-point solve: its crossover's
    ipm_iterations: int = 0
    method: str | None = None  # simplex | ipm | branch_and_bound: how HiGHS solved it
    mip_nodes: int = 0
    basis: SavedBasis | None = None  # the end state kept for a later warm start (planning/warm.py)
    warm_start: dict[str, Any] | None = None  # what a warm start from an earlier plan did

    @property
    def has_solution(self) -> bool:
        return has_solution(self.status)


def compile_model(m: pyo.ConcreteModel, *, method: str = "auto") -> CompiledModel:
    """Compile the Pyomo model to a HighsLp (CSC matrix, bounds, costs, integrality).

    ``method="direct"`` reads the model's linear constraint expressions straight into arrays
    (:func:`_read_linear`); ``"standard_form"`` uses Pyomo's LinearStandardFormCompiler;
    ``"auto"`` tries the direct reader and falls back to the compiler for any expression it
    does not recognise (e.g. an extension's constraints written with operator overloading).
    """
    with gc_paused():
        parts = None
        if method in ("auto", "direct"):
            parts = _read_linear(m)
            if parts is None and method == "direct":
                raise ValueError("the model has expressions the direct reader does not handle")
        if parts is None:
            parts = _standard_form(m)
        return _to_highs_lp(*parts)


def _standard_form(m: pyo.ConcreteModel):
    """Pyomo's standard-form compiler (mixed form: rows keep their own sense). Imported here: it
    needs scipy (see :func:`_csc`), which the direct reader does not."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    objective = next(m.component_data_objects(pyo.Objective, active=True))
    sense = 1 if objective.sense == pyo.minimize else -1
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    row_sense = np.fromiter((r[1] for r in info.rows), dtype=np.int8, count=len(info.rows))
    cost = np.asarray(info.c.toarray()[0] if info.c.shape[0] else np.zeros(len(info.columns)), dtype=float)
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    return (
        info.columns, [r[0] for r in info.rows], row_sense, info.A.tocsc(),
        np.asarray(info.rhs, dtype=float), cost, offset, sense,
    )


_NUMERIC = (int, float, np.floating, np.integer)


def _read_linear(m: pyo.ConcreteModel):
    """Read ``lb <= LinearExpression <= ub`` rows and a LinearExpression objective directly.

    Every Var of the model is a column (in declaration order); rows are the active constraints
    in declaration order. Returns None if any expression has another shape.
    """
    columns: list[Any] = []
    for var in m.component_objects(pyo.Var, active=True, descend_into=True):
        columns.extend(var.values())
    col_index = pd.Index(np.fromiter(map(id, columns), dtype=np.int64, count=len(columns)))

    def terms(body, coefs: list, variables: list) -> bool:
        if body.__class__ is not LinearExpression:
            return False
        for arg in body.args:
            if arg.__class__ is MonomialTermExpression:
                c, v = arg.args
                if not isinstance(c, _NUMERIC) or v.fixed:
                    return False
                coefs.append(float(c))
                variables.append(v)
            elif isinstance(arg, VarData) and not arg.fixed:
                coefs.append(1.0)
                variables.append(arg)
            else:
                return False
        return True

    rows, senses, rhs, coefs, variables, starts = [], [], [], [], [], [0]
    for con in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        expr = con.expr
        cls = expr.__class__
        if cls is EqualityExpression:
            body, bound = expr.args
            sense = 0
        elif cls is InequalityExpression and not expr.strict:
            a0, a1 = expr.args
            if isinstance(a1, _NUMERIC):
                body, bound, sense = a0, a1, 1
            elif isinstance(a0, _NUMERIC):
                body, bound, sense = a1, a0, -1
            else:
                return None
        else:
            return None
        if not isinstance(bound, _NUMERIC) or not terms(body, coefs, variables):
            return None
        rows.append(con)
        senses.append(sense)
        rhs.append(float(bound))
        starts.append(len(coefs))
    objective = next(m.component_data_objects(pyo.Objective, active=True))
    obj_coefs: list[float] = []
    obj_vars: list[Any] = []
    expr = objective.expr
    if expr.__class__ is not LinearExpression:
        return None
    constant = 0.0
    for arg in expr.args:
        if isinstance(arg, _NUMERIC):
            constant += float(arg)
        elif not terms(LinearExpression([arg]), obj_coefs, obj_vars):
            return None

    n_col = len(columns)
    col_of = col_index.get_indexer(np.fromiter(map(id, variables), dtype=np.int64, count=len(variables)))
    if len(col_of) and col_of.min() < 0:
        return None  # a variable outside this model
    row_of = np.repeat(np.arange(len(rows)), np.diff(np.asarray(starts)))
    A = _csc(np.asarray(coefs, dtype=float), row_of, col_of, (len(rows), n_col))
    cost = np.zeros(n_col)
    if obj_vars:
        obj_cols = col_index.get_indexer(np.fromiter(map(id, obj_vars), dtype=np.int64, count=len(obj_vars)))
        if obj_cols.min() < 0:
            return None
        np.add.at(cost, obj_cols, obj_coefs)
    sense = 1 if objective.sense == pyo.minimize else -1
    return columns, rows, np.asarray(senses, dtype=np.int8), A, np.asarray(rhs), cost, constant, sense


@dataclass
class _CSC:
    """A column-wise sparse matrix (the attributes of scipy's ``csc_array`` that are used here)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]


def _csc(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> _CSC:
    """Triplets to CSC with row indices sorted within each column and duplicates summed, in numpy
    (what ``scipy.sparse.csc_array(...).sum_duplicates()`` gives). Not scipy: importing scipy after
    Pyomo makes Pyomo's deferred-import hook load scipy.stats, seconds of start-up for nothing.
    ``rows`` must be non-decreasing (rows are read in order), so a stable sort by column leaves
    each column's rows in order."""
    order = np.argsort(cols, kind="stable")
    r, c, v = rows[order], cols[order], values[order]
    if len(r) > 1:
        first = np.empty(len(r), dtype=bool)
        first[0] = True
        np.not_equal(r[1:], r[:-1], out=first[1:])
        first[1:] |= c[1:] != c[:-1]
        if not first.all():
            starts = np.flatnonzero(first)
            v = np.add.reduceat(v, starts)
            r, c = r[starts], c[starts]
    indptr = np.zeros(shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(c, minlength=shape[1]), out=indptr[1:])
    return _CSC(indptr=indptr, indices=r, data=v, shape=shape)


def _to_highs_lp(columns, rows, row_sense, A, rhs, cost, offset, sense) -> CompiledModel:
    n_col = len(columns)
    lower = np.empty(n_col)
    upper = np.empty(n_col)
    integer = np.zeros(n_col, dtype=bool)
    for i, v in enumerate(columns):
        if v.fixed:
            lower[i] = upper[i] = v.value
        else:
            lb, ub = v.bounds
            lower[i] = -INF if lb is None else lb
            upper[i] = INF if ub is None else ub
        if not v.is_continuous():
            integer[i] = True
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.where(row_sense == 1, -INF, rhs)
    lp.row_upper_ = np.where(row_sense == -1, INF, rhs)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMinimize if sense == 1 else highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = A.shape[0]
    is_mip = bool(integer.any())
    if is_mip:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in integer
        ]
    return CompiledModel(
        columns=columns,
        rows=list(rows),
        row_sense=np.asarray(row_sense, dtype=np.int8),
        lp=lp,
        objective_sense=sense,
        objective_offset=float(offset),
        is_mip=is_mip,
        integer=integer,
    )


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "time_limit",
    highspy.HighsModelStatus.kInterrupt: "time_limit",
    highspy.HighsModelStatus.kSolutionLimit: "time_limit",
}


def run_highs(
    cm: CompiledModel,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
    warm: SavedBasis | None = None,
    warm_label: str = "",
    keep_basis: bool = True,
    warm_max_new: float = WARM_MAX_NEW,
    lp_method: str = "auto",
) -> SolveResult:
    """Solve the compiled model with HiGHS; return status, objective, primal and dual values.

    ``warm``: the end state of an earlier plan (:mod:`planning.warm`), mapped onto this model by
    name: an LP starts from its basis, a MIP gets its solution as a starting solution. A warm start
    that cannot be used, or whose solve ends other than optimal or at the time limit, is followed
    by a cold solve; ``result.warm_start`` says what happened. An LP whose columns or rows are more
    than ``warm_max_new`` new (a share) is solved cold: see :data:`WARM_MAX_NEW`. ``keep_basis``:
    keep this solve's final basis (a MIP: its solution) in ``result.basis`` for the next warm start.
    ``lp_method``: how a cold LP is solved (:data:`LP_METHODS`); ``result.method`` says which ran.
    """
    if lp_method not in LP_METHODS:
        raise ValueError(f"lp_method must be one of {LP_METHODS}, not {lp_method!r}")
    timings: dict[str, float] = {}
    h = highspy.Highs()
    log_fd, log_path = tempfile.mkstemp(prefix="jointplan-highs-", suffix=".log")
    os.close(log_fd)
    try:
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", bool(verbose))
        h.setOptionValue("log_file", log_path)
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        if mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_gap))
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        t0 = time.perf_counter()
        h.passModel(cm.lp)
        timings["pass_model"] = time.perf_counter() - t0
        report = None
        if warm is not None:
            t0 = time.perf_counter()
            report = _apply_warm(h, cm, warm, warm_label, warm_max_new)
            timings["warm_map"] = time.perf_counter() - t0
        cold_method = cold_lp_method(cm, lp_method)
        warm_lp = report is not None and report["used"] and not cm.is_mip
        method = "simplex" if warm_lp else cold_method
        if method is not None:
            h.setOptionValue("solver", method)
        budget = None
        if warm_lp:
            h.setOptionValue("dual_simplex_cost_perturbation_multiplier", WARM_COST_PERTURBATION)
            budget = _iteration_budget(warm, cm)
            if budget is not None:
                report["iteration_budget"] = budget
                h.setOptionValue("simplex_iteration_limit", budget)
        t0 = time.perf_counter()
        h.run()
        timings["highs"] = time.perf_counter() - t0
        model_status = h.getModelStatus()
        status = _STATUS.get(model_status, "error")
        if report is not None:
            info = h.getInfo()
            report["simplex_iterations"] = int(info.simplex_iteration_count)
            if cm.is_mip:
                report["mip_nodes"] = int(info.mip_node_count)
            report["solve_s"] = timings["highs"]
            report["status"] = status
            ref = warm.meta.get("cold") if isinstance(warm.meta, dict) else None
            if isinstance(ref, dict) and ref.get("highs_s") is not None:
                # the last cold solve in the chain of plans this one starts from: an estimate of
                # what a cold solve of this model would cost (same size, similar data)
                report["reference_cold"] = ref
                report["saved_s"] = float(ref["highs_s"]) - timings["highs"] - timings.get("warm_map", 0.0)
            over_budget = budget is not None and model_status == highspy.HighsModelStatus.kIterationLimit
            if report["used"] and (over_budget or status not in ("optimal", "time_limit")):
                # Not what a warm start should end in: the cold solve decides (and diagnoses).
                if over_budget:
                    report["fallback"] = (f"the warm-started solve was still going after {budget:,} simplex iterations "
                                          "(its budget: a share of a cold solve's); re-solved cold")
                else:
                    report["fallback"] = (f"the warm-started solve ended {h.modelStatusToString(model_status)!r}; "
                                          "re-solved cold")
                h.clearSolver()
                method = cold_method
                if method is not None:
                    h.setOptionValue("solver", method)
                h.setOptionValue("dual_simplex_cost_perturbation_multiplier", 1.0)  # HiGHS's default
                if budget is not None:
                    h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
                t0 = time.perf_counter()
                h.run()
                timings["highs_cold_fallback"] = time.perf_counter() - t0
                timings["highs_warm_attempt"] = timings["highs"]
                timings["highs"] += timings["highs_cold_fallback"]
                model_status = h.getModelStatus()
                status = _STATUS.get(model_status, "error")
        info = h.getInfo()
        has_primal = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if status == "time_limit" and has_primal:
            status = "feasible"
        result = SolveResult(status=status, termination=h.modelStatusToString(model_status))
        result.simplex_iterations = int(info.simplex_iteration_count)
        result.ipm_iterations = max(0, int(info.ipm_iteration_count))
        if cm.is_mip:
            result.method = "branch_and_bound"
        else:  # what HiGHS did, not what was asked
            result.method = "ipm" if result.ipm_iterations else "simplex" if result.simplex_iterations else "presolve"
        if cm.is_mip:
            result.mip_nodes = int(info.mip_node_count)
        if report is not None:
            if report.get("fallback"):
                report["cold_simplex_iterations"] = result.simplex_iterations
                report["cold_solve_s"] = timings["highs_cold_fallback"]
            result.warm_start = report
        if has_primal:
            sol = h.getSolution()
            x = np.asarray(sol.col_value)
            if cm.is_mip:  # integers come back within the feasibility tolerance: snap them
                x = np.where(cm.integer, np.round(x), x)
            result.x = x
            result.row_activity = np.asarray(sol.row_value)
            if sol.dual_valid:
                result.row_dual = np.asarray(sol.row_dual)
            result.objective = float(info.objective_function_value)
            if cm.is_mip:
                result.mip_gap = float(info.mip_gap)
            if keep_basis:
                t0 = time.perf_counter()
                result.basis = _end_state(h, cm, result)
                timings["keep_basis"] = time.perf_counter() - t0
                if result.basis is not None:
                    own = {"simplex_iterations": result.simplex_iterations, "highs_s": timings["highs"],
                           "rows": int(cm.lp.num_row_), "method": result.method}
                    warm_used = report is not None and report["used"] and not report.get("fallback")
                    if warm_used:
                        cold = warm.meta.get("cold") if isinstance(warm.meta, dict) else None
                    else:
                        cold = own
                    result.basis.meta = {**own, "warm_started": bool(warm_used), "cold": cold}
        if status == "infeasible":
            result.diagnosis = diagnose_infeasibility(h, cm)
        h.setOptionValue("output_flag", False)
    finally:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
        os.unlink(log_path)
    result.log = log
    result.timings = timings
    if result.warm_start is not None and result.warm_start.get("kind") == "solution" and result.warm_start["used"]:
        _mip_start_outcome(result.warm_start, log)
    return result


def _mip_start_outcome(report: dict[str, Any], log: str) -> None:
    """What HiGHS made of a MIP starting solution, from its log: ``start`` feasible (with
    ``start_objective``) or infeasible (HiGHS then searched as from scratch)."""
    import re

    found = re.search(r"MIP start solution is feasible, objective value is (\S+)", log)
    if found:
        report["start"] = "feasible"
        try:
            report["start_objective"] = float(found.group(1))
        except ValueError:
            pass
    elif re.search(r"MIP start solution is infeasible|User-supplied solution.*infeasible", log, re.IGNORECASE):
        report["start"] = "infeasible"
    else:
        report["start"] = "unknown"


_BASIS_STATUS = [highspy.HighsBasisStatus(i) for i in range(5)]



def cold_lp_method(cm: CompiledModel, lp_method: str = "auto") -> str | None:
    """The HiGHS ``solver`` for a cold solve of ``cm``: None for a MIP (branch and bound), else
    ``lp_method`` with ``auto`` resolved by size (:data:`IPM_MIN_COLUMNS`)."""
    if cm.is_mip:
        return None
    if lp_method == "auto":
        return "ipm" if cm.lp.num_col_ >= IPM_MIN_COLUMNS else "simplex"
    return lp_method


def _iteration_budget(warm: SavedBasis, cm: CompiledModel) -> int | None:
    """Simplex iterations a warm start may take (:data:`WARM_ITERATION_BUDGET`), or None when the
    earlier plan does not say what its cold solve took."""
    ref = warm.meta.get("cold") if isinstance(warm.meta, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("simplex_iterations"), int) or not ref.get("rows"):
        return None
    if ref.get("method") == "ipm":
        scaled = SIMPLEX_ITERATIONS_PER_ROW * cm.lp.num_row_
    else:
        scaled = ref["simplex_iterations"] * cm.lp.num_row_ / max(1, int(ref["rows"]))
    return int(max(WARM_MIN_ITERATIONS, WARM_ITERATION_BUDGET * scaled))


def _apply_warm(h: highspy.Highs, cm: CompiledModel, warm: SavedBasis, label: str,
                max_new: float = WARM_MAX_NEW) -> dict[str, Any]:
    """Hand the earlier plan's basis (an LP) or solution (a MIP) to HiGHS, mapped by name.
    Returns the warm-start record; never raises (a failure is recorded, and the solve is cold)."""
    report: dict[str, Any] = {"from": label, "kind": warm.kind, "used": False}
    try:
        col_names, row_names = cm.names()
        mapping = map_names(warm, col_names, row_names)
        report.update(mapping.counts())
        if not report["matched"]["columns"]:
            report["reason"] = "no column of the earlier plan is in this model"
            return report
        lp = cm.lp
        if cm.is_mip:
            if warm.col_value is None:
                report["reason"] = "the earlier plan was an LP: its basis cannot start a MIP (cold solve)"
                return report
            index, value = warm_solution(warm, mapping)
            x = np.asarray(value)
            lower, upper = np.asarray(lp.col_lower_)[index], np.asarray(lp.col_upper_)[index]
            x = np.minimum(np.maximum(x, lower), upper)  # inside this model's bounds
            x = np.where(cm.integer[index], np.round(x), x)
            if len(index) == lp.num_col_:
                sol = highspy.HighsSolution()
                full = np.empty(lp.num_col_)
                full[index] = x
                sol.col_value = full
                st = h.setSolution(sol)
            else:  # a partial solution: HiGHS completes it
                st = h.setSolution(int(len(index)), index, x)
            if st == highspy.HighsStatus.kError:
                report["reason"] = "HiGHS refused the starting solution (cold solve)"
                return report
            report["used"] = True
            return report
        if warm.col_status is None:
            report["reason"] = "the earlier plan was a MIP: it kept a solution, not a basis (cold solve)"
            return report
        new_share = max(report["new"]["columns"] / max(1, lp.num_col_), report["new"]["rows"] / max(1, lp.num_row_))
        if new_share > max_new:
            report["reason"] = (f"{new_share:.1%} of this model's columns or rows are new to the earlier plan "
                                f"(more than {max_new:.0%}): a cold solve, with presolve, is faster")
            return report
        cols, rows = warm_statuses(warm, mapping, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)
        swaps = crash_new_rows(cols, rows, mapping, lp.a_matrix_.start_, lp.a_matrix_.index_,
                               lp.row_lower_, lp.row_upper_)
        if swaps:
            report["new_rows_crashed"] = swaps
        basic = int((cols == BASIC).sum() + (rows == BASIC).sum())
        report["basic"] = basic
        basis = highspy.HighsBasis()
        basis.col_status = [_BASIS_STATUS[k] for k in cols.tolist()]
        basis.row_status = [_BASIS_STATUS[k] for k in rows.tolist()]
        basis.valid = True
        # An alien basis is checked and completed by HiGHS (singular or too few/many basic
        # variables: dependent ones are replaced by slacks) before simplex starts.
        basis.alien = True
        st = h.setBasis(basis)
        if st == highspy.HighsStatus.kError:
            report["reason"] = "HiGHS refused the basis (cold solve)"
            h.setBasis()  # back to no basis
            return report
        report["used"] = True
        if basic != lp.num_row_:
            report["repaired"] = f"{basic} basic variables for {lp.num_row_} rows: HiGHS completed the basis"
        return report
    except Exception as exc:  # noqa: BLE001 - a warm start must never stop a solve
        report["used"] = False
        report["reason"] = f"the earlier plan's basis could not be used ({type(exc).__name__}: {exc}); cold solve"
        try:
            h.setBasis()
        except Exception:  # noqa: BLE001
            pass
        return report


def _end_state(h: highspy.Highs, cm: CompiledModel, result: SolveResult) -> SavedBasis | None:
    """This solve's final basis (an LP) or solution (a MIP), keyed by name."""
    try:
        col_names, row_names = cm.names()
        if cm.is_mip:
            return SavedBasis(col_names=col_names, row_names=row_names, col_value=np.asarray(result.x, dtype=float),
                              objective=result.objective)
        b = h.getBasis()
        if not b.valid:
            return None
        cols = np.fromiter(map(int, b.col_status), dtype=np.uint8, count=len(col_names))
        rows = np.fromiter(map(int, b.row_status), dtype=np.uint8, count=len(row_names))
        return SavedBasis(col_names=col_names, row_names=row_names, col_status=cols, row_status=rows,
                          objective=result.objective)
    except Exception:  # noqa: BLE001 - keeping the basis is a convenience, never a failure
        return None


def elastic_rows(cm: CompiledModel) -> tuple[list[int], list[float]]:
    """The rows the diagnosis may relax (those of a family in ``ELASTIC_FAMILIES``, see
    :data:`planning.model.FAMILIES`) and the sign of each one's violation column: -1 lets the
    activity exceed the upper bound, +1 lets it fall short of the lower bound (an equality gets both)."""
    rows, signs = [], []
    for i, con in enumerate(cm.rows):
        if con.parent_component().local_name not in ELASTIC_FAMILIES:
            continue
        sense = cm.row_sense[i]
        if sense in (1, 0):  # activity may exceed the upper bound
            rows.append(i)
            signs.append(-1.0)
        if sense in (-1, 0):  # activity may fall short of the lower bound
            rows.append(i)
            signs.append(1.0)
    return rows, signs


def diagnose_infeasibility(h: highspy.Highs, cm: CompiledModel) -> dict[str, Any]:
    """Say which limits or targets must move, and by how much, for the plan to exist.

    Elastic phase: every row of a family in ``ELASTIC_FAMILIES`` gets a non-negative violation
    variable, and HiGHS minimises the total violation subject to all other constraints. The rows
    with a positive violation are the smallest total relaxation that makes the plan feasible.
    If even that is infeasible (the conflict is among structural balances), HiGHS's IIS is
    reported instead.
    """
    elastic = highspy.Highs()
    elastic.setOptionValue("output_flag", False)
    elastic.passModel(cm.lp)
    n = cm.lp.num_col_
    elastic.changeObjectiveSense(highspy.ObjSense.kMinimize)
    elastic.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
    elastic.changeObjectiveOffset(0.0)
    rows, signs = elastic_rows(cm)
    k = len(rows)
    if k:
        elastic.addCols(
            k,
            np.ones(k),
            np.zeros(k),
            np.full(k, INF),
            k,
            np.arange(k, dtype=np.int32),
            np.asarray(rows, dtype=np.int32),
            np.asarray(signs),
        )
        elastic.run()
        if elastic.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            values = np.asarray(elastic.getSolution().col_value)[n:]
            relax: dict[str, float] = {}
            families: dict[str, int] = {}
            for row, sign, v in zip(rows, signs, values):
                if v > 1e-6:
                    con = cm.rows[row]
                    relax[con.name] = relax.get(con.name, 0.0) + float(v)
                    fam = con.parent_component().local_name
                    families[fam] = families.get(fam, 0) + 1
            return {
                "method": "elastic relaxation of limits and targets (HiGHS)",
                "families": families,
                "constraints": list(relax),
                "relaxation": [{"constraint": c, "violation": v} for c, v in relax.items()],
                "bounds": [],
                "note": "the plan exists once these limits or targets move by the amounts given "
                "(the least total movement)",
            }
    return iis_diagnosis(h, cm)


IIS_TIME_LIMIT = 300.0
"""Seconds the child process computing an IIS may take before the diagnosis goes without it."""


def isolated_iis(h: highspy.Highs, time_limit: float = IIS_TIME_LIMIT) -> dict[str, Any]:
    """HiGHS's IIS of ``h``'s model (as an LP), computed in a child process
    (``planning/iis_child.py``): HiGHS 1.15's ``getIis`` can crash with a segmentation fault on a
    real conflict (tests/instances/iis_crash.npz is one), which in this process would take the
    CLI or the API's worker down. The LP goes to the child as arrays, in order, so the indices
    it returns are ``h``'s. Returns ``{"rows": [...], "cols": [...]}``, ``{"rows": None}`` when
    HiGHS finds no IIS, or ``{"error": reason}`` when the child crashed, failed or ran out of time."""
    lp = h.getLp()
    m = lp.a_matrix_
    with tempfile.TemporaryDirectory(prefix="jointplan-iis-") as tmp:
        path = os.path.join(tmp, "lp.npz")
        np.savez(path, num_col=lp.num_col_, num_row=lp.num_row_, sense=int(lp.sense_), offset=lp.offset_,
                 col_cost=np.asarray(lp.col_cost_),
                 col_lower=np.asarray(lp.col_lower_), col_upper=np.asarray(lp.col_upper_),
                 row_lower=np.asarray(lp.row_lower_), row_upper=np.asarray(lp.row_upper_),
                 format=int(m.format_), start=np.asarray(m.start_, dtype=np.int32),
                 index=np.asarray(m.index_, dtype=np.int32), value=np.asarray(m.value_, dtype=np.float64))
        child = str(Path(__file__).with_name("iis_child.py"))
        try:
            run = subprocess.run([sys.executable, child, path], capture_output=True, text=True, timeout=time_limit)
        except subprocess.TimeoutExpired:
            return {"error": f"HiGHS's IIS took longer than {time_limit:g} s and was stopped; see the solver log"}
    if run.returncode < 0:
        try:
            name = signal.Signals(-run.returncode).name
        except ValueError:
            name = str(-run.returncode)
        return {"error": f"HiGHS crashed computing the IIS (signal {name}), so none is given; "
                "the plan is infeasible among its balances (stock, workforce, cash), not its limits"}
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"HiGHS's IIS failed ({tail}), so none is given"}
    return json.loads(lines[-1])


def iis_diagnosis(h: highspy.Highs, cm: CompiledModel) -> dict[str, Any]:
    """HiGHS's IIS on the LP (relaxation, for a MIP): rows and bounds that conflict."""
    if cm.is_mip:
        h.changeColsIntegrality(
            cm.lp.num_col_,
            np.arange(cm.lp.num_col_, dtype=np.int32),
            np.array([highspy.HighsVarType.kContinuous] * cm.lp.num_col_),
        )
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            return {
                "method": "HiGHS IIS on LP relaxation",
                "families": {},
                "constraints": [],
                "bounds": [],
                "note": "the LP relaxation is feasible: only integrality (setups, whole workers) makes it infeasible",
            }
    found = isolated_iis(h)
    if "error" in found:
        return {"method": "HiGHS IIS", "families": {}, "constraints": [], "bounds": [], "note": found["error"]}
    if found["rows"] is None:
        return {"method": "HiGHS IIS", "families": {}, "constraints": [], "bounds": [],
                "note": "HiGHS could not isolate the conflict; see the solver log"}
    names = sorted({cm.rows[i].name for i in found["rows"]})
    families: dict[str, int] = {}
    for i in found["rows"]:
        fam = cm.rows[i].parent_component().local_name
        families[fam] = families.get(fam, 0) + 1
    bounds = [
        {"variable": cm.columns[j].name, "lower": cm.columns[j].lb, "upper": cm.columns[j].ub}
        for j in found["cols"]
    ]
    return {
        "method": "HiGHS IIS",
        "families": families,
        "constraints": names,
        "bounds": bounds,
        "note": "these constraints and variable bounds cannot all hold together",
    }


def solve_model(
    m: pyo.ConcreteModel,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
    warm: SavedBasis | None = None,
    warm_label: str = "",
    keep_basis: bool = True,
    lp_method: str = "auto",
) -> tuple[SolveResult, CompiledModel | None]:
    """Compile and solve (``warm``, ``keep_basis``: see :func:`run_highs`). A constraint that is
    infeasible before any variable is involved is reported as status "infeasible" naming that
    constraint."""
    t0 = time.perf_counter()
    try:
        cm = compile_model(m)
    except InfeasibleConstraintException as exc:
        return (
            SolveResult(
                status="infeasible",
                termination="Infeasible (detected while compiling)",
                diagnosis={"method": "compile", "constraints": [str(exc).split("'")[-2]], "bounds": [], "note": str(exc)},
                timings={"handover": time.perf_counter() - t0},
            ),
            None,
        )
    compile_time = time.perf_counter() - t0
    result = run_highs(cm, time_limit=time_limit, mip_gap=mip_gap, threads=threads, verbose=verbose,
                       warm=warm, warm_label=warm_label, keep_basis=keep_basis, lp_method=lp_method)
    result.timings["handover"] = compile_time + result.timings.pop("pass_model", 0.0)
    return result, cm


def column_values(m: pyo.ConcreteModel, cm: CompiledModel, x: np.ndarray) -> dict[str, tuple[list, np.ndarray]]:
    """Per Var component: its index list and values. Variables the compiler dropped (in no
    constraint and not in the objective) take their lower bound, or 0."""
    col_of = {id(v): i for i, v in enumerate(cm.columns)}
    out: dict[str, tuple[list, np.ndarray]] = {}
    for var in m.component_objects(pyo.Var, active=True, descend_into=True):
        keys = list(var.keys())
        data = list(var.values())
        idx = np.fromiter((col_of.get(id(v), -1) for v in data), dtype=np.int64, count=len(data))
        vals = np.where(idx >= 0, x[np.maximum(idx, 0)] if len(x) else 0.0, 0.0)
        missing = np.flatnonzero(idx < 0)
        for k in missing:
            lb = data[k].lb
            vals[k] = lb if lb is not None and lb > 0 else 0.0
        out[var.local_name] = (keys, vals)
    return out
