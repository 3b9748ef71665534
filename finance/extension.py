"""Joint mode: the funding instruments as decision variables inside the planning model.

:class:`FinanceExtension` implements the planning model's extension hook
(:class:`planning.model.ModelExtension`), so ``plan_scenario(scenario, extensions=[FinanceExtension(spec)])``
chooses operations and funding together. The instruments are the same code as the standalone
sizer (:class:`finance.formulation.InstrumentModel`); what the sizer reads from a cash-flow table
is here a linear expression of the plan's variables: the plan's working-capital book
(:mod:`planning.working_capital`, the one derivation from the cash streams that also gives, in
numbers, the plan's working-capital table and the table :func:`finance.cashflows.cashflows_from_plan`
builds from a solved plan):

- receivables open at the end of t, by customer and age: every lagged revenue stream incurred in
  u <= t and settled after t (age (t - u + 1) x days per period; consumers and outside parties are
  ``(outside the chain)``), plus receivables from before the horizon still to be collected;
- an asset-based line's eligible receivables: those passing the age and customer tests, less each
  customer's part above the concentration limit (an excess variable per customer and period,
  ``excess >= receivables of the customer - limit x receivables passing``; the lender's rule
  is a lower bound on the excess, and the line may never use more than the rest);
- inventory at cost: stock at the partner's sites x standard cost, plus goods in transit to them;
- payables due per supplier at the net term: lagged purchases and costs falling due in t;
- the collection rate (share of the receivables book collected in a period, which moves sold
  invoices off a factor's books) stays a number per partner and period: taken from a reference
  plan when one is given (``plan_with_finance`` uses the plan that ignores financing, the
  sequential answer's plan), else 1 / the partner's mean collection lag.

The plan's cash balance gets the instruments' cash and deposit interest; its objective gets minus
the net financing cost (interest + fees + interest accrued on loans carried past the horizon -
deposit interest - early-payment discounts taken). Minimum cash is enforced: in joint mode the
instruments replace the scenario's priced funding gap. When no plan can be funded, an elastic
re-solve (outside money per partner, priced far above anything else) says which partner is short,
when, and by how much.

The instrument constraints are written with Pyomo's operators; :meth:`FinanceExtension.add_constraints`
rewrites each as a flat linear row (``generate_standard_repn``) so the planning model's direct
compiler still reads the whole model (``direct=False`` leaves them as written, and the compiler
falls back to Pyomo's standard-form compiler for the whole model).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from planning.data import PlanningData
from planning.model import grid_row, linear_relation
from planning.status import has_solution
from planning.plan import Plan, Solution, cash_flows_table, period_dates, plan_scenario
from planning.working_capital import Affine, working_capital_book
from scenarios.fields import Problem, periods_per_year
from scenarios.finance import (
    FinanceError,
    FinanceSpec,
    PartnerFinance,
    check_finance,
    check_partners_known,
    finance_spec_from_scenario,
)
from scenarios.schema import Softness

from .cashflows import CashFlowTable, cashflows_from_plan, plan_cashflow_table
from .formulation import FINANCE_LIMIT_FAMILIES, InstrumentModel, PartnerInputs, loan_bound
from .instruments import Deposit, kind_of
from .sizing import DEFAULT_PERIODS_PER_YEAR, _collection_rate, _shortfall_diagnosis, prepare, read_funding

FUNDING_TABLES = ("funding_partners", "funding_cash", "funding_instruments")
ELASTIC_PENALTY = 1000.0  # per currency unit of outside money per period, in the elastic re-solve


# ---------------------------------------------------------------------------------------------
# The working-capital book as expressions of the plan's variables
# ---------------------------------------------------------------------------------------------


class PlanExpressions:
    """Per partner and period, the balances a funding model leans on, as affine expressions of
    the planning model's variables: the plan's working-capital book
    (:func:`planning.working_capital.working_capital_book` over the model's variables), ages in
    days (``days_per_period`` a period)."""

    def __init__(self, m: pyo.ConcreteModel, d: PlanningData, days_per_period: float):
        self.T = d.T
        self.days_per_period = days_per_period
        self.book = working_capital_book(d, lambda family, key: grid_row(m, family, key))
        self.inventory: dict[str, list[Affine]] = self.book.inventory
        self.lags: dict[str, list[int]] = self.book.credit_lags

    def receivables_total(self, a: str, t: int) -> Affine:
        return self.book.receivables_total(a, t)

    def eligible(
        self,
        a: str,
        t: int,
        *,
        max_age_days: float | None = None,
        excluded: Iterable[str] = (),
        only: Iterable[str] | None = None,
    ) -> dict[str, Affine]:
        """Receivables passing the age and customer tests, per customer."""
        excluded, only = set(excluded), (set(only) if only is not None else None)
        out: dict[str, Affine] = defaultdict(Affine)
        for (customer, k), cell in self.book.receivables[a][t].items():
            if max_age_days is not None and k * self.days_per_period > max_age_days:
                continue
            if customer in excluded or (only is not None and customer not in only):
                continue
            out[customer].extend(cell)
        return out

    def payables(self, a: str, t: int, supplier: str | None) -> Affine:
        """Payments due in t at the net term, to one supplier (None: all)."""
        return self.book.payables_due_total(a, t, supplier)


def structural_collection_rates(d: PlanningData, x: PlanExpressions) -> dict[str, np.ndarray]:
    """1 / the partner's mean collection lag (the book turns over once per lag), 1 without credit."""
    out = {}
    for a in d.partners:
        lags = x.lags[a]
        out[a] = np.full(d.T, 1.0 / (sum(lags) / len(lags)) if lags else 1.0)
    return out


def collection_rates_from_plan(plan: Any) -> dict[str, np.ndarray]:
    """Per partner, the share of its receivables book collected in each period of a solved plan
    (the rate the standalone sizer uses for that plan)."""
    table = cashflows_from_plan(plan)
    return {a: _collection_rate(table, a) for a in table.partners}


# ---------------------------------------------------------------------------------------------
# The extension
# ---------------------------------------------------------------------------------------------


def _canonicalise(block: pyo.Block) -> int:
    """Rewrite every active constraint of the block as ``LinearExpression <= ub``, ``>= lb`` or
    ``== rhs`` (the shapes the planning model's direct compiler reads; the instrument families
    are one-sided or equalities). Returns the number of rows rewritten."""
    n = 0
    for con in list(block.component_data_objects(pyo.Constraint, active=True, descend_into=True)):
        repn = generate_standard_repn(con.body, compute_values=True, quadratic=False)
        if not repn.is_linear():
            continue
        const = float(repn.constant)
        lb = None if con.lower is None else float(pyo.value(con.lower)) - const
        ub = None if con.upper is None else float(pyo.value(con.upper)) - const
        if lb is not None and ub is not None and lb != ub:
            continue  # a range: left as written (the compiler falls back for it)
        coefs = [float(c) for c in repn.linear_coefs]
        if not coefs:
            if (lb is None or lb <= 1e-9) and (ub is None or ub >= -1e-9):
                con.deactivate()  # always true
            continue  # a row that can never hold is left for the compiler to report
        con.set_value(linear_relation(coefs, list(repn.linear_vars), lb, ub))
        n += 1
    return n


class FinanceExtension:
    """Funding instruments inside the planning model (see the module docstring).

    ``spec``: the instruments (a :class:`FinanceSpec`; partners not in it have none).
    ``collection_rates``: per partner, the share of its receivables book collected in each period
    (numbers; used by factoring and reverse factoring). ``elastic``: add outside money per partner
    at ``penalty`` per unit and period, to diagnose a plan that cannot be funded. ``direct``:
    rewrite the instrument rows for the direct compiler.

    After the solve, ``kpis`` holds the funding KPIs and ``read_solution`` returns the funding
    tables ``funding_partners``, ``funding_cash`` and ``funding_instruments`` (the columns of
    :func:`finance.sizing.size_funding`'s tables).
    """

    name = "finance"
    binding_families = (*FINANCE_LIMIT_FAMILIES, "minimum_cash")  # reported as binding limits

    def __init__(
        self,
        spec: FinanceSpec,
        *,
        collection_rates: dict[str, Sequence[float]] | None = None,
        elastic: bool = False,
        penalty: float = ELASTIC_PENALTY,
        direct: bool = True,
    ):
        self.spec = spec
        self.collection_rates = collection_rates
        self.elastic = elastic
        self.penalty = penalty
        self.direct = direct
        self.kpis: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.rows_rewritten = 0

    # -- build -----------------------------------------------------------------------------------

    def declare(self, m: pyo.ConcreteModel, d: PlanningData) -> None:
        t0 = time.perf_counter()
        T = d.T
        ppy = self.spec.periods_per_year or periods_per_year(d.scenario.time.freq)
        self.periods_per_year = ppy
        days = 365.0 / ppy
        self.m, self.d = m, d
        x = self.x = PlanExpressions(m, d, days)
        unknown = [Problem(f"partners[{i}].partner", f"'{pf.partner}' is not a partner of the scenario")
                   for i, pf in enumerate(self.spec.partners) if pf.partner not in d.partners]
        if unknown:
            raise FinanceError(unknown)
        self.partners = [self.spec.partner(a) or PartnerFinance(partner=a) for a in d.partners]
        rates = structural_collection_rates(d, x)
        for a, r in (self.collection_rates or {}).items():
            if a in rates:
                rates[a] = np.clip(np.asarray(r, dtype=float), 0.0, 1.0)
        revenue_bound = sum(float((d.price[k] * d.demand[k]).sum()) for k in d.demand_keys)
        b = m.finance = pyo.Block()
        self.excess_keys: list[tuple[str, str, int, str]] = []
        self.concentration: dict[tuple[str, str, int], tuple[dict[str, Affine], float]] = {}
        inputs: dict[str, PartnerInputs] = {}
        pool_affine: dict[tuple[str, str, int], tuple[Affine, dict[str, Affine]]] = {}
        for pf in self.partners:
            a = pf.partner
            for inst in pf.instruments:
                pool = kind_of(inst.type).receivables_pool(inst)
                if pool is None:
                    continue
                for t in range(T):
                    per = x.eligible(a, t, max_age_days=pool.max_age_days, excluded=pool.excluded, only=pool.only)
                    base = Affine()
                    for cell in per.values():
                        base.extend(cell)
                    pool_affine[a, inst.id, t] = (base, per)
                    if pool.concentration_limit is not None:
                        self.concentration[a, inst.id, t] = (per, pool.concentration_limit)
                        self.excess_keys += [(a, inst.id, t, c) for c in per]
        b.excess = pyo.Var(self.excess_keys, bounds=(0.0, None))
        self.pool_affine = pool_affine
        for pf in self.partners:
            a = pf.partner
            pools: dict[str, list[Any]] = {}
            payables: dict[str, list[Any]] = {}
            for inst in pf.instruments:
                if kind_of(inst.type).receivables_pool(inst) is not None:
                    pool = []
                    for t in range(T):
                        base = Affine()
                        base.extend(pool_affine[a, inst.id, t][0])
                        if (a, inst.id, t) in self.concentration:
                            for c in pool_affine[a, inst.id, t][1]:
                                base.add(-1.0, b.excess[a, inst.id, t, c])
                        pool.append(base.expr())
                    pools[inst.id] = pool
                elif "payables" in inst.collateral():
                    payables[inst.id] = [x.payables(a, t, inst.supplier).expr() for t in range(T)]
            big_m = loan_bound(revenue_bound, d.min_cash[a], d.opening_cash[a], pf.instruments)
            inputs[a] = PartnerInputs(
                partner=a,
                receivables=[x.receivables_total(a, t).expr() for t in range(T)],
                inventory=[x.inventory[a][t].expr() for t in range(T)],
                collection_rate=rates[a],
                pools=pools,
                payables_due=payables,
                big_m=big_m,
            )
        self.fm = InstrumentModel(self.partners, inputs, T, days_per_period=days)
        self.fm.declare(b)
        self.deposit = {pf.partner: Deposit(pf.partner, pf.deposit_rate, T) for pf in self.partners}
        b.unfunded = pyo.Var([(a, t) for a in d.partners for t in range(T)] if self.elastic else [], bounds=(0.0, None))
        self.timings["declare"] = time.perf_counter() - t0

    def cash_terms(self, m: pyo.ConcreteModel, d: PlanningData) -> Iterable[tuple[str, int, float, Any]]:
        b = m.finance
        yield from self.fm.cash_terms(b)
        yield from self._deposit_interest(m, d)
        if self.elastic:
            for a in d.partners:
                for t in range(d.T):
                    yield a, t, 1.0, b.unfunded[a, t]
                    if t > 0:
                        yield a, t, -1.0, b.unfunded[a, t - 1]

    def add_constraints(self, m: pyo.ConcreteModel, d: PlanningData) -> None:
        t0 = time.perf_counter()
        b = m.finance
        self.fm.add_constraints(b)
        rows = []
        for (a, n, t), (per, limit) in self.concentration.items():
            base = Affine()
            for cell in per.values():
                base.extend(cell)
            for c, cell in per.items():
                body = Affine()
                body.add(1.0, b.excess[a, n, t, c])
                body.extend(cell, -1.0)
                body.extend(base, limit)
                rows.append(((a, n, t, c), body.expr() >= 0))
        exprs = dict(rows)
        b.concentration_index = pyo.Set(initialize=list(exprs), dimen=None, ordered=True)
        b.concentration = pyo.Constraint(b.concentration_index, rule=lambda _b, *idx: exprs[idx])
        if self.direct:
            self.rows_rewritten = _canonicalise(b)
        self.timings["constraints"] = time.perf_counter() - t0

    def cost_terms(self, m: pyo.ConcreteModel, d: PlanningData) -> list[tuple[float, Any]]:
        """Net financing cost as (coefficient, variable): interest, fees, accrued interest and
        discounts given, less discounts taken and deposit interest."""
        b = m.finance
        out = list(self.fm.cost_terms(b))
        out.extend((-c, v) for _a, _t, c, v in self._deposit_interest(m, d))
        return out

    def _deposit_interest(self, m: pyo.ConcreteModel, d: PlanningData) -> Iterable[tuple[str, int, float, Any]]:
        """Deposit interest in period t = rate_t x cash at the end of t - 1 (the opening cash, if
        positive, for t = 0), as (partner, period, coefficient, variable)."""
        for a, dep in self.deposit.items():
            for t in range(d.T):
                if not dep.rate(t):
                    continue
                constant, terms = dep.interest(t, d.opening_cash[a], m.cash[a, t - 1] if t > 0 else None)
                if constant:
                    yield a, t, constant, m.finance.one
                for c, v in terms:
                    yield a, t, c, v

    def objective_terms(self, m: pyo.ConcreteModel, d: PlanningData) -> Iterable[tuple[float, Any]]:
        for c, v in self.cost_terms(m, d):
            yield -c, v
        if self.elastic:
            for a in d.partners:
                for t in range(d.T):
                    yield -self.penalty, m.finance.unfunded[a, t]

    # -- read back ------------------------------------------------------------------------------

    def _fix_excess(self, b: pyo.Block) -> None:
        """Set each concentration excess to the lender's figure, max(0, customer - limit x base),
        so that read-back availability is the borrowing base (the LP only bounds it below)."""
        for (a, n, t), (per, limit) in self.concentration.items():
            values = {c: cell.value() for c, cell in per.items()}
            base = sum(values.values())
            for c, v in values.items():
                b.excess[a, n, t, c].set_value(max(0.0, v - limit * base), skip_validation=True)

    def cashflow_table(self, m: pyo.ConcreteModel, d: PlanningData) -> CashFlowTable:
        """The solved plan's cash-flow table, from the model's values (what the sizer would read
        from the finished plan: :func:`finance.cashflows.plan_cashflow_table`)."""
        sol = Solution.from_model(m, d)
        dates = period_dates(d.scenario)
        cash = pd.DataFrame(
            [{"partner": a, "period": t, "date": dates[t].date().isoformat(), "opening_cash": float(d.opening_cash[a]),
              "min_cash": float(d.min_cash[a][t])} for a in d.partners for t in range(d.T)]
        )
        return plan_cashflow_table(cash_flows_table(d, sol), cash, working_capital_book(d, sol.series),
                                   source=f"plan {d.scenario.name}".strip())

    def read_solution(self, m: pyo.ConcreteModel, d: PlanningData) -> dict[str, pd.DataFrame]:
        t0 = time.perf_counter()
        b = m.finance
        self._fix_excess(b)
        table = self.cashflow_table(m, d)
        spec = self.spec.model_copy(update={"partners": self.partners, "periods_per_year": self.periods_per_year})
        setup = prepare(spec, table)
        tables, kpis = read_funding(m, self.fm, setup, b.unfunded if self.elastic else None)
        self.table = table
        self.kpis = kpis
        self.timings["read"] = time.perf_counter() - t0
        return {"funding_partners": tables["partners"], "funding_cash": tables["cash"],
                "funding_instruments": tables["instruments"]}


# ---------------------------------------------------------------------------------------------
# Planning with finance
# ---------------------------------------------------------------------------------------------


def operations_only(scenario: Any) -> Any:
    """The scenario planned ignoring financing: minimum cash is not enforced and a funding gap
    costs nothing (the first step of the sequential answer)."""
    s = scenario.model_copy(deep=True)
    s.cash.mode = Softness.soft
    s.cash.funding_gap_rate = 0.0
    return s


def joint_scenario(scenario: Any) -> Any:
    """The scenario for joint planning: minimum cash enforced (the instruments replace the priced
    funding gap), at least 0 (an overdraft is a revolver)."""
    s = scenario.model_copy(deep=True)
    s.cash.mode = Softness.hard
    for a in s.partners:
        a.min_cash = [max(0.0, v) for v in a.min_cash] if isinstance(a.min_cash, list) else max(0.0, a.min_cash)
    return s


def _spec_for(scenario: Any, spec: FinanceSpec | None) -> FinanceSpec:
    spec = spec or finance_spec_from_scenario(scenario)
    if spec is None:
        raise FinanceError([Problem("finance", "the scenario has no finance section; give the instruments (a finance spec)")])
    problems = check_finance(spec)
    problems += check_partners_known(spec, "partners", [a.id for a in scenario.partners], "the scenario")
    if any(p.severity == "error" for p in problems):
        raise FinanceError(problems)
    return spec


def needs_collection_rates(spec: FinanceSpec) -> bool:
    return any(kind_of(i.type).uses_collection_rate for pf in spec.partners for i in pf.instruments)


def plan_with_finance(
    scenario: Any,
    spec: FinanceSpec | None = None,
    *,
    reference: Plan | None = None,
    collection_rates: dict[str, Sequence[float]] | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    warnings: Sequence[Problem] = (),
    progress: Any = None,
    verbose: bool = False,
    direct: bool = True,
    diagnose: bool = True,
    warm: Any = None,
    warm_label: str = "",
) -> Plan:
    """Plan operations and funding together; the Plan carries the funding tables
    (``funding_partners``, ``funding_cash``, ``funding_instruments``) and ``kpis["finance"]``.

    ``spec`` defaults to the scenario's finance section. Factoring and reverse factoring need each
    partner's collection rate: from ``collection_rates``, else from ``reference`` (a plan of the
    same scenario), else from the plan that ignores financing (solved here). If no plan can be
    funded the status is ``"infeasible"`` and, with ``diagnose``, the diagnosis names each partner
    short, when and by how much (from an elastic re-solve whose tables are returned as a best
    effort). Bad input raises :class:`FinanceError`."""
    spec = _spec_for(scenario, spec)
    say = progress or (lambda _msg: None)
    kwargs = dict(time_limit=time_limit, mip_gap=mip_gap, threads=threads, warnings=warnings, progress=progress, verbose=verbose)
    timings: dict[str, float] = {}
    if collection_rates is None and needs_collection_rates(spec):
        if reference is None or not has_solution(reference.status):
            say("planning operations alone (collection rates for factoring)")
            t0 = time.perf_counter()
            # the earlier joint plan's basis covers the operations-only model by name (the
            # finance columns and rows are dropped in the mapping): warm too
            reference = plan_scenario(operations_only(scenario), time_limit=time_limit, mip_gap=mip_gap,
                                      threads=threads, warm=warm, warm_label=warm_label)
            timings["reference_plan"] = time.perf_counter() - t0
        if has_solution(reference.status):
            collection_rates = collection_rates_from_plan(reference)
    joint = joint_scenario(scenario)
    ext = FinanceExtension(spec, collection_rates=collection_rates, direct=direct)
    plan = plan_scenario(joint, extensions=[ext], warm=warm, warm_label=warm_label, **kwargs)
    if plan.warm_start is not None and reference is not None and reference.warm_start is not None:
        plan.warm_start = {**plan.warm_start, "operations_only": reference.warm_start}
    plan.timings = {**timings, **plan.timings, **{f"finance_{k}": v for k, v in ext.timings.items()}}
    if plan.status == "infeasible" and diagnose:
        say("diagnosing the funding shortfall")
        elastic = FinanceExtension(spec, collection_rates=collection_rates, direct=direct, elastic=True)
        best = plan_scenario(joint, extensions=[elastic], **kwargs)
        if has_solution(best.status):
            cash = best.tables["funding_cash"]
            least = cash.groupby("partner")["shortfall"].sum().to_dict()
            diag = _shortfall_diagnosis(cash, least, elastic.fm.opening_due())
            diag["method"] = "elastic: least outside money per partner with operations and funding chosen together"
            diag["constraints"] = [f"minimum_cash[{r['partner']},{r['period']}]" for r in diag["shortfalls"]]
            diag["relaxation"] = [{"constraint": f"minimum_cash[{r['partner']},{r['period']}]", "violation": r["amount"]}
                                  for r in diag["shortfalls"]]
            diag["families"] = {"minimum_cash": len(diag["shortfalls"])}
            diag["solver"] = plan.diagnosis
            fill = best.kpis["chain"]["fill_rate"]
            diag["note"] = (
                "amount = money the partner would have to find outside its instruments, with operations "
                "and funding chosen to need as little as possible (the best-effort plan serves "
                f"{fill:.1%} of demand); the tables are that best effort"
            )
            penalty = sum(elastic.penalty * float(v.value or 0.0) for v in best_unfunded(elastic))
            best.kpis["chain"]["profit"] += penalty
            best.kpis["chain"]["extensions"]["finance"] += penalty
            best.status = "infeasible"
            best.termination = "cannot be funded: " + diag["message"]
            best.objective = None
            best.diagnosis = diag
            best.timings = {**plan.timings, **{f"diagnosis_{k}": v for k, v in best.timings.items()}}
            plan, ext = best, elastic
    plan.scenario_name = scenario.name
    plan.finance = spec.model_dump(mode="json", exclude_defaults=True)
    if ext.kpis:
        plan.kpis["finance"] = ext.kpis
    return plan


def best_unfunded(ext: FinanceExtension) -> list[Any]:
    return list(ext.m.finance.unfunded.values()) if ext.elastic else []


def funding_result_of(plan: Plan):
    """The funding of a plan made with finance, as a :class:`finance.sizing.FundingResult` (for
    its summary, JSON and workbook)."""
    from .sizing import FundingResult

    fin = plan.kpis.get("finance", {})
    tot = fin.get("total", {})
    spec = FinanceSpec.model_validate(plan.finance or {})
    return FundingResult(
        status=plan.status,
        termination=plan.termination,
        objective=tot.get("net_financing_cost"),
        objective_name="net financing cost (joint plan)",
        currency=spec.currency,
        periods_per_year=fin.get("periods_per_year", DEFAULT_PERIODS_PER_YEAR),
        kpis=fin,
        tables={"partners": plan.tables.get("funding_partners", pd.DataFrame()),
                "cash": plan.tables.get("funding_cash", pd.DataFrame()),
                "instruments": plan.tables.get("funding_instruments", pd.DataFrame())},
        diagnosis=plan.diagnosis if plan.status == "infeasible" else None,
        source=f"joint plan {plan.scenario_name}",
        name=spec.name,
    )
