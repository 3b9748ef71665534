"""Funding at risk: the distribution of each partner's funding need when demand differs from the
forecast a plan was made for.

Given a scenario, its solved plan, a finance spec and the demand's uncertainty, S demand
scenarios are drawn for the plan's horizon; in each, the plan's decisions stay as planned and
only what demand moves follows the scenario; the funding is then sized by
:func:`finance.sizing.size_funding` on that scenario's cash flows, exactly as ``jointplan fund``
sizes the point plan.

**What stays fixed** (the frozen decisions, in periods ``0 .. F-1``; ``frozen_periods`` F, default
the whole horizon): production, subcontracting and setups, the workforce and its hiring, layoffs
and overtime, and every shipment on every lane (the partners' purchases from each other, and the
transporter's work). Hence the stock of every site that sells to no consumer is as planned.
After the frozen periods the plan is made again for each scenario (:meth:`Simulation.replan`:
the planning model with the frozen periods fixed and the scenario's demand, which it knows in
advance: an optimistic re-plan); a scenario no re-plan can serve keeps the plan throughout.

**What follows each scenario**, at every demand site (site, product), period by period (a direct
simulation, not a re-solve)::

    want[t]      = D[t] + backlog[t-1]        (backlog sites; backlog[-1] = opening backlog)
                 = D[t] (+ opening backlog in period 0)          (lost-sales sites)
    available[t] = inventory[t-1] + n[t] - R[t]
    sales[t]     = min(want[t], max(0, available[t]))
    inventory[t] = inventory[t-1] + n[t] - sales[t];  backlog[t] or lost_sales[t] = want[t] - sales[t]

where ``n[t] = inventory_plan[t] - inventory_plan[t-1] + sales_plan[t]`` is the plan's own net
flow into the stock point other than sales (arrivals, production, minus onward shipments: all
frozen) and ``R[t] = max(0, max_{tau > t} -(n[t+1] + ... + n[tau]))`` the stock that frozen
onward shipments will still need (0 at a store, which ships nothing on). In words: sell what
demand and stock allow. A re-solve of the planning LP per scenario would choose sales knowing the
whole scenario's demand in advance (it could hold stock back for a later peak), which a store
cannot; the rule is also the LP's choice whenever selling beats holding (price above the
penalties), so with the forecast's own demand it reproduces the plan (checked: ``point_check``).
It costs microseconds per scenario, so the sizing LP is the whole cost.

Money then follows the scenario through the plan's own cash streams
(:func:`planning.plan.cash_flows_table` and :func:`planning.working_capital.working_capital_book`
on the simulated values): consumer revenue collected on the retailer's terms, holding cost of the
simulated stock, the same purchases, wages and freight as planned.

**Demand uncertainty** per demand (site, product) and period, from P10/P50/P90 (the consensus
forecast's quantiles) or from a coefficient of variation ``cv`` around the scenario's demand
(P50 = the demand, ``sigma = cv x demand``, normal). The distribution through the three
quantiles is a two-piece normal with half its mass on each side of P50::

    D = P50 + sigma_lo z  (z < 0),   P50 + sigma_hi z  (z >= 0),   z ~ N(0, 1)
    sigma_lo = (P50 - P10) / z90,   sigma_hi = (P90 - P50) / z90,   z90 = Phi^-1(0.9) = 1.2816

which reproduces the three quantiles exactly (normal when symmetric); demand below 0 is read as 0
(the quantiles above 0 are unchanged). Across periods of one series the z are equicorrelated,
``z_t = sqrt(rho) c + sqrt(1 - rho) e_t`` (default ``rho = 0``: independent periods; ``rho = 1``:
one quantile level for the whole horizon); different series are independent. Scenario ``i``
draws from its own generator ``numpy.random.default_rng([seed, i])``, so a scenario's demand
depends only on (seed, i): serial and parallel runs, and the first S of a larger run, agree.

**Report** per partner: P50, P90, P95 (and the mean) of the peak funding need ``max_t max(0,
min_cash[t] - cash before financing[t])``, the probability that the committed instruments cannot
fund the scenario (the sizing's elastic diagnosis leaves money unfunded, shortfall > 0), the
expected financing cost (interest + fees + accrued, and net of deposit interest and discounts),
P90 and P95 of the peak unfunded balance (what the instruments leave unfunded: roughly the extra
committed headroom that would fund 90 % or 95 % of the scenarios, its own cost aside);
per partner and period the same quantiles of the need, the probability of a shortfall, and the
P5 .. P95 fan of the cash before financing. An unfunded scenario's cost is that of its best
effort (every instrument used as well as possible).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from planning.data import PlanningData, compile_data
from planning.plan import cash_flows_table
from planning.working_capital import working_capital_book
from scenarios.fields import Problem
from scenarios.finance import FinanceError, FinanceSpec, FundingObjective, finance_spec_from_scenario
from scenarios.schema import Scenario, period_starts

from .cashflows import FINANCING_KINDS, CashFlowTable, plan_cashflow_table, plan_dict
from .sizing import FundingResult, size_funding

Z90 = float(norm.ppf(0.9))
MAX_SCENARIOS = 10_000
DEFAULT_SCENARIOS = 200
MAX_WORKERS = 64
QUANTILE_COLUMNS = ("p10", "p50", "p90")
NEED_QUANTILES = (0.5, 0.9, 0.95)
FAN_QUANTILES = (0.05, 0.1, 0.5, 0.9, 0.95)
SHORT = 1e-6  # money below this is no shortfall
POINT_TOLERANCE = 1e-6  # relative: the plan's cash flows recomputed from the scenario must match

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------------
# Demand uncertainty
# ---------------------------------------------------------------------------------------------


@dataclass
class DemandUncertainty:
    """Per demand key (site, product), in the scenario's order, and period: P10, P50, P90
    (arrays ``keys x T``), and the correlation of the draws across periods."""

    keys: list[tuple[str, str]]
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    correlation: float = 0.0
    source: str = ""
    left_out: int = 0  # rows of the quantile table outside the scenario's series and horizon

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_left_out": self.left_out,
            "distribution": "two-piece normal through P10/P50/P90 (half the mass each side of P50), "
                            "censored at 0",
            "correlation_across_periods": self.correlation,
            "series": len(self.keys),
            "p50_total": float(self.p50.sum()),
            "p10_total": float(self.p10.sum()),
            "p90_total": float(self.p90.sum()),
        }


def _check_correlation(correlation: float) -> None:
    if not isinstance(correlation, (int, float)) or not math.isfinite(correlation) or not 0.0 <= correlation <= 1.0:
        raise FinanceError([Problem("correlation", f"must be a number in [0, 1], got {correlation!r}")])


def _check_quantile_arrays(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, names: Sequence[str]) -> None:
    """Finite, p10 <= p50 <= p90; the first offender named."""
    for col, arr in (("p10", p10), ("p50", p50), ("p90", p90)):
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise FinanceError([Problem(f"quantiles.{col}", f"{names[i]}: not a finite number ({arr.ravel()[i]!r})")])
    for lo, hi, a, b in (("p10", "p50", p10, p50), ("p50", "p90", p50, p90)):
        bad = a > b
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise FinanceError([Problem(f"quantiles.{lo}", f"{names[i]}: {lo} {a.ravel()[i]:g} is above {hi} "
                                        f"{b.ravel()[i]:g}; quantiles must be ordered p10 <= p50 <= p90")])


def uncertainty_from_cv(scenario: Scenario, cv: float, *, correlation: float = 0.0) -> DemandUncertainty:
    """Normal demand around the scenario's: P50 = demand, sigma = cv x demand, so
    P10/P90 = demand -/+ z90 x sigma. ``cv`` finite and at least 0 (0: no uncertainty)."""
    if isinstance(cv, bool) or not isinstance(cv, (int, float)) or not math.isfinite(cv) or cv < 0:
        raise FinanceError([Problem("cv", f"must be a finite number >= 0, got {cv!r}")])
    _check_correlation(correlation)
    d = compile_data(scenario)
    p50 = np.array([d.demand[k] for k in d.demand_keys], dtype=float).reshape(len(d.demand_keys), d.T)
    spread = Z90 * float(cv) * p50
    return DemandUncertainty(list(d.demand_keys), p50 - spread, p50.copy(), p50 + spread, float(correlation),
                             f"cv {cv:g} around the scenario's demand")


def read_quantiles_csv(path: str | Path) -> pd.DataFrame:
    """A quantile table from CSV (``FinanceError`` naming the file when missing or unreadable)."""
    path = Path(path)
    if not path.exists():
        raise FinanceError([Problem(str(path), "quantiles file not found")])
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FinanceError([Problem(str(path), f"cannot read the quantiles CSV: {exc}")]) from None


def uncertainty_from_quantiles(scenario: Scenario, table: pd.DataFrame, *, correlation: float = 0.0,
                               source: str = "quantiles", only_scenario: bool = False) -> DemandUncertainty:
    """Map a quantile table onto the scenario's demand (site, product) and periods.

    The table has ``p10, p50, p90`` and names its series by ``site`` and ``product`` columns, or
    by ``unique_id`` as the consensus forecast does (``product/site``; ``site/product`` is read
    too); its periods by ``ds`` (or ``date``: the period's first day, as the consensus table) or
    ``period`` (0 .. T-1). Every demand (site, product) needs every period; a row that maps to no
    demand series or no period of the horizon, a duplicate, or a missing cell is refused, naming
    it (nothing is silently dropped). ``only_scenario`` (a whole consensus table, which covers
    the collaboration's every series and its whole horizon): rows of other series or dates are
    left out, counted in ``left_out``; the scenario's own series and periods are still all needed."""
    _check_correlation(correlation)
    d = compile_data(scenario)
    T = d.T
    df = table.rename(columns={c: str(c).strip().lower() for c in table.columns}).copy()
    missing = [c for c in QUANTILE_COLUMNS if c not in df.columns]
    if missing:
        raise FinanceError([Problem("quantiles", f"missing column(s): {', '.join(missing)} (have: {', '.join(df.columns)})")])
    if df.empty:
        raise FinanceError([Problem("quantiles", "the quantile table has no rows")])
    demand = set(d.demand_keys)
    problems: list[Problem] = []
    if {"site", "product"} <= set(df.columns):
        df["site"], df["product"] = df["site"].astype(str), df["product"].astype(str)
    elif "unique_id" in df.columns:
        sites, products = [], []
        for uid in df["unique_id"].astype(str):
            parts = uid.split("/")
            if len(parts) == 2 and (parts[1], parts[0]) in demand:
                site, product = parts[1], parts[0]
            elif len(parts) == 2 and (parts[0], parts[1]) in demand:
                site, product = parts[0], parts[1]
            else:
                site, product = None, uid
            sites.append(site)
            products.append(product)
        df["site"], df["product"] = sites, products
    else:
        raise FinanceError([Problem("quantiles", "name the series by 'site' and 'product' columns or a 'unique_id' "
                                    "(product/site)")])
    left_out = 0
    unknown = df[[(s, p) not in demand for s, p in zip(df["site"], df["product"])]]
    if len(unknown) and only_scenario:
        left_out += len(unknown)
        df = df.drop(index=unknown.index)
        unknown = unknown.iloc[0:0]
    if len(unknown):
        names = sorted({f"{p}" if s is None else f"{p}/{s}" for s, p in zip(unknown["site"], unknown["product"])})
        shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        problems.append(Problem("quantiles.unique_id", f"{len(names)} series map to no demand (site, product) of the "
                                f"scenario: {shown} (demand: {', '.join(f'{p}/{s}' for s, p in d.demand_keys)})"))
    starts = period_starts(scenario.time)
    if "period" in df.columns:
        per = pd.to_numeric(df["period"], errors="coerce")
        bad = per.isna() | (per != per.round()) | (per < 0) | (per >= T)
        if bad.any():
            problems.append(Problem("quantiles.period", f"row {int(np.flatnonzero(bad.to_numpy())[0]) + 1}: period "
                                    f"{df['period'][bad].iloc[0]!r} is not one of 0 .. {T - 1}"))
        df["t"] = per
    else:
        col = "ds" if "ds" in df.columns else "date" if "date" in df.columns else None
        if col is None:
            raise FinanceError([Problem("quantiles", "name the periods by 'ds' (or 'date', the period's first day) "
                                        "or 'period' (0 .. T-1)")])
        index = {day: t for t, day in enumerate(starts)}
        days = pd.to_datetime(df[col], errors="coerce")
        ts = [index.get(x.date()) if not pd.isna(x) else None for x in days]
        if only_scenario:  # dates outside the horizon are other periods' (unreadable ones are still refused)
            keep = [t is not None or pd.isna(x) for t, x in zip(ts, days)]
            left_out += len(keep) - sum(keep)
            df = df[keep].copy()
            ts = [t for t, k in zip(ts, keep) if k]
        bad = [i for i, t in enumerate(ts) if t is None]
        if bad:
            shown = ", ".join(sorted({str(df[col].iloc[i]) for i in bad})[:6])
            problems.append(Problem(f"quantiles.{col}", f"{len(bad)} row(s) fall on no period start of the scenario "
                                    f"({starts[0]} .. {starts[-1]}, {scenario.time.freq.value}): {shown}"))
        df["t"] = ts
    if problems:
        raise FinanceError(problems)
    df["t"] = df["t"].astype(int)
    for c in QUANTILE_COLUMNS:
        values = pd.to_numeric(df[c], errors="coerce")
        if (values.isna() & df[c].notna()).any() or df[c].isna().any():
            i = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise FinanceError([Problem(f"quantiles.{c}", f"row {i + 1}: {df[c].iloc[i]!r} is not a number")])
        df[c] = values.astype(float)
    dup = df.duplicated(["site", "product", "t"])
    if dup.any():
        r = df[dup].iloc[0]
        raise FinanceError([Problem("quantiles", f"two rows for {r['product']}/{r['site']} period {int(r['t'])}")])
    K = len(d.demand_keys)
    out = {c: np.full((K, T), np.nan) for c in QUANTILE_COLUMNS}
    row = {k: i for i, k in enumerate(d.demand_keys)}
    for s, p, t, a, b, c in zip(df["site"], df["product"], df["t"], df["p10"], df["p50"], df["p90"]):
        i = row[(s, p)]
        out["p10"][i, t], out["p50"][i, t], out["p90"][i, t] = a, b, c
    holes = np.argwhere(np.isnan(out["p50"]))
    if len(holes):
        gaps: dict[tuple[str, str], list[int]] = {}
        for i, t in holes:
            gaps.setdefault(d.demand_keys[i], []).append(int(t))
        text = "; ".join(f"{p}/{s}: period(s) {', '.join(map(str, ts[:6]))}{' ...' if len(ts) > 6 else ''}"
                         for (s, p), ts in gaps.items())
        raise FinanceError([Problem("quantiles", f"no quantiles for {text}")])
    names = [f"{p}/{s} period {t}" for s, p in d.demand_keys for t in range(T)]
    _check_quantile_arrays(out["p10"], out["p50"], out["p90"], names)
    return DemandUncertainty(list(d.demand_keys), out["p10"], out["p50"], out["p90"], float(correlation), source,
                             left_out)


def standard_normals(seed: int, i: int, K: int, T: int, correlation: float) -> np.ndarray:
    """Scenario i's ``K x T`` standard normals, equicorrelated across periods within a series."""
    rng = np.random.default_rng([seed, i])
    e = rng.standard_normal((K, T))
    if correlation <= 0.0:
        return e
    c = rng.standard_normal((K, 1))
    return math.sqrt(correlation) * c + math.sqrt(1.0 - correlation) * e


def demand_from_normals(u: DemandUncertainty, z: np.ndarray) -> np.ndarray:
    """The two-piece normal's demand for standard normals ``z`` (``keys x T``), at least 0."""
    lo = (u.p50 - u.p10) / Z90
    hi = (u.p90 - u.p50) / Z90
    return np.maximum(0.0, u.p50 + np.where(z < 0.0, lo, hi) * z)


def sample_demand(u: DemandUncertainty, scenarios: int, seed: int) -> np.ndarray:
    """``scenarios x keys x T`` demand draws (scenario i from ``default_rng([seed, i])``)."""
    K, T = u.p50.shape
    return np.stack([demand_from_normals(u, standard_normals(seed, i, K, T, u.correlation)) for i in range(scenarios)])


# ---------------------------------------------------------------------------------------------
# The plan's decisions and the simulation
# ---------------------------------------------------------------------------------------------

FROZEN_FAMILIES = ("produce", "subcontract", "run", "workforce", "hire", "layoff", "overtime", "ship")
# plan table -> (family, key columns, value column)
_FAMILIES = (
    ("production", "produce", ("site", "product"), "production"),
    ("production", "subcontract", ("site", "product"), "subcontracting"),
    ("production", "run", ("site", "product"), "setup"),
    ("capacity", "workforce", ("site",), "workforce"),
    ("capacity", "hire", ("site",), "hired"),
    ("capacity", "layoff", ("site",), "laid_off"),
    ("capacity", "overtime", ("site",), "overtime"),
    ("shipments", "ship", ("lane", "product"), "quantity"),
    ("inventory", "inventory", ("site", "product"), "inventory"),
    ("sales", "sales", ("site", "product"), "sales"),
    ("sales", "backlog", ("site", "product"), "backlog"),
    ("sales", "lost_sales", ("site", "product"), "lost_sales"),
)


class Values:
    """Per-period values of the plan's variable families (``series(family, key)``, the getter
    :func:`planning.plan.cash_flows_table` and the working-capital book read), with the demand
    sites' sales and stock replaceable per scenario."""

    def __init__(self, T: int, base: dict[str, dict[tuple, np.ndarray]], override: dict[str, dict[tuple, np.ndarray]] | None = None):
        self.T = T
        self.base = base
        self.override = override or {}

    def series(self, family: str, key: tuple) -> np.ndarray:
        got = self.override.get(family, {}).get(key)
        if got is not None:
            return got
        return self.base.get(family, {}).get(key, np.zeros(self.T))


def plan_values(plan: dict[str, Any], T: int) -> dict[str, dict[tuple, np.ndarray]]:
    """The plan's variable values from its tables (the funding gap left at 0: financing is what
    the sizing decides)."""
    tables = plan.get("tables", {})
    out: dict[str, dict[tuple, np.ndarray]] = {}
    for name, family, keys, column in _FAMILIES:
        rows = tables.get(name)
        if not rows:
            continue
        df = pd.DataFrame(rows)
        if column not in df.columns:
            continue
        grid = out.setdefault(family, {})
        for key, g in df.groupby(list(keys), sort=False):
            key = key if isinstance(key, tuple) else (key,)
            arr = np.zeros(T)
            arr[g["period"].astype(int).to_numpy()] = g[column].astype(float).fillna(0.0).to_numpy()
            grid[tuple(map(str, key))] = arr
    return out


@dataclass
class Simulation:
    """What the frozen plan gives each scenario: the planning data, the plan's values and cash
    table, and per demand key the net non-sales inflow ``n`` and the reserve ``R``."""

    d: PlanningData
    values: dict[str, dict[tuple, np.ndarray]]
    cash: pd.DataFrame
    net_inflow: dict[tuple[str, str], np.ndarray]
    reserve: dict[tuple[str, str], np.ndarray]

    @classmethod
    def of(cls, scenario: Scenario, plan: dict[str, Any]) -> "Simulation":
        d = compile_data(scenario)
        T = d.T
        values = plan_values(plan, T)
        cash = pd.DataFrame(plan["tables"]["cash"])
        net, reserve = {}, {}
        for key in d.demand_keys:
            inv = values.get("inventory", {}).get(key, np.zeros(T))
            prev = np.concatenate([[d.opening_inventory.get(key, 0.0)], inv[:-1]])
            n = inv - prev + values.get("sales", {}).get(key, np.zeros(T))
            net[key] = n
            r = np.zeros(T)
            for t in range(T):  # the deepest dip of the frozen flows still to come
                run = np.cumsum(n[t + 1:])
                r[t] = max(0.0, -float(run.min())) if len(run) else 0.0
            reserve[key] = r
        return cls(d, values, cash, net, reserve)

    def sell(self, demand: np.ndarray) -> dict[str, dict[tuple, np.ndarray]]:
        """Sales, stock, backlog and lost sales at the demand sites for one scenario's demand
        (``keys x T``, in ``d.demand_keys`` order): sell what demand and stock allow."""
        d, T = self.d, self.d.T
        backlogged = set(d.backlog_keys)
        out: dict[str, dict[tuple, np.ndarray]] = {"sales": {}, "inventory": {}, "backlog": {}, "lost_sales": {}}
        for i, key in enumerate(d.demand_keys):
            n, r = self.net_inflow[key], self.reserve[key]
            stock = d.opening_inventory.get(key, 0.0)
            owed = d.opening_backlog.get(key, 0.0)
            sales, inv, short = np.zeros(T), np.zeros(T), np.zeros(T)
            for t in range(T):
                want = demand[i, t] + owed if (key in backlogged or t == 0) else demand[i, t]
                sold = min(want, max(0.0, stock + n[t] - r[t]))
                stock = stock + n[t] - sold
                sales[t], inv[t], short[t] = sold, stock, want - sold
                owed = short[t] if key in backlogged else 0.0
            out["sales"][key] = sales
            out["inventory"][key] = inv
            out["backlog" if key in backlogged else "lost_sales"][key] = short
        return out

    def cashflows(self, sold: dict[str, dict[tuple, np.ndarray]] | None = None) -> CashFlowTable:
        """The cash-flow table of the plan with these demand-site values (None: the plan's own),
        through the plan's cash streams and working-capital book."""
        v = Values(self.d.T, self.values, sold)
        flows = cash_flows_table(self.d, v)
        book = working_capital_book(self.d, v.series)
        return plan_cashflow_table(flows, self.cash, book, source=f"plan {self.d.scenario.name}")

    def replan(self, demand: np.ndarray, sold: dict[str, dict[tuple, np.ndarray]], frozen: int,
               time_limit: float | None = None) -> tuple[CashFlowTable, float] | None:
        """The plan re-made from period ``frozen`` on for this scenario's demand: the planning
        model (:func:`planning.model.build_model`) with the scenario's demand, the frozen decisions
        and the simulated sales fixed in periods ``< frozen`` (the demand sites' storage and
        safety-stock rows of those periods dropped: the simulated stock is what it is), solved
        by HiGHS; its cash-flow table and units sold, or None when no re-plan is feasible."""
        import copy

        import pyomo.environ as pyo

        from planning.model import build_model, grid_row
        from planning.plan import read_plan
        from planning.solve import solve_model

        d = copy.copy(self.d)
        d.demand = {k: demand[i].copy() for i, k in enumerate(d.demand_keys)}
        m = build_model(d)
        fixed = {f: self.values.get(f, {}) for f in FROZEN_FAMILIES}
        fixed["sales"] = sold["sales"]
        for family, grid in fixed.items():
            for key in m.family_keys[family]:
                x = grid.get(key, np.zeros(d.T))
                row = grid_row(m, family, key)
                for t in range(frozen):  # bounds, not fix(): HiGHS's tolerances absorb the plan's rounding
                    v = float(x[t])
                    v = round(v) if not row[t].is_continuous() else max(v, 0.0)
                    row[t].setlb(v)
                    row[t].setub(v)
        sites = {s for s, _ in d.demand_keys}
        for name in ("storage_capacity", "safety_stock"):
            con = getattr(m, name, None)
            for idx in list(con.keys()) if con is not None else []:
                if idx[0] in sites and idx[-1] < frozen:
                    con[idx].deactivate()
        result, cm = solve_model(m, time_limit=time_limit, mip_gap=d.scenario.solver.mip_gap)
        if not result.has_solution:
            return None
        tables, _kpis, _binding = read_plan(m, d, result, cm)
        from .cashflows import cashflows_from_plan

        units = float(tables["sales"]["sales"].sum()) if len(tables["sales"]) else 0.0
        return cashflows_from_plan({"status": result.status, "scenario": d.scenario.name, "tables": tables}), units

    def check_plan(self, plan: dict[str, Any]) -> None:
        """The plan's operating cash flows recomputed from the scenario and the plan's decisions are
        the plan's own (else the scenario is not the plan's, and the simulation would be wrong)."""
        got = cash_flows_table(self.d, Values(self.d.T, self.values))
        want = pd.DataFrame(plan["tables"].get("cash_flows") or [],
                            columns=["partner", "kind", "counterparty", "period_incurred", "period_settled", "amount"])
        got, want = got[~got["kind"].isin(FINANCING_KINDS)], want[~want["kind"].isin(FINANCING_KINDS)]
        a = got.groupby(["partner", "kind", "period_incurred"])["amount"].sum()
        b = want.groupby(["partner", "kind", "period_incurred"])["amount"].sum()
        diff = a.sub(b, fill_value=0.0).abs()
        scale = max(1.0, float(b.abs().max()) if len(b) else 1.0)
        if len(diff) and diff.max() > POINT_TOLERANCE * scale:
            (partner, kind, t) = diff.idxmax()
            raise FinanceError([Problem("scenario", f"is not the plan's scenario: {partner}'s {kind} in period {t} is "
                                        f"{a.get((partner, kind, t), 0.0):,.2f} from the scenario and the plan's "
                                        f"decisions but {b.get((partner, kind, t), 0.0):,.2f} in the plan")])

    def point_check(self, plan_sales_tolerance: float = 1e-6) -> dict[str, Any]:
        """The rule on the scenario's own demand against the plan's sales: sum over keys and
        periods of |rule's sales - plan's sales| (0 when the rule reproduces the plan)."""
        demand = np.array([self.d.demand[k] for k in self.d.demand_keys], dtype=float).reshape(len(self.d.demand_keys), self.d.T)
        sold = self.sell(demand)["sales"]
        diff = sum(float(np.abs(sold[k] - self.values.get("sales", {}).get(k, np.zeros(self.d.T))).sum())
                   for k in self.d.demand_keys)
        return {"units_sold_differently": diff, "reproduces_plan": diff <= plan_sales_tolerance * max(1.0, float(demand.sum()))}


# ---------------------------------------------------------------------------------------------
# Per scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class ScenarioOutcome:
    """What one scenario's sizing gives, per partner (arrays over periods)."""

    index: int
    status: str
    need: dict[str, np.ndarray]
    cash_before: dict[str, np.ndarray]
    debt: dict[str, np.ndarray]
    shortfall: dict[str, np.ndarray]
    financing_cost: dict[str, float]
    net_financing_cost: dict[str, float]
    demand_total: float
    sales_total: float
    result: FundingResult | None = None
    replanned: bool = False


def outcome_of(index: int, res: FundingResult, demand_total: float, sales_total: float, keep: bool) -> ScenarioOutcome:
    c = res.tables.get("cash")
    need, before, debt, short = {}, {}, {}, {}
    cost, net = {}, {}
    for a, g in c.groupby("partner", sort=False):
        g = g.sort_values("period")
        before[a] = g["cash_before_financing"].to_numpy(dtype=float)
        need[a] = np.maximum(0.0, g["min_cash"].to_numpy(dtype=float) - before[a])
        debt[a] = g["debt_outstanding"].to_numpy(dtype=float)
        short[a] = g["shortfall"].to_numpy(dtype=float)
        k = res.kpis["partners"][a]
        cost[a], net[a] = float(k["financing_cost"]), float(k["net_financing_cost"])
    return ScenarioOutcome(index, res.status, need, before, debt, short, cost, net, demand_total, sales_total,
                           res if keep else None)


def _size(table: CashFlowTable, spec: FinanceSpec, objective, time_limit) -> FundingResult:
    res = size_funding(table, spec, objective=objective, time_limit=time_limit)
    if not res.tables:
        raise FinanceError([Problem("sizing", f"the funding of a scenario could not be sized ({res.status}): "
                                    f"{(res.diagnosis or {}).get('message', res.termination)}")])
    return res


def run_scenarios(sim: Simulation, u: DemandUncertainty, spec: FinanceSpec, indices: Sequence[int], seed: int,
                  objective=None, time_limit=None, keep: bool = False, frozen: int | None = None) -> list[ScenarioOutcome]:
    """Simulate and size the scenarios ``indices`` (each from its own seeded generator);
    ``frozen`` < T re-plans the periods after the frozen ones (:meth:`Simulation.replan`)."""
    K, T = u.p50.shape
    out = []
    for i in indices:
        demand = demand_from_normals(u, standard_normals(seed, i, K, T, u.correlation))
        sold = sim.sell(demand)
        got = sim.replan(demand, sold, frozen, time_limit) if frozen is not None and frozen < T else None
        replanned = got is not None
        if got is None:  # all frozen, or no feasible re-plan: the plan's decisions kept throughout
            got = sim.cashflows(sold), float(sum(v.sum() for v in sold["sales"].values()))
        table, sales = got
        res = _size(table, spec, objective, time_limit)
        o = outcome_of(i, res, float(demand.sum()), sales, keep)
        o.replanned = replanned
        out.append(o)
    return out


def _worker(scenario_json: dict, plan: dict, spec_json: dict, u: DemandUncertainty, indices: list[int], seed: int,
            objective, time_limit, frozen) -> list[ScenarioOutcome]:
    """A process pool's task: rebuild the simulation (cheap) and run its scenarios."""
    from scenarios.io import parse_scenario
    from scenarios.finance import parse_finance_spec

    scenario, _ = parse_scenario(scenario_json, check=False)
    sim = Simulation.of(scenario, plan)
    return run_scenarios(sim, u, parse_finance_spec(spec_json, check=False), indices, seed, objective, time_limit,
                         frozen=frozen)


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclass
class AtRiskResult:
    """The distribution of the funding need over the scenarios (see the module docstring).

    ``partners``: one row per partner; ``periods``: one row per partner and period;
    ``settings``: what was simulated; ``point``: the point plan's sizing per partner."""

    settings: dict[str, Any]
    partners: pd.DataFrame
    periods: pd.DataFrame
    point: dict[str, Any]
    currency: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    outcomes: list[ScenarioOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                    for r in df.to_dict(orient="records")]

        return {"settings": self.settings, "currency": self.currency, "point": self.point,
                "partners": rows(self.partners), "periods": rows(self.periods), "timings": self.timings}


def _q(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q))


def summarise(outcomes: Sequence[ScenarioOutcome], point: FundingResult, dates: Sequence[Any]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The per-partner and per-period tables of the outcomes; the point plan's figures."""
    partners = list(outcomes[0].need)
    T = len(outcomes[0].need[partners[0]])
    point_k = point.kpis.get("partners", {})
    rows, prow = [], []
    for a in partners:
        need = np.stack([o.need[a] for o in outcomes])  # S x T
        peak = need.max(axis=1)
        short = np.stack([o.shortfall[a] for o in outcomes])
        before = np.stack([o.cash_before[a] for o in outcomes])
        debt = np.stack([o.debt[a] for o in outcomes])
        cost = np.array([o.financing_cost[a] for o in outcomes])
        net = np.array([o.net_financing_cost[a] for o in outcomes])
        pk = point_k.get(a, {})
        rows.append({
            "partner": a,
            "peak_need_p50": _q(peak, 0.5), "peak_need_p90": _q(peak, 0.9), "peak_need_p95": _q(peak, 0.95),
            "peak_need_mean": float(peak.mean()), "peak_need_max": float(peak.max()),
            "probability_lines_not_enough": float((short.max(axis=1) > SHORT).mean()),
            "unfunded_peak_p90": _q(short.max(axis=1), 0.9),
            "unfunded_peak_p95": _q(short.max(axis=1), 0.95),
            "expected_financing_cost": float(cost.mean()),
            "financing_cost_p90": _q(cost, 0.9),
            "expected_net_financing_cost": float(net.mean()),
            "point_peak_need": pk.get("peak_funding_need"),
            "point_financing_cost": pk.get("financing_cost"),
            "point_funded": pk.get("funded"),
        })
        qs = {q: np.quantile(need, q, axis=0) for q in NEED_QUANTILES}
        fan = {q: np.quantile(before, q, axis=0) for q in FAN_QUANTILES}
        dq = {q: np.quantile(debt, q, axis=0) for q in NEED_QUANTILES}
        for t in range(T):
            prow.append({
                "partner": a, "period": t, "date": dates[t] if t < len(dates) else None,
                "need_p50": float(qs[0.5][t]), "need_p90": float(qs[0.9][t]), "need_p95": float(qs[0.95][t]),
                "need_mean": float(need[:, t].mean()),
                "probability_short": float((short[:, t] > SHORT).mean()),
                **{f"cash_before_financing_p{round(q * 100)}": float(fan[q][t]) for q in FAN_QUANTILES},
                "debt_p50": float(dq[0.5][t]), "debt_p90": float(dq[0.9][t]), "debt_p95": float(dq[0.95][t]),
            })
    point_out = {"status": point.status, "partners": {a: {k: point_k[a].get(k) for k in
                 ("peak_funding_need", "peak_funding_need_period", "financing_cost", "net_financing_cost", "funded")}
                 for a in point_k}}
    return pd.DataFrame(rows), pd.DataFrame(prow), point_out


def _check_options(scenarios: Any, seed: Any, workers: Any) -> None:
    problems = []
    if isinstance(scenarios, bool) or not isinstance(scenarios, int) or not 1 <= scenarios <= MAX_SCENARIOS:
        problems.append(Problem("scenarios", f"must be a whole number in 1 .. {MAX_SCENARIOS:,}, got {scenarios!r}"))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        problems.append(Problem("seed", f"must be a whole number in 0 .. 2^63 - 1, got {seed!r}"))
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        problems.append(Problem("workers", f"must be a whole number in 1 .. {MAX_WORKERS}, got {workers!r}"))
    if problems:
        raise FinanceError(problems)


def funding_at_risk(
    scenario: Scenario,
    plan: Any,
    uncertainty: DemandUncertainty,
    spec: FinanceSpec | None = None,
    *,
    scenarios: int = DEFAULT_SCENARIOS,
    seed: int = 0,
    objective: FundingObjective | None = None,
    time_limit: float | None = None,
    frozen_periods: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    keep_results: bool = False,
) -> AtRiskResult:
    """The funding at risk of a solved plan of ``scenario`` (a Plan, its dict or a plan.json
    path) under ``uncertainty``: ``scenarios`` demand scenarios (1 .. 10,000) from ``seed``,
    each sized with ``spec`` (default: the scenario's finance section). ``frozen_periods`` F
    (1 .. T, default T): the plan's decisions are kept in periods 0 .. F-1 and re-planned after
    them for each scenario (:meth:`Simulation.replan`). ``workers`` > 1 runs
    them in a process pool with the same result as serial. ``progress(done, total)`` after each
    batch; ``keep_results`` keeps every scenario's :class:`FundingResult` (in ``outcomes``)."""
    _check_options(scenarios, seed, workers)
    data = plan_dict(plan)
    t0 = time.perf_counter()
    if spec is None:
        spec = finance_spec_from_scenario(scenario)
        if spec is None or not spec.partners:
            raise FinanceError([Problem("finance", "no instruments: the scenario has no finance section; give a spec")])
    from .cashflows import cashflows_from_plan

    point = size_funding(cashflows_from_plan(data), spec, objective=objective, time_limit=time_limit)
    sim = Simulation.of(scenario, data)
    sim.check_plan(data)
    T = sim.d.T
    frozen = T if frozen_periods is None else frozen_periods
    if isinstance(frozen, bool) or not isinstance(frozen, int) or not 1 <= frozen <= T:
        raise FinanceError([Problem("frozen_periods", f"must be a whole number in 1 .. {T} (the horizon), got {frozen_periods!r}")])
    if uncertainty.keys != list(sim.d.demand_keys) or uncertainty.p50.shape != (len(sim.d.demand_keys), sim.d.T):
        raise FinanceError([Problem("uncertainty", "was made for another scenario (its demand series or periods differ)")])
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    say = progress or (lambda _done, _total: None)
    outcomes: list[ScenarioOutcome] = []
    batch = max(1, min(25, scenarios // (4 * workers) or 1))
    chunks = [list(range(i, min(i + batch, scenarios))) for i in range(0, scenarios, batch)]
    say(0, scenarios)
    if workers == 1:
        for chunk in chunks:
            outcomes += run_scenarios(sim, uncertainty, spec, chunk, seed, objective, time_limit, keep_results, frozen)
            say(len(outcomes), scenarios)
    else:
        import multiprocessing

        scenario_json = scenario.model_dump(mode="json", exclude_none=True)
        spec_json = spec.model_dump(mode="json", exclude_defaults=True)
        slim = {"tables": {k: data["tables"][k] for k in ("production", "capacity", "shipments", "inventory", "sales", "cash")
                           if k in data["tables"]}}
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_worker, scenario_json, slim, spec_json, uncertainty, chunk, seed, objective, time_limit,
                                   frozen)
                       for chunk in chunks]
            for fut in as_completed(futures):
                outcomes += fut.result()
                say(len(outcomes), scenarios)
        outcomes.sort(key=lambda o: o.index)
    run = time.perf_counter() - t0
    dates = [str(x) for x in period_starts(scenario.time)]
    partners, periods, point_out = summarise(outcomes, point, dates)
    demand = np.array([o.demand_total for o in outcomes])
    sold = np.array([o.sales_total for o in outcomes])
    settings = {
        "scenarios": scenarios, "seed": seed, "workers": workers,
        "frozen_periods": frozen, "periods": T,
        "frozen": "production, subcontracting, setups, workforce, overtime and every shipment"
                  + (", for the whole horizon" if frozen == T else f", in periods 0 .. {frozen - 1}; re-planned after "
                     "them with the scenario's demand (the planning model, perfect foresight of periods >= "
                     f"{frozen})"),
        "scenarios_replanned": int(sum(o.replanned for o in outcomes)),
        "sales_rule": "sell what demand and stock allow (direct simulation per demand site and period)",
        "uncertainty": uncertainty.describe(),
        "point_check": sim.point_check(),
        "demand_total": {"point": float(sum(sim.d.demand[k].sum() for k in sim.d.demand_keys)),
                         "mean": float(demand.mean()), "p10": _q(demand, 0.1), "p90": _q(demand, 0.9)},
        "fill_rate_mean": float((sold / np.where(demand > 0, demand, 1.0)).mean()),
        "scenarios_not_funded": int(sum(o.status == "infeasible" for o in outcomes)),
        "need_quantile_method": "numpy.quantile, linear interpolation between order statistics",
    }
    timings = {"setup": setup, "scenarios": run, "per_scenario": run / scenarios}
    return AtRiskResult(settings, partners, periods, point_out, currency=scenario.currency,
                        timings=timings, outcomes=outcomes if keep_results else [])
