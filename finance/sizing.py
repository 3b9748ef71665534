"""Sizing a plan's funding: the cheapest mix of instruments that keeps every partner's minimum cash.

A linear programme (Pyomo, solved by HiGHS through :func:`planning.solve.solve_model`) chooses,
per partner and period, draws and repayments of credit lines, receivables sold to factors and
buyers' programmes, fixed-tenor borrowing and early payments to suppliers, within limits and
borrowing bases (the instruments are :mod:`finance.formulation`). The cash balance is the host's:

    cash[a,t] = cash[a,t-1] + deposit_rate[t] x cash[a,t-1] + operating cash flow[a,t]
                + instrument cash terms[a,t] (+ unfunded[a,t] - unfunded[a,t-1] in a diagnosis)
    cash[a,t] >= min_cash[a,t];  cash[a,-1] = opening cash (earning deposit interest in period 0)

Objective ``min_cost``: minimise interest + fees (+ interest accrued on fixed-tenor loans carried
past the horizon) - deposit interest - early-payment discounts taken. ``max_ending_cash``:
maximise the cash at the end net of everything still owed. Both break ties against debt carried
past the horizon.

Partners are sized together in one programme. They are independent except through an early
payment between two partners of the table: the buyer's outflow is the supplier's inflow and the
discount a transfer (a gain to one, a cost to the other), so the chain's total is what is
minimised. Receivables the buyer has paid early are no longer the supplier's collateral.

If no mix funds the plan, status is ``"infeasible"`` and the diagnosis says which partner is
short, when, and by how much: every partner gets an elastic ``unfunded`` balance (money it would
have to find elsewhere, no interest); the least total unfunded balance is found first, then the
cheapest financing given it. The result's tables are that best effort.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planning.data import as_array
from planning.plan import binding_limits, json_default, table_records
from planning.solve import solve_model
from planning.status import has_solution
from scenarios.fields import Problem
from scenarios.finance import (
    FinanceError,
    FinanceSpec,
    FundingObjective,
    PartnerFinance,
    check_finance,
    check_partners_known,
    check_periods,
    check_reverse_factoring_buyers,
)

from .cashflows import CashFlowTable
from .collateral import UNNAMED, eligible_receivables
from .formulation import FINANCE_CONSTRAINT_FAMILIES, FINANCE_LIMIT_FAMILIES, InstrumentModel, PartnerInputs, loan_bound
from .instruments import Deposit, kind_of, not_debt_types, row_label
from .metrics import (
    cash_conversion_cycle,
    days_inventory_outstanding,
    days_payables_outstanding,
    days_sales_outstanding,
    effective_annual_rate,
)

SIZING_CONSTRAINT_FAMILIES = ("cash_balance", "minimum_cash") + FINANCE_CONSTRAINT_FAMILIES
SIZING_LIMIT_FAMILIES = ("minimum_cash",) + FINANCE_LIMIT_FAMILIES  # reported as binding, with shadow prices
TIE_BREAK = 1e-6  # per currency unit still owed at the end: among equal mixes, the one owing least
DEFAULT_PERIODS_PER_YEAR = 12


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclass
class FundingResult:
    status: str  # optimal | feasible | infeasible | unbounded | time_limit | error
    termination: str
    objective: float | None = None
    objective_name: str = FundingObjective.min_cost.value
    currency: str = ""
    periods_per_year: int = DEFAULT_PERIODS_PER_YEAR
    kpis: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source: str = ""
    name: str = ""
    # limits at their bound with the solver's shadow price (cost per unit the limit moves)
    binding: list[dict[str, Any]] = field(default_factory=list)

    @property
    def funded(self) -> bool:
        return has_solution(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "status": self.status,
            "termination": self.termination,
            "objective": self.objective,
            "objective_name": self.objective_name,
            "currency": self.currency,
            "periods_per_year": self.periods_per_year,
            "kpis": self.kpis,
            "tables": {name: table_records(_nan_to_none(df)) for name, df in self.tables.items()},
            "diagnosis": self.diagnosis,
            "warnings": [w.as_dict() for w in self.warnings],
            "timings": self.timings,
        }

    def write_json(self, path: str | Path) -> None:
        text = json.dumps(self.to_dict(), indent=2, default=json_default, allow_nan=False)
        Path(path).write_text(text, encoding="utf-8")

    def write_excel(self, path: str | Path | Any, plan: Any = None, mode: str | None = None) -> None:
        """A workbook a finance team can open (:func:`planning.workbook.build_workbook`): the plan's
        summary and tables when ``plan`` (a ``Plan`` or its dict) is given, and the funding sheets:
        per-partner KPIs, instrument mix, charts, cash and instruments per period. ``mode``:
        ``sized`` (after the plan) or ``joint`` (chosen with it), as the service records it."""
        from planning.workbook import write_workbook

        if plan is not None and hasattr(plan, "to_dict"):
            plan = plan.to_dict()
        data = self.to_dict()
        if mode:
            data["mode"] = mode
        write_workbook(path, plan, data)


# ---------------------------------------------------------------------------------------------
# Checks of a spec against a table
# ---------------------------------------------------------------------------------------------

def check_against_cashflows(spec: FinanceSpec, table: CashFlowTable) -> list[Problem]:
    """The second stage of checking a spec (its own checks are
    :func:`~scenarios.finance.check_finance`): it fits the table. Partners are in it, series have T
    values (:func:`~scenarios.finance.check_periods`), instruments find the collateral and payables
    they need, reverse-factoring buyers are customers of the supplier."""
    known = set(table.partners)
    days = 365.0 / (spec.periods_per_year or table.periods_per_year or DEFAULT_PERIODS_PER_YEAR)
    problems = check_partners_known(spec, "partners", known, "the cash-flow table")
    problems += check_periods(spec, "partners", table.T, "the cash-flow table", skip={pf.partner for pf in spec.partners} - known)
    for i, pf in enumerate(spec.partners):
        base = f"partners[{i}]"
        if pf.partner not in known:
            continue
        problems += check_reverse_factoring_buyers(pf, base, table.customers_of(pf.partner))
        for j, inst in enumerate(pf.instruments):
            problems += kind_of(inst.type).check_table(inst, table, pf.partner, f"{base}.instruments[{j}]", days)
    return problems


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _collection_rate(table: CashFlowTable, a: str) -> np.ndarray:
    """Share of the receivables book collected in each period: collections[t] / receivables[t-1]
    (period 0 takes period 1's rate); 1 (the book turns over every period) without collections."""
    T = table.T
    if "collections" not in table.flows or "receivables" not in table.flows:
        return np.ones(T)
    coll = table.series(a, "collections")
    ar = table.series(a, "receivables")
    rho = np.ones(T)
    for t in range(1, T):
        rho[t] = coll[t] / ar[t - 1] if ar[t - 1] > 1e-9 else 1.0
    if T > 1:
        rho[0] = rho[1]
    return np.clip(rho, 0.0, 1.0)


def _partner_spec(spec: FinanceSpec, a: str) -> PartnerFinance:
    return spec.partner(a) or PartnerFinance(partner=a)


@dataclass
class _Setup:
    spec: FinanceSpec
    table: CashFlowTable
    partners: list[PartnerFinance]
    inputs: dict[str, PartnerInputs]
    operating: dict[str, np.ndarray]
    opening_cash: dict[str, float]
    min_cash: dict[str, np.ndarray]
    deposit: dict[str, Deposit]
    pool_detail: dict[tuple[str, str, int], dict[str, float]]
    periods_per_year: int


def prepare(spec: FinanceSpec, table: CashFlowTable) -> _Setup:
    """Per-partner arrays and collateral pools the model needs (eligibility computed here)."""
    T = table.T
    ppy = spec.periods_per_year or table.periods_per_year or DEFAULT_PERIODS_PER_YEAR
    partners = [_partner_spec(spec, a) for a in table.partners]
    inputs: dict[str, PartnerInputs] = {}
    operating, opening_cash, min_cash, deposit = {}, {}, {}, {}
    pool_detail: dict[tuple[str, str, int], dict[str, float]] = {}
    for pf in partners:
        a = pf.partner
        op = table.series(a, "operating_cash_flow")
        operating[a] = op
        if pf.opening_cash is not None:
            opening_cash[a] = float(pf.opening_cash)
        elif "opening_cash" in table.flows:
            opening_cash[a] = float(table.series(a, "opening_cash")[0])
        else:
            opening_cash[a] = 0.0
        if pf.min_cash is not None:
            min_cash[a] = as_array(pf.min_cash, T)
        elif "min_cash" in table.flows:
            min_cash[a] = np.maximum(0.0, table.series(a, "min_cash"))
        else:
            min_cash[a] = np.zeros(T)
        deposit[a] = Deposit(a, pf.deposit_rate, T)
        receivables = [float(x) for x in table.series(a, "receivables")]
        inventory = [float(x) for x in table.series(a, "inventory")]
        pools: dict[str, list[float]] = {}
        payables: dict[str, list[float]] = {}
        for inst in pf.instruments:
            pool_of = kind_of(inst.type).receivables_pool(inst)
            if pool_of is not None:
                pool = []
                for t in range(T):
                    e = eligible_receivables(
                        table.receivables_at(a, t),
                        max_age_days=pool_of.max_age_days,
                        concentration_limit=pool_of.concentration_limit,
                        excluded_customers=pool_of.excluded,
                        only_customers=pool_of.only,
                    )
                    pool.append(float(e["eligible"]))
                    pool_detail[a, inst.id, t] = {
                        "gross_receivables": e["gross"],
                        "ineligible_over_age": e["over_age"],
                        "ineligible_excluded": e["excluded"],
                        "ineligible_concentration": e["concentration_excess"],
                        "eligible_receivables": e["eligible"],
                    }
                pools[inst.id] = pool
            elif "payables" in inst.collateral():
                payables[inst.id] = [float(x) for x in table.payables_due_of(a, inst.supplier)]
        big_m = loan_bound(float(np.clip(-op, 0, None).sum()), min_cash[a], opening_cash[a], pf.instruments)
        inputs[a] = PartnerInputs(
            partner=a,
            receivables=receivables,
            inventory=inventory,
            collection_rate=_collection_rate(table, a),
            pools=pools,
            payables_due=payables,
            big_m=big_m,
        )
    return _Setup(spec, table, partners, inputs, operating, opening_cash, min_cash, deposit, pool_detail, ppy)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


def cash_balance(m: pyo.ConcreteModel, s: _Setup, fm: InstrumentModel) -> None:
    """cash[a,t] = (1 + deposit[t]) cash[a,t-1] + operating[a,t] + instrument terms[a,t]
    + unfunded[a,t] - unfunded[a,t-1]; cash[a,-1] = opening cash."""
    T = fm.T
    terms: dict[tuple[str, int], list] = {}
    for a, t, c, v in fm.cash_terms(m.finance):
        terms.setdefault((a, t), []).append((c, v))

    def rule(_m, a, t):
        if t == 0:
            opening = s.opening_cash[a]
            prev: Any = opening + s.deposit[a].interest(0, opening, None)[0]
        else:
            prev = (1.0 + s.deposit[a].rate(t)) * m.cash[a, t - 1]
        rhs = prev + float(s.operating[a][t]) + sum(c * v for c, v in terms.get((a, t), ()))
        rhs = rhs + m.unfunded[a, t] - (m.unfunded[a, t - 1] if t > 0 else 0.0)
        return m.cash[a, t] == rhs

    m.cash_balance = pyo.Constraint(m.partners, m.T, rule=rule)


def minimum_cash(m: pyo.ConcreteModel, s: _Setup, fm: InstrumentModel) -> None:
    """cash[a,t] >= min_cash[a,t]."""
    m.minimum_cash = pyo.Constraint(m.partners, m.T, rule=lambda _m, a, t: m.cash[a, t] >= float(s.min_cash[a][t]))


def build_sizing_model(s: _Setup, objective: FundingObjective) -> tuple[pyo.ConcreteModel, InstrumentModel]:
    T = s.table.T
    days = 365.0 / s.periods_per_year
    fm = InstrumentModel(s.partners, s.inputs, T, days_per_period=days)
    m = pyo.ConcreteModel(name="funding")
    m.partners = pyo.Set(initialize=[p.partner for p in s.partners], ordered=True)
    m.T = pyo.Set(initialize=list(range(T)), ordered=True)
    m.finance = pyo.Block()
    fm.declare(m.finance)
    m.cash = pyo.Var(m.partners, m.T, bounds=(0.0, None))
    m.unfunded = pyo.Var(m.partners, m.T, bounds=(0.0, 0.0))  # opened only in a diagnosis
    cash_balance(m, s, fm)
    minimum_cash(m, s, fm)
    fm.add_constraints(m.finance)
    debt = sum(c * v for c, v in fm.ending_debt_terms(m.finance))
    if objective == FundingObjective.max_ending_cash:
        expr = sum(m.cash[a, T - 1] for a in m.partners) - debt - TIE_BREAK * debt
        m.objective = pyo.Objective(expr=expr, sense=pyo.maximize)
    else:
        deposit_income = sum(c * v for a in m.partners for t in range(1, T)
                             for c, v in s.deposit[a].interest(t, s.opening_cash[a], m.cash[a, t - 1])[1])
        cost = sum(c * v for c, v in fm.cost_terms(m.finance))
        m.objective = pyo.Objective(expr=cost - deposit_income + TIE_BREAK * debt, sense=pyo.minimize)
    return m, fm


def _solve(m, *, time_limit=None, verbose=False):
    """Solve and load the values into the model; (result, compiled model)."""
    result, cm = solve_model(m, time_limit=time_limit, verbose=verbose)
    if result.has_solution and cm is not None:
        for v in m.component_data_objects(pyo.Var, descend_into=True):
            if not v.fixed and v.lb is not None and v.lb == v.ub:
                v.set_value(v.lb, skip_validation=True)
            else:
                v.set_value(None, skip_validation=True)
        for v, x in zip(cm.columns, result.x):
            v.set_value(float(x), skip_validation=True)
    return result, cm


def _elastic(m, *, time_limit=None, verbose=False):
    """Least unfunded money per partner, then the cheapest financing given it."""
    for v in m.unfunded.values():
        v.setub(None)
    m.objective.deactivate()
    m.shortfall_objective = pyo.Objective(expr=sum(m.unfunded.values()), sense=pyo.minimize)
    first, _cm = _solve(m, time_limit=time_limit, verbose=verbose)
    if not first.has_solution:
        return first, None
    least = {a: sum(m.unfunded[a, t].value or 0.0 for t in m.T) for a in m.partners}
    m.shortfall_objective.deactivate()
    m.shortfall_cap = pyo.Constraint(
        m.partners, rule=lambda _m, a: sum(m.unfunded[a, t] for t in m.T) <= least[a] * (1 + 1e-9) + 1e-6
    )
    # the cheapest financing given the least shortfall; the shortfall keeps a price of 1 a unit so
    # that the cap's tolerance is not spent as free money
    sense = m.objective.sense
    weight = 1.0 if sense == pyo.minimize else -1.0
    m.objective.deactivate()
    m.elastic_objective = pyo.Objective(expr=m.objective.expr + weight * sum(m.unfunded.values()), sense=sense)
    second, _cm = _solve(m, time_limit=time_limit, verbose=verbose)
    return second, least


# ---------------------------------------------------------------------------------------------
# Sizing
# ---------------------------------------------------------------------------------------------


def size_funding(
    table: CashFlowTable,
    spec: FinanceSpec | None = None,
    *,
    objective: FundingObjective | str | None = None,
    time_limit: float | None = None,
    verbose: bool = False,
) -> FundingResult:
    """Size every partner's funding for a cash-flow table. Bad input raises :class:`FinanceError`;
    solver outcomes (including "cannot be funded") are the result's status."""
    spec = spec or FinanceSpec()
    problems = list(dict.fromkeys(check_finance(spec) + check_against_cashflows(spec, table)))  # each once
    if any(p.severity == "error" for p in problems):
        raise FinanceError(problems)
    warnings = list(table.warnings) + [p for p in problems if p.severity != "error"]
    objective = FundingObjective(objective or spec.objective)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    s = prepare(spec, table)
    m, fm = build_sizing_model(s, objective)
    timings["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result, cm = _solve(m, time_limit=time_limit, verbose=verbose)
    least = None
    out = FundingResult(
        status=result.status,
        termination=result.termination,
        objective_name=objective.value,
        currency=spec.currency,
        periods_per_year=s.periods_per_year,
        warnings=warnings,
        source=table.source,
        name=spec.name,
    )
    if result.status == "infeasible":
        elastic, least = _elastic(m, time_limit=time_limit, verbose=verbose)
        if not elastic.has_solution:
            out.diagnosis = {
                "method": "solver",
                "message": "the instruments' own rules conflict (not a cash shortfall); see constraints",
                **(result.diagnosis or {}),
            }
            timings["solve"] = time.perf_counter() - t0
            out.timings = timings
            return out
        result = elastic
    elif result.status == "unbounded":
        out.diagnosis = {
            "method": "solver",
            "message": "unbounded: some instrument earns more than it costs (e.g. a deposit rate above a "
            "borrowing rate with no limit); add limits or check the rates",
        }
    timings["solve"] = time.perf_counter() - t0
    if not result.has_solution:
        out.timings = timings
        return out
    t0 = time.perf_counter()
    out.tables, out.kpis = read_funding(m, fm, s, m.unfunded)
    out.objective = _objective_value(out, objective)
    if least is None and cm is not None:
        out.binding = binding_limits(result, cm, SIZING_LIMIT_FAMILIES)
    if least is not None:
        out.diagnosis = _shortfall_diagnosis(out.tables["cash"], least, fm.opening_due())
    timings["readback"] = time.perf_counter() - t0
    out.timings = timings
    return out


def _objective_value(out: FundingResult, objective: FundingObjective) -> float:
    tot = out.kpis["total"]
    if objective == FundingObjective.max_ending_cash:
        return tot["ending_cash"] - tot["ending_debt"]
    return tot["net_financing_cost"]


def _shortfall_diagnosis(cash: pd.DataFrame, least: dict[str, float],
                         opening_due: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Who is short, when and by how much, from the best-effort cash table. When a short partner
    owes opening balances that fall due within the horizon (``opening_due``, from
    :meth:`InstrumentModel.opening_due`), the message names them (instrument, type, amount, when)
    and says whether they are the whole cause (its operations need no funding: peak need 0) or
    add to the operating need."""
    short = cash[cash["shortfall"] > 1e-6]
    rows = [
        {"partner": r.partner, "period": int(r.period), "amount": float(r.shortfall)}
        for r in short.itertuples(index=False)
    ]
    partners: dict[str, Any] = {}
    parts = []
    for a, g in short.groupby("partner", sort=False):
        i = int(g["shortfall"].to_numpy().argmax())
        mine = cash[cash["partner"] == a]
        need = float((mine["min_cash"] - mine["cash_before_financing"]).clip(lower=0.0).max())
        due = [d for d in opening_due if d["partner"] == a]
        partners[a] = {
            "first_period": int(g["period"].min()),
            "last_period": int(g["period"].max()),
            "peak": float(g["shortfall"].iloc[i]),
            "peak_period": int(g["period"].iloc[i]),
            "periods_short": int(len(g)),
            "peak_funding_need": need,
        }
        p = partners[a]
        text = (f"{a} is short from period {p['first_period']} to {p['last_period']}, "
                f"by up to {p['peak']:,.2f} (period {p['peak_period']})")
        if due:
            p["opening_balances_due"] = [{k: d[k] for k in ("instrument", "type", "amount", "period")} for d in due]
            owed = ", ".join(f"{d['instrument']} ({d['type']}) {d['amount']:,.2f} {d['when']}" for d in due)
            what = "opening balance" if len(due) == 1 else "opening balances"
            if need <= 1e-6:
                text += (f": its operations need no funding (peak need {need:,.2f}); what is short is the {what} "
                         f"to repay within the horizon: {owed}")
            else:
                text += f", with the {what} to repay within the horizon on top of its operating need: {owed}"
        parts.append(text)
    return {
        "method": "elastic: least unfunded cash per partner, then the cheapest financing",
        "message": "no mix of the instruments funds the plan: " + "; ".join(parts) if parts else "funded",
        "partners": partners,
        "shortfalls": rows,
        "note": "amount = how far the partner's cash would fall below its minimum after using every "
        "instrument as well as possible (money it must find elsewhere, or plan changes)",
    }


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_funding(
    m: pyo.ConcreteModel, fm: InstrumentModel, s: _Setup, unfunded: Any = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The funding tables and KPIs of a solved model holding ``cash[a, t]`` and the instruments'
    block ``finance`` (the sizer's model, or the planning model in joint mode); ``unfunded``: the
    elastic balances ``[a, t]`` of a diagnosis (None: there are none)."""
    T = fm.T
    table = s.table
    inst = fm.read(m.finance)
    if len(inst):
        for col in ("gross_receivables", "ineligible_over_age", "ineligible_excluded", "ineligible_concentration", "eligible_receivables"):
            inst[col] = [
                s.pool_detail.get((a, n, t), {}).get(col, np.nan)
                for a, n, t in zip(inst["partner"], inst["instrument"], inst["period"])
            ]
    val = lambda v: 0.0 if v.value is None else float(v.value)  # noqa: E731
    dates = table.flows.set_index(["partner", "period"])["date"] if "date" in table.flows else None
    rows = []
    debt_kinds = inst[~inst["type"].isin(not_debt_types())] if len(inst) else inst
    for pf in s.partners:
        a = pf.partner
        mine = inst[inst["partner"] == a] if len(inst) else inst
        by_t = mine.groupby("period")[["inflow", "outflow", "interest", "fees", "discount_taken", "discount_given"]].sum() if len(mine) else None
        debt_t = debt_kinds[debt_kinds["partner"] == a].groupby("period")[["opening_balance", "closing_balance"]].sum() if len(debt_kinds) else None
        opening = s.opening_cash[a]
        before = opening
        for t in range(T):
            dep = s.deposit[a].value(t, opening, val(m.cash[a, t - 1]) if t > 0 else 0.0)
            before += float(s.operating[a][t])
            g = by_t.loc[t] if by_t is not None and t in by_t.index else None
            closing = val(m.cash[a, t])
            unf = val(unfunded[a, t]) if unfunded is not None else 0.0
            unf_prev = val(unfunded[a, t - 1]) if unfunded is not None and t > 0 else 0.0
            row = {
                "partner": a,
                "period": t,
                "opening_cash": opening,
                "operating_cash_flow": float(s.operating[a][t]),
                "cash_before_financing": before,
                "financing_inflows": float(g["inflow"]) if g is not None else 0.0,
                "financing_outflows": float(g["outflow"]) if g is not None else 0.0,
                "interest": float(g["interest"]) if g is not None else 0.0,
                "fees": float(g["fees"]) if g is not None else 0.0,
                "deposit_interest": dep,
                "unfunded_cover": unf - unf_prev,
                "closing_cash": closing,
                "min_cash": float(s.min_cash[a][t]),
                "shortfall": unf,
                "debt_outstanding": float(debt_t.loc[t, "closing_balance"]) if debt_t is not None and t in debt_t.index else 0.0,
                "discount_taken": float(g["discount_taken"]) if g is not None else 0.0,
                "discount_given": float(g["discount_given"]) if g is not None else 0.0,
            }
            if dates is not None:
                row["date"] = dates.get((a, t))
            rows.append(row)
            opening = closing
    cash = pd.DataFrame(rows)
    if "date" in cash:
        cash.insert(2, "date", cash.pop("date"))
    kpis = _kpis(cash, inst, s, fm, m)
    summary = pd.DataFrame([{"partner": a, **{k: v for k, v in k_.items() if not isinstance(v, dict)}}
                            for a, k_ in kpis["partners"].items()])
    return {"partners": summary, "cash": cash, "instruments": inst}, kpis


def _nan_to_none(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object)
    return out.where(pd.notna(out), None)


def _none_if_nan(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def working_capital_days(table: CashFlowTable, partner: str, horizon_days: float) -> tuple[float | None, ...]:
    """DSO, DIO and DPO of a partner over the table's horizon (average balance over the horizon's
    flow, times its days); None where the table lacks the balance or the flow."""
    sales = table.series(partner, "sales", None)
    cogs = table.series(partner, "cogs", None)
    rec = table.series(partner, "receivables", None)
    invv = table.series(partner, "inventory", None)
    pay = table.series(partner, "payables", None)
    dso = days_sales_outstanding(rec.mean(), sales.sum(), horizon_days) if rec is not None and sales is not None else None
    dio = days_inventory_outstanding(invv.mean(), cogs.sum(), horizon_days) if invv is not None and cogs is not None else None
    dpo = days_payables_outstanding(pay.mean(), cogs.sum(), horizon_days) if pay is not None and cogs is not None else None
    return dso, dio, dpo


def working_capital_metrics(table: CashFlowTable, periods_per_year: int | None = None) -> dict[str, dict[str, Any]]:
    """DSO, DIO, DPO and the cash conversion cycle per partner of a cash-flow table, without sizing
    any funding (``jointplan fund CASHFLOWS.csv`` with no instruments). The period length is
    ``periods_per_year`` (else the table's, else monthly), as in the funding KPIs."""
    ppy = periods_per_year or table.periods_per_year or DEFAULT_PERIODS_PER_YEAR
    horizon_days = table.T * 365.0 / ppy
    out: dict[str, dict[str, Any]] = {}
    for a in table.partners:
        dso, dio, dpo = working_capital_days(table, a, horizon_days)
        out[a] = {"days_sales_outstanding": _none_if_nan(dso), "days_inventory_outstanding": _none_if_nan(dio),
                  "days_payables_outstanding": _none_if_nan(dpo),
                  "cash_conversion_cycle_days": _none_if_nan(cash_conversion_cycle(dso, dio, dpo))}
    return {"periods_per_year": ppy, "days_per_period": 365.0 / ppy, "partners": out}


def _kpis(cash: pd.DataFrame, inst: pd.DataFrame, s: _Setup, fm: InstrumentModel, m) -> dict[str, Any]:
    T = fm.T
    ppy = s.periods_per_year
    days = 365.0 / ppy
    horizon_days = T * days
    table = s.table
    partners: dict[str, Any] = {}
    val = lambda v: 0.0 if v.value is None else float(v.value)  # noqa: E731
    for pf in s.partners:
        a = pf.partner
        c = cash[cash["partner"] == a]
        need = (c["min_cash"] - c["cash_before_financing"]).clip(lower=0.0).to_numpy()
        i_need = int(need.argmax())
        debt = c["debt_outstanding"].to_numpy()
        i_debt = int(debt.argmax())
        mine = inst[inst["partner"] == a] if len(inst) else inst
        debt_open = mine[~mine["type"].isin(not_debt_types())].groupby("period")["opening_balance"].sum() if len(mine) else pd.Series(dtype=float)
        interest = float(c["interest"].sum())
        fees = float(c["fees"].sum())
        accrued = sum(cf * val(v) for i in fm.instruments if i.partner == a for cf, v in fm.accrued_terms(m.finance, i))
        financing_cost = interest + fees + accrued
        deposit = float(c["deposit_interest"].sum())
        discounts = float(c["discount_taken"].sum())
        given = float(c["discount_given"].sum())
        debt_periods = float(debt_open.sum())
        rate = financing_cost / debt_periods if debt_periods > 1e-9 else None
        ending_debt = sum(cf * val(v) for cf, v in fm.ending_debt_terms(m.finance, a))
        dso, dio, dpo = working_capital_days(table, a, horizon_days)
        shortfall = c["shortfall"].to_numpy()
        i_short = int(shortfall.argmax())
        mix: dict[str, Any] = {}
        for n, g in (mine.groupby("instrument", sort=False) if len(mine) else []):
            mix[n] = {
                "type": str(g["type"].iloc[0]),
                "drawn": float(g["inflow"].sum()),
                "repaid": float(g["outflow"].sum()),
                "peak_balance": float(g["closing_balance"].max()),
                "ending_balance": float(g["closing_balance"].iloc[-1]),
                "interest": float(g["interest"].sum()),
                "fees": float(g["fees"].sum()),
                "discount_taken": float(g["discount_taken"].sum()),
                "min_headroom": _none_if_nan(float(g["headroom"].min()) if g["headroom"].notna().any() else None),
                "label": row_label(str(g["type"].iloc[0])),
            }
            own = next((i for i in fm.instruments if i.partner == a and i.id == n), None)
            if own is not None:
                mix[n].update(own.report())
        partners[a] = {
            "peak_funding_need": float(need[i_need]),
            "peak_funding_need_period": i_need,
            "peak_debt": float(debt[i_debt]),
            "peak_debt_period": i_debt,
            "interest": interest,
            "fees": fees,
            "accrued_interest_carried": accrued,
            "financing_cost": financing_cost,
            "deposit_interest": deposit,
            "discounts_taken": discounts,
            "discounts_given": given,
            "net_financing_cost": financing_cost - deposit - discounts + given,
            "average_debt": debt_periods / T,
            "rate_per_period": rate,
            "annual_rate_simple": rate * ppy if rate is not None else None,
            "effective_annual_rate": effective_annual_rate(rate, ppy) if rate is not None else None,
            "ending_cash": float(c["closing_cash"].iloc[-1]),
            "ending_debt": float(ending_debt),
            "min_cash_headroom": float((c["closing_cash"] - c["min_cash"]).min()),
            "days_sales_outstanding": dso,
            "days_inventory_outstanding": dio,
            "days_payables_outstanding": dpo,
            "cash_conversion_cycle_days": cash_conversion_cycle(dso, dio, dpo),
            "peak_shortfall": float(shortfall[i_short]),
            "peak_shortfall_period": i_short,
            "funded": bool(shortfall.max() <= 1e-6),
            "instruments": mix,
        }
    total = {
        k: float(sum(p[k] for p in partners.values()))
        for k in ("financing_cost", "interest", "fees", "deposit_interest", "discounts_taken", "discounts_given",
                  "net_financing_cost",
                  "ending_cash", "ending_debt", "peak_shortfall")
    }
    return {"periods_per_year": ppy, "days_per_period": days, "partners": partners, "total": total}


def size_plan_funding(plan: Any, spec: FinanceSpec | None = None, **kwargs: Any) -> FundingResult:
    """Size the funding of a plan (Plan, its dict, or a plan.json path)."""
    from .cashflows import cashflows_from_plan

    return size_funding(cashflows_from_plan(plan), spec, **kwargs)


DEBT_TYPES = frozenset({"revolver", "asset_based", "inventory_loan", "factoring", "reverse_factoring", "fixed_tenor"})


def conservation_residuals(cash: pd.DataFrame, instruments: pd.DataFrame | None = None) -> dict[str, float]:
    """The funding tables' cash conservation, recomputed from the tables (the checks the sizing
    tests make), each as its largest absolute residual (0 when it holds exactly):

    - ``cash_identity``: opening + operating + financing inflows - outflows - interest - fees +
      deposit interest + unfunded cover - closing, per partner and period;
    - ``cash_roll``: opening cash of t+1 - closing cash of t;
    - ``instruments_add_up``: the per-instrument inflow, outflow, interest and fees against the
      cash table's;
    - ``balances_roll``: each debt instrument's opening + inflow - outflow - closing, and its
      opening of t+1 - closing of t; a negative closing balance counts too;
    - ``minimum_cash``: how far closing cash is below minimum where nothing is left unfunded."""
    c = cash
    out: dict[str, float] = {}
    lhs = (c["opening_cash"] + c["operating_cash_flow"] + c["financing_inflows"] - c["financing_outflows"]
           - c["interest"] - c["fees"] + c["deposit_interest"] + c["unfunded_cover"])
    out["cash_identity"] = float((lhs - c["closing_cash"]).abs().max()) if len(c) else 0.0
    roll = 0.0
    for _, g in c.groupby("partner"):
        g = g.sort_values("period")
        if len(g) > 1:
            roll = max(roll, float(np.abs(g["opening_cash"].to_numpy()[1:] - g["closing_cash"].to_numpy()[:-1]).max()))
    out["cash_roll"] = roll
    adds, balances = 0.0, 0.0
    inst = instruments if instruments is not None else pd.DataFrame()
    if len(inst):
        sums = inst.groupby(["partner", "period"])[["inflow", "outflow", "interest", "fees"]].sum()
        merged = c.set_index(["partner", "period"]).join(sums, how="left", rsuffix="_inst").fillna(0.0)
        for a, b in (("financing_inflows", "inflow"), ("financing_outflows", "outflow"),
                     ("interest", "interest_inst"), ("fees", "fees_inst")):
            adds = max(adds, float((merged[a] - merged[b]).abs().max()))
        debt = inst[inst["type"].isin(DEBT_TYPES)]
        if len(debt):
            r = debt["opening_balance"] + debt["inflow"] - debt["outflow"] - debt["closing_balance"]
            balances = max(float(r.abs().max()), float((-debt["closing_balance"]).clip(lower=0).max()))
            for _, g in debt.groupby(["partner", "instrument"]):
                g = g.sort_values("period")
                if len(g) > 1:
                    balances = max(balances, float(np.abs(g["opening_balance"].to_numpy()[1:]
                                                          - g["closing_balance"].to_numpy()[:-1]).max()))
    out["instruments_add_up"] = adds
    out["balances_roll"] = balances
    funded = c["shortfall"] <= 1e-6
    below = (c.loc[funded, "min_cash"] - c.loc[funded, "closing_cash"]).clip(lower=0)
    out["minimum_cash"] = float(below.max()) if len(below) else 0.0
    return out
