"""From scenario to plan: check, build, solve, read back into tidy tables and KPIs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from scenarios.fields import Problem
from scenarios.schema import Scenario, period_starts

from .data import CashStream, PlanningData, compile_data
from .gc_pause import gc_paused
from .model import CAPACITY_FAMILIES, NON_OPERATING_KINDS, ModelExtension, build_model
from .solve import SolveResult, column_values, solve_model
from .warm import SavedBasis
from .working_capital import NEGLIGIBLE, working_capital_book, working_capital_table

Progress = Callable[[str], None]


@dataclass
class Plan:
    status: str
    objective: float | None
    termination: str
    kpis: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    binding: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    mip_gap: float | None = None
    solver_log: str = ""
    scenario_name: str = ""
    objective_sense: str = ""
    finance: dict[str, Any] | None = None  # the scenario's funding instruments (a finance spec), if any
    currency: str = ""  # the scenario's currency (every amount)
    basis: SavedBasis | None = None  # HiGHS's final basis (a MIP: its solution), for a later warm start
    warm_start: dict[str, Any] | None = None  # what starting from an earlier plan did (None: a cold solve)
    simplex_iterations: int | None = None
    solver_method: str | None = None  # simplex | ipm | branch_and_bound

    def to_dict(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "objective": self.objective,
            "kpis": self.kpis,
            "tables": {name: table_records(df) for name, df in self.tables.items()},
            "scenario": self.scenario_name,
            "currency": self.currency,
            "objective_sense": self.objective_sense,
            "termination": self.termination,
            "mip_gap": self.mip_gap,
            "binding_limits": self.binding,
            "diagnosis": self.diagnosis,
            "warnings": [w.as_dict() for w in self.warnings],
            "timings": self.timings,
            "simplex_iterations": self.simplex_iterations,
            "solver_method": self.solver_method,
            "warm_start": self.warm_start,
            "solver_log_tail": "\n".join(self.solver_log.strip().splitlines()[-25:]),
        }
        if self.finance is not None:
            out["finance"] = self.finance
        return out

    def write_json(self, path: str | Path) -> None:
        """The plan as JSON; its basis (for ``jointplan plan --warm-from``) is the last key."""
        out = self.to_dict()
        if self.basis is not None:
            out["basis"] = self.basis.to_json()
        Path(path).write_text(json.dumps(out, indent=2, default=json_default), encoding="utf-8")

    def write_excel(self, path: str | Path | Any, funding: Any = None) -> None:
        """The plan's workbook (:func:`planning.workbook.build_workbook`): a summary with KPIs per
        partner and charts, the funding sheets (``funding``: a ``FundingResult`` or its dict; a
        joint plan carries its own), then the tables."""
        from .workbook import write_workbook

        if funding is not None and hasattr(funding, "to_dict"):
            funding = {**funding.to_dict(), "mode": "sized"}
        write_workbook(path, self.to_dict(), funding)


def json_default(o: Any) -> Any:
    """JSON for numpy numbers and timestamps (dates), else the text."""
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.date().isoformat()
    return str(o)


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON rows, dates as ``YYYY-MM-DD``."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out.to_dict(orient="records")


def period_dates(s: Scenario) -> pd.DatetimeIndex:
    """The start date of each period (:func:`scenarios.schema.period_starts`)."""
    return pd.DatetimeIndex(period_starts(s.time))


class Solution:
    """Variable values of a solved model, each family as a (keys x T) matrix."""

    def __init__(self, m, d: PlanningData, values: dict[str, tuple[list, np.ndarray]]):
        self.d = d
        self.values = values
        self.matrices: dict[str, np.ndarray] = {}
        self.row_of: dict[str, dict[tuple, int]] = {}
        for name, keys in m.family_keys.items():
            vals = values[name][1]
            self.matrices[name] = vals.reshape(len(keys), d.T) if keys else np.zeros((0, d.T))
            self.row_of[name] = {k: i for i, k in enumerate(keys)}

    @classmethod
    def from_model(cls, m, d: PlanningData) -> "Solution":
        """The values the model's variables hold (None read as 0)."""
        values = {name: (None, np.array([v.value or 0.0 for v in getattr(m, name).values()], dtype=float))
                  for name in m.family_keys}
        return cls(m, d, values)

    def series(self, family: str, key: tuple) -> np.ndarray:
        return self.matrices[family][self.row_of[family][key]]

    def table(self, family: str, key_names: Sequence[str], value_name: str | None = None) -> pd.DataFrame:
        keys = list(self.row_of[family])
        T = self.d.T
        mat = self.matrices[family]
        cols: dict[str, Any] = {}
        for j, name in enumerate(key_names):
            cols[name] = np.repeat([k[j] for k in keys], T) if keys else np.array([], dtype=object)
        cols["period"] = np.tile(np.arange(T), len(keys))
        cols[value_name or family] = mat.reshape(-1)
        return pd.DataFrame(cols)


def stream_amounts(st: CashStream, sol: Solution | None, T: int) -> np.ndarray:
    """Signed amount of a stream per period incurred."""
    base = st.sign * st.coef
    if st.var is None:
        return base.astype(float)
    return base * sol.series(st.var, st.key)


def cash_flows_table(d: PlanningData, sol: Solution) -> pd.DataFrame:
    """The plan's ``cash_flows`` table: per stream and period with money (|amount| >
    NEGLIGIBLE), ``partner, kind, counterparty, period_incurred, period_settled`` (incurred + the
    stream's lag) and the signed ``amount``."""
    rows = []
    for st in d.streams:
        amounts = stream_amounts(st, sol, d.T)
        for t in np.flatnonzero(np.abs(amounts) > NEGLIGIBLE):
            rows.append((st.partner, st.kind, st.counterparty, int(t), int(t) + st.lag, float(amounts[t])))
    return pd.DataFrame(rows, columns=["partner", "kind", "counterparty", "period_incurred", "period_settled", "amount"])


def read_plan(
    m, d: PlanningData, result: SolveResult, cm, extensions: Sequence[ModelExtension] = ()
) -> tuple[dict[str, pd.DataFrame], dict[str, Any], list[dict[str, Any]]]:
    """Tidy tables, KPIs and binding limits from a solved model."""
    with gc_paused():
        return _read_plan(m, d, result, cm, extensions)


def _read_plan(m, d, result, cm, extensions):
    T = d.T
    dates = period_dates(d.scenario)
    sol = Solution(m, d, column_values(m, cm, result.x))
    if extensions:  # extensions read their own variables from the Pyomo model
        for v, value in zip(cm.columns, result.x):
            v.set_value(float(value), skip_validation=True)
    tables: dict[str, pd.DataFrame] = {}

    def with_dates(df: pd.DataFrame) -> pd.DataFrame:
        df.insert(df.columns.get_loc("period") + 1, "date", dates[df["period"].to_numpy()])
        return df

    # Production
    prod = sol.table("produce", ["site", "product"], "production")
    if d.subcontract_keys:
        sub = sol.table("subcontract", ["site", "product"], "subcontracting")
        prod = prod.merge(sub, on=["site", "product", "period"], how="left")
    else:
        prod["subcontracting"] = 0.0
    prod["subcontracting"] = prod["subcontracting"].fillna(0.0)
    if d.overtime_product_keys:  # units of each product made in overtime, where overtime is per product
        ot = sol.table("overtime_product", ["site", "product"], "overtime")
        prod = prod.merge(ot, on=["site", "product", "period"], how="left")
        prod["overtime"] = prod["overtime"].fillna(0.0)
    if d.setup_keys:
        runs = sol.table("run", ["site", "product"], "setup")
        prod = prod.merge(runs, on=["site", "product", "period"], how="left")
        prod["setup"] = prod["setup"].fillna(0.0).round().astype(int)
    tables["production"] = with_dates(prod)

    # Capacity levers per plant
    lever_rows = []
    for s, pl in d.plants.items():
        for t in range(T):
            row: dict[str, Any] = {"site": s, "period": t}
            used = sum(float(pl.hours_per_unit[p][t]) * sol.series("produce", (s, p))[t] for p in pl.products)
            row["capacity_used"] = used
            row["capacity_unit"] = "hours" if pl.capacity_in_hours else "units"
            if pl.has_workforce:
                w = sol.series("workforce", (s,))[t]
                row["workforce"] = w
                row["hired"] = sol.series("hire", (s,))[t]
                row["laid_off"] = sol.series("layoff", (s,))[t]
                row["regular_capacity"] = float(pl.hours_per_worker[t]) * w
            elif pl.regular_capacity is not None:
                row["regular_capacity"] = float(pl.regular_capacity[t])
            elif pl.regular_capacity_by_product is not None and len(pl.regular_capacity_by_product) == len(pl.products):
                row["regular_capacity"] = float(sum(c[t] for c in pl.regular_capacity_by_product.values()))
            else:
                row["regular_capacity"] = np.nan
            row["overtime"] = sol.series("overtime", (s,))[t] if pl.has_overtime else 0.0
            lever_rows.append(row)
    tables["capacity"] = with_dates(pd.DataFrame(lever_rows)) if lever_rows else pd.DataFrame()

    # Shipments
    ship = sol.table("ship", ["lane", "product"], "quantity")
    ship.insert(1, "origin", ship["lane"].map(d.lane_origin))
    ship.insert(2, "destination", ship["lane"].map(d.lane_destination))
    ship["arrival_period"] = ship["period"] + ship["lane"].map(d.lane_lead).astype(int)
    tables["shipments"] = with_dates(ship)

    # Inventory
    inv = sol.table("inventory", ["site", "product"], "inventory")
    ss = np.zeros(len(inv))
    short = np.zeros(len(inv))
    for i, key in enumerate(d.stock_keys):
        if key in d.safety_stock:
            ss[i * T : (i + 1) * T] = d.safety_stock[key]
            if d.safety_stock_soft:
                short[i * T : (i + 1) * T] = sol.series("safety_shortfall", key)
            else:
                short[i * T : (i + 1) * T] = 0.0
    inv["safety_stock"] = ss
    inv["safety_shortfall"] = short
    inv["value"] = inv["inventory"] * inv["product"].map(d.standard_cost)
    tables["inventory"] = with_dates(inv)

    # Waste (only with perishable stock): scrapped units, at scrap_cost and at standard cost
    if d.shelf_life:
        waste = sol.table("waste", ["site", "product"], "units")
        waste["cost"] = waste["units"] * waste["product"].map(d.scrap_cost).astype(float)
        waste["value_lost"] = waste["units"] * waste["product"].map(d.standard_cost).astype(float)
        tables["waste"] = with_dates(waste)

    # Sales and service
    sales = sol.table("sales", ["site", "product"], "sales")
    sales.insert(3, "demand", np.concatenate([d.demand[k] for k in d.demand_keys]) if d.demand_keys else [])
    backlog = np.zeros(len(sales))
    lost = np.zeros(len(sales))
    served_on_time = np.zeros(len(sales))
    for i, key in enumerate(d.demand_keys):
        sl = slice(i * T, (i + 1) * T)
        sold = sol.series("sales", key)
        if key in sol.row_of["backlog"]:
            b = sol.series("backlog", key)
            backlog[sl] = b
            prev = np.concatenate([[d.opening_backlog.get(key, 0.0)], b[:-1]])
            served_on_time[sl] = np.clip(np.minimum(sold - prev, d.demand[key]), 0, None)
        else:
            lost[sl] = sol.series("lost_sales", key)
            served_on_time[sl] = np.minimum(sold, d.demand[key])
    sales["backlog"] = backlog
    sales["lost_sales"] = lost
    sales["price"] = np.concatenate([d.price[k] for k in d.demand_keys]) if d.demand_keys else []
    sales["revenue"] = sales["sales"] * sales["price"]
    tables["sales"] = with_dates(sales)

    # Money: every stream, incurred and settled
    flows = cash_flows_table(d, sol)
    extension_cash: dict[tuple[str, int], float] = {}
    for ext in extensions:
        for a, t, c, v in ext.cash_terms(m, d):
            val = c * (v.value if v.value is not None else 0.0)
            extension_cash[a, t] = extension_cash.get((a, t), 0.0) + val
    tables["cash_flows"] = flows

    cash_rows = []
    settled = flows[flows["period_settled"] < T]
    inflow = settled[settled["amount"] > 0].groupby(["partner", "period_settled"])["amount"].sum()
    outflow = -settled[settled["amount"] < 0].groupby(["partner", "period_settled"])["amount"].sum()
    for a in d.partners:
        opening = d.opening_cash[a]
        closing_series = sol.series("cash", (a,))
        gap_series = sol.series("funding_gap", (a,)) if d.cash_soft else np.zeros(T)
        if d.cash_soft and d.funding_gap_rate == 0:  # unpriced: any gap above the shortfall was optimal too
            gap_series = np.clip(d.min_cash[a] - closing_series, 0.0, None)
        for t in range(T):
            cash_rows.append(
                {
                    "partner": a,
                    "period": t,
                    "opening_cash": opening,
                    "inflows": float(inflow.get((a, t), 0.0)),
                    "outflows": float(outflow.get((a, t), 0.0)),
                    "other_flows": extension_cash.get((a, t), 0.0),
                    "closing_cash": float(closing_series[t]),
                    "min_cash": float(d.min_cash[a][t]),
                    "funding_gap": float(gap_series[t]),
                }
            )
            opening = float(closing_series[t])
    cash = with_dates(pd.DataFrame(cash_rows))
    tables["cash"] = cash

    # Working capital per partner and period
    wc = working_capital_table(working_capital_book(d, sol.series))
    tables["working_capital"] = with_dates(wc)

    kpis = _kpis(d, sol, flows, tables, served_on_time, result)
    for ext in extensions:  # what an extension adds to profit (e.g. minus financing cost)
        value = sum(c * (v.value or 0.0) for c, v in ext.objective_terms(m, d))
        kpis["chain"].setdefault("extensions", {})[ext.name] = value
        kpis["chain"]["profit"] += value
    families = CAPACITY_FAMILIES.union(*(getattr(ext, "binding_families", ()) for ext in extensions))
    binding = binding_limits(result, cm, families)
    for ext in extensions:
        tables.update(ext.read_solution(m, d) or {})
    return tables, kpis, binding


def _kpis(d: PlanningData, sol: Solution, flows: pd.DataFrame, tables, served_on_time, result) -> dict[str, Any]:
    T = d.T
    operating = flows[~flows["kind"].isin(NON_OPERATING_KINDS)]
    per_partner: dict[str, Any] = {}
    penalty_by_partner: dict[str, dict[str, float]] = {a: {} for a in d.partners}
    for pen in d.penalties:
        amount = float((pen.coef * sol.series(pen.var, pen.key)).sum())
        bucket = penalty_by_partner[pen.partner]
        bucket[pen.kind] = bucket.get(pen.kind, 0.0) + amount
    wc = tables["working_capital"]
    cash = tables["cash"]
    waste = tables.get("waste", pd.DataFrame(columns=["site", "units", "value_lost"]))
    waste_partner = waste["site"].map(d.site_partner)
    for a in d.partners:
        mine = operating[operating["partner"] == a]
        my_waste = waste[waste_partner == a]
        by_kind = mine.groupby("kind")["amount"].sum()
        revenue = float(by_kind[by_kind > 0].sum())
        costs = {k: float(-v) for k, v in by_kind.items() if v < 0}
        penalties = penalty_by_partner[a]
        wca = wc[wc["partner"] == a]
        ca = cash[cash["partner"] == a]
        peak_i = int(wca["working_capital"].to_numpy().argmax()) if len(wca) else 0
        gap = ca["funding_gap"].to_numpy()
        per_partner[a] = {
            "role": d.role[a].value,
            "revenue": revenue,
            "costs": costs,
            "penalties": penalties,
            "profit": revenue - sum(costs.values()) - sum(penalties.values()),
            "closing_cash": float(ca["closing_cash"].iloc[-1]),
            "min_closing_cash": float(ca["closing_cash"].min()),
            "peak_working_capital": float(wca["working_capital"].iloc[peak_i]) if len(wca) else 0.0,
            "peak_working_capital_period": peak_i,
            "peak_funding_gap": float(gap.max()) if len(gap) else 0.0,
            "peak_funding_gap_period": int(gap.argmax()) if len(gap) else 0,
            "total_funding_gap": float(gap.sum()),
            "receivables_at_end": float(wca["receivables"].iloc[-1]) if len(wca) else 0.0,
            "payables_at_end": float(wca["payables"].iloc[-1]) if len(wca) else 0.0,
            "waste_units": float(my_waste["units"].sum()),
            "waste_value": float(my_waste["value_lost"].sum()),
        }
    chain_costs: dict[str, float] = {}
    for a in d.partners:
        for k, v in per_partner[a]["costs"].items():
            if k in {"purchases", "freight"}:
                continue  # paid to another partner: not a chain cost
            chain_costs[k] = chain_costs.get(k, 0.0) + v
    chain_penalties: dict[str, float] = {}
    for a in d.partners:
        for k, v in penalty_by_partner[a].items():
            chain_penalties[k] = chain_penalties.get(k, 0.0) + v
    consumer_revenue = float(operating.loc[operating["kind"] == "consumer_revenue", "amount"].sum())
    total_cost = sum(chain_costs.values())
    sales = tables["sales"]
    demand_total = float(sales["demand"].sum()) if len(sales) else 0.0
    inv = tables["inventory"]
    inv_value_by_t = inv.groupby("period")["value"].sum() if len(inv) else pd.Series(dtype=float)
    return {
        "chain": {
            "revenue": consumer_revenue,
            "costs": chain_costs,
            "total_cost": total_cost,
            "penalties": chain_penalties,
            "profit": consumer_revenue - total_cost - sum(chain_penalties.values()),
            "demand": demand_total,
            "sales": float(sales["sales"].sum()) if len(sales) else 0.0,
            "fill_rate": float(served_on_time.sum() / demand_total) if demand_total > 0 else 1.0,
            "unmet_demand": float(sales["lost_sales"].sum() + (sales.groupby(["site", "product"])["backlog"].last().sum() if len(sales) else 0.0)),
            "lost_sales": float(sales["lost_sales"].sum()) if len(sales) else 0.0,
            "backlog_unit_periods": float(sales["backlog"].sum()) if len(sales) else 0.0,
            "average_inventory_value": float(inv_value_by_t.mean()) if len(inv_value_by_t) else 0.0,
            "ending_inventory_value": float(inv_value_by_t.iloc[-1]) if len(inv_value_by_t) else 0.0,
            "total_funding_gap": float(tables["cash"]["funding_gap"].sum()),
            "waste_units": float(waste["units"].sum()),
            "waste_value": float(waste["value_lost"].sum()),
        },
        "partners": per_partner,
    }


def binding_limits(result: SolveResult, cm, families: Iterable[str] = CAPACITY_FAMILIES) -> list[dict[str, Any]]:
    """Inequality rows of ``families`` at their bound, with a non-zero shadow price where duals
    exist (the solver's row dual: objective change per unit the limit moves)."""
    if result.row_activity is None:
        return []
    families = frozenset(families)
    out = []
    lp = cm.lp
    upper = np.asarray(lp.row_upper_)
    lower = np.asarray(lp.row_lower_)
    act = result.row_activity
    for i, con in enumerate(cm.rows):
        family = con.parent_component().local_name
        if family not in families or cm.row_sense[i] == 0:
            continue
        bound = upper[i] if cm.row_sense[i] == 1 else lower[i]
        tight = abs(act[i] - bound) <= 1e-7 * max(1.0, abs(bound))
        dual = float(result.row_dual[i]) if result.row_dual is not None else None
        if tight and (dual is None or abs(dual) > 1e-9):
            out.append({"constraint": con.name, "family": family, "limit": float(bound), "shadow_price": dual})
    return out


def plan_scenario(
    scenario: Scenario,
    *,
    extensions: Sequence[ModelExtension] = (),
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    warnings: Sequence[Problem] = (),
    progress: Progress | None = None,
    verbose: bool = False,
    warm: SavedBasis | None = None,
    warm_label: str = "",
) -> Plan:
    """Plan a checked scenario: build, solve with HiGHS, read back tables and KPIs.

    ``warm``: the basis (or MIP solution) of an earlier plan to start from (``warm_label`` says
    which plan, for the record); see :mod:`planning.warm`. The plan keeps its own in ``basis``."""
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    say("compiling data")
    d = compile_data(scenario)
    say("building model")
    m = build_model(d, extensions)
    timings["build"] = time.perf_counter() - t0
    say("solving with HiGHS")
    opts = scenario.solver
    result, cm = solve_model(
        m,
        time_limit=time_limit if time_limit is not None else opts.time_limit,
        mip_gap=mip_gap if mip_gap is not None else opts.mip_gap,
        threads=threads if threads is not None else opts.threads,
        verbose=verbose,
        warm=warm,
        warm_label=warm_label,
        lp_method=opts.lp_method,
    )
    timings.update(result.timings)
    warnings = list(warnings)
    if result.warm_start is not None:
        ws = result.warm_start
        if not ws.get("used"):
            warnings.append(Problem("warm_start", f"not warm-started from {ws.get('from') or 'the earlier plan'}: "
                                    f"{ws.get('reason', 'unusable')}", "warning"))
        elif ws.get("fallback"):
            warnings.append(Problem("warm_start", f"warm start from {ws.get('from') or 'the earlier plan'} "
                                    f"fell back to a cold solve: {ws['fallback']}", "warning"))
    plan = Plan(
        status=result.status,
        objective=result.objective,
        termination=result.termination,
        diagnosis=result.diagnosis,
        warnings=warnings,
        mip_gap=result.mip_gap,
        solver_log=result.log,
        scenario_name=scenario.name,
        objective_sense=scenario.objective.value,
        currency=scenario.currency,
        basis=result.basis,
        warm_start=result.warm_start,
        simplex_iterations=result.simplex_iterations,
        solver_method=result.method,
    )
    if getattr(scenario, "finance", None) is not None:  # recorded so `jointplan fund PLAN.json` finds it
        from scenarios.finance import finance_spec_from_scenario

        plan.finance = finance_spec_from_scenario(scenario).model_dump(mode="json", exclude_defaults=True)
    if result.has_solution:
        say("reading the solution")
        t0 = time.perf_counter()
        plan.tables, plan.kpis, plan.binding = read_plan(m, d, result, cm, extensions)
        timings["readback"] = time.perf_counter() - t0
    plan.timings = timings
    return plan
