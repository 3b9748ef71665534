"""The joint planning model in Pyomo: one function per constraint family, called by build_model.

Notation (all indexed by period t = 0..T-1):

- ``inventory[s,p,t]`` on hand at the end of t; ``produce``/``subcontract[s,p,t]`` at plants;
  ``ship[l,p,t]`` leaving on lane l in t and arriving in t + lead(l);
- ``sales``, ``backlog``, ``lost_sales[s,p,t]`` at demand sites;
- ``waste[s,p,t]`` units scrapped in t at a stock point with a shelf life;
- ``stock_age[s,p,t,c]`` / ``ship_age[l,p,t,c]`` the part of ``inventory`` / ``ship`` that first
  entered the chain in period c (its cohort), for a perishable product's stock points on lanes
  (``PlanningData.age_sites``; see :func:`stock_age_balance`);
- ``workforce``, ``hire``, ``layoff``, ``overtime[s,t]`` at plants; ``run[s,p,t]`` setups (binary);
  ``overtime_product[s,p,t]`` the units of p made in overtime, where overtime is priced or limited
  per product (capacity in units);
- ``cash[a,t]`` closing cash of partner a (free), ``funding_gap[a,t]`` its shortfall below minimum.

Every constraint family is an indexed ``Constraint`` whose name is stable so reports and
infeasibility diagnoses can cite ``family[index]``. :data:`FAMILIES` holds one :class:`Family`
record per family, in build order: its builder, whether the infeasibility diagnosis may relax it
(``elastic``) and whether the plan reports it as a binding limit with a shadow price
(``capacity``). :func:`build_model` builds from it and ``ELASTIC_FAMILIES`` /
``CAPACITY_FAMILIES`` are read off it, so a new family needs a record and nothing else.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression, RangedExpression

from scenarios.schema import Objective

from .data import PlanningData
from .gc_pause import gc_paused

class ModelExtension(Protocol):
    """A module that adds to the planning model without editing planning/ (e.g. finance).

    Called in this order by :func:`build_model`: ``declare`` after the core variables exist;
    ``cash_terms`` while each partner's cash balance is built (terms are money *into* the
    partner's cash in that period); ``add_constraints`` after the core constraints;
    ``objective_terms`` (added to profit, i.e. a cost is a negative coefficient).
    ``read_solution`` gets the solved model and returns extra tables for the plan.
    The constraints an extension adds have no :class:`Family` record: the infeasibility
    diagnosis does not relax them; the plan reports the inequality rows of the families an
    extension names in an optional ``binding_families`` attribute as binding limits.
    """

    name: str

    def declare(self, m: pyo.ConcreteModel, d: PlanningData) -> None: ...

    def cash_terms(self, m: pyo.ConcreteModel, d: PlanningData) -> Iterable[tuple[str, int, float, Any]]: ...

    def add_constraints(self, m: pyo.ConcreteModel, d: PlanningData) -> None: ...

    def objective_terms(self, m: pyo.ConcreteModel, d: PlanningData) -> Iterable[tuple[float, Any]]: ...

    def read_solution(self, m: pyo.ConcreteModel, d: PlanningData) -> dict[str, Any]: ...


Row = tuple[Any, Sequence[float], Sequence[Any], float | None, float | None]
"""(index, coefficients, variables, lower bound, upper bound)"""


def linear_relation(coefs: Sequence[float], variables: Sequence[Any], lb: float | None, ub: float | None):
    """``lb <= sum(coef * var) <= ub`` as a finished Pyomo relational expression (built directly,
    which skips Pyomo's operator overloading and tuple conversion)."""
    body = LinearExpression(
        [v if c == 1.0 else MonomialTermExpression((c, v)) for c, v in zip(coefs, variables)]
    )
    if lb is not None and ub is not None:
        if lb == ub:
            return EqualityExpression((body, lb))
        return RangedExpression((lb, body, ub), (False, False))
    if ub is not None:
        return InequalityExpression((body, ub), False)
    return InequalityExpression((lb, body), False)


def _add_family(m: pyo.ConcreteModel, name: str, rows: list[Row]) -> None:
    """Declare one indexed constraint family ``lb <= sum(coef * var) <= ub`` from rows."""
    index = [r[0] for r in rows]
    relations = {r[0]: linear_relation(r[1], r[2], r[3], r[4]) for r in rows}

    def rule(_m, *idx):
        return relations[idx if len(idx) > 1 else idx[0]]

    setattr(m, f"{name}_index", pyo.Set(initialize=index, dimen=None, ordered=True))
    setattr(m, name, pyo.Constraint(getattr(m, f"{name}_index"), rule=rule))


# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------


def declare_variables(m: pyo.ConcreteModel, d: PlanningData) -> None:
    T = range(d.T)
    nn = pyo.NonNegativeReals

    def keyed(keys):
        return [(*k, t) for k in keys for t in T]

    m.T = pyo.Set(initialize=list(T), ordered=True)
    m.inventory = pyo.Var(keyed(d.stock_keys), domain=nn)
    waste_keys = list(d.shelf_life)
    m.waste = pyo.Var(keyed(waste_keys), domain=nn)
    for key in waste_keys:  # opening stock already past its life (opening_age > L) can only be scrapped
        if d.opening_age[key] > d.shelf_life[key] and d.opening_inventory[key] > 0:
            m.waste[(*key, 0)].setlb(float(d.opening_inventory[key]))
    m.produce = pyo.Var(keyed(d.production_keys), domain=nn)
    m.subcontract = pyo.Var(keyed(d.subcontract_keys), domain=nn)
    m.run = pyo.Var(keyed(d.setup_keys), domain=pyo.Binary)
    m.ship = pyo.Var(keyed(d.ship_keys), domain=nn)
    m.sales = pyo.Var(keyed(d.demand_keys), domain=nn)
    m.backlog = pyo.Var(keyed(d.backlog_keys), domain=nn)
    m.lost_sales = pyo.Var(keyed(d.lost_keys), domain=nn)
    stock_age_keys, ship_age_keys = age_keys(d)
    m.stock_age = pyo.Var(stock_age_keys, domain=nn)
    m.ship_age = pyo.Var(ship_age_keys, domain=nn)
    ss_keys = list(d.safety_stock) if d.safety_stock_soft else []
    m.safety_shortfall = pyo.Var(keyed(ss_keys), domain=nn)

    wf_plants = [s for s, p in d.plants.items() if p.has_workforce]
    int_plants = {s for s in wf_plants if d.plants[s].integer_workforce}

    def wf_domain(_m, s, t):
        return pyo.NonNegativeIntegers if s in int_plants else nn

    def wf_bounds(_m, s, t):
        p = d.plants[s]
        ub = None if p.max_workers is None else float(p.max_workers[t])
        return float(p.min_workers[t]), ub

    m.workforce = pyo.Var(keyed([(s,) for s in wf_plants]), domain=wf_domain, bounds=wf_bounds)
    m.hire = pyo.Var(keyed([(s,) for s in wf_plants]), domain=wf_domain)
    m.layoff = pyo.Var(keyed([(s,) for s in wf_plants]), domain=wf_domain)
    m.overtime = pyo.Var(keyed([(s,) for s, p in d.plants.items() if p.has_overtime]), domain=nn)
    m.overtime_product = pyo.Var(keyed(d.overtime_product_keys), domain=nn)
    m.cash = pyo.Var(keyed([(a,) for a in d.partners]), domain=pyo.Reals)
    m.funding_gap = pyo.Var(keyed([(a,) for a in d.partners]) if d.cash_soft else [], domain=nn)
    # Each family is declared key-major, period-minor: its values reshape to (len(keys), T).
    m.family_keys = {
        "inventory": d.stock_keys,
        "waste": waste_keys,
        "produce": d.production_keys,
        "subcontract": d.subcontract_keys,
        "run": d.setup_keys,
        "ship": d.ship_keys,
        "sales": d.demand_keys,
        "backlog": d.backlog_keys,
        "lost_sales": d.lost_keys,
        "safety_shortfall": ss_keys,
        "workforce": [(s,) for s in wf_plants],
        "hire": [(s,) for s in wf_plants],
        "layoff": [(s,) for s in wf_plants],
        "overtime": [(s,) for s, p in d.plants.items() if p.has_overtime],
        "overtime_product": d.overtime_product_keys,
        "cash": [(a,) for a in d.partners],
        "funding_gap": [(a,) for a in d.partners] if d.cash_soft else [],
    }
    # var_grid[family][key][t] is the VarData, without Pyomo's per-call index normalisation.
    m.var_grid = {}
    for name, keys in m.family_keys.items():
        data = list(getattr(m, name).values())
        grid = {}
        for i, k in enumerate(keys):
            grid[k if len(k) > 1 else k[0]] = data[i * d.T : (i + 1) * d.T]
        m.var_grid[name] = grid


def stock_cohorts(d: PlanningData, key: tuple[str, str], t: int) -> list[int]:
    """Cohorts c that may be counted in stock at the end of t at an age-tracked stock point with
    life L: c <= t and c >= t - L, the last one (c = t - L, one period past its life) held at 0 by
    its ``shelf_life`` row; all cohorts up to t where the site has no life. A cohort c >= 1 only
    from c <= t - age_delay (units made in c need that long to reach the site); opening cohorts
    and cohort 0 always."""
    life, latest = d.age_sites[key], t - d.age_delay[key]
    return [c for c in d.age_cohorts[key[1]] if (c <= latest or c <= 0) and c <= t and (life is None or c >= t - life)]


def ship_cohorts(d: PlanningData, ln: str, p: str, u: int) -> list[int]:
    """Cohorts c that lane ln may carry when shipping in u: held at the origin (life L_o) at the
    end of u-1 within its life or entered there in u (u - L_o <= c <= u), and arriving in
    u + lead while still sellable at the destination (life L_d): u + lead <= c + L_d; and, as in
    :func:`stock_cohorts`, c <= u - age_delay at the origin for c >= 1."""
    lo = d.age_sites[d.lane_origin[ln], p]
    ld = d.age_sites[d.lane_destination[ln], p]
    arrive, latest = u + d.lane_lead[ln], u - d.age_delay[d.lane_origin[ln], p]
    return [c for c in d.age_cohorts[p] if (c <= latest or c <= 0) and c <= u
            and (lo is None or c >= u - lo) and (ld is None or arrive <= c + ld)]


def age_keys(d: PlanningData) -> tuple[list[tuple], list[tuple]]:
    """The indices of ``stock_age`` [s,p,t,c] and ``ship_age`` [l,p,t,c]."""
    stock = [(s, p, t, c) for (s, p) in d.age_sites for t in range(d.T) for c in stock_cohorts(d, (s, p), t)]
    ship = [(ln, p, u, c) for ln, p in d.age_lanes for u in range(d.T) for c in ship_cohorts(d, ln, p, u)]
    return stock, ship


def grid_row(m: pyo.ConcreteModel, family: str, key: tuple) -> list:
    """The VarData of one key of a family, one per period."""
    return m.var_grid[family][key if len(key) > 1 else key[0]]


# ---------------------------------------------------------------------------------------------
# Constraint families
# ---------------------------------------------------------------------------------------------


def inventory_balance(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """inventory[s,p,t] = inventory[s,p,t-1] + produce + subcontract + sum_in ship[l,p,t-lead(l)]
    - sum_out ship[l,p,t] - sales[s,p,t] - waste[s,p,t]; inventory[s,p,-1] = opening inventory."""
    G = m.var_grid
    produce, sub, ship, sales, inv = G["produce"], G["subcontract"], G["ship"], G["sales"], G["inventory"]
    made, bought, sold = set(d.production_keys), set(d.subcontract_keys), set(d.demand_keys)
    rows: list[Row] = []
    for key in d.stock_keys:
        s, p = key
        ins = [(ln, d.lane_lead[ln]) for ln in d.inflows_into.get(key, [])]
        outs = d.outflows_from.get(key, [])
        for t in range(d.T):
            coefs, vs = [1.0], [inv[s, p][t]]
            if t > 0:
                coefs.append(-1.0)
                vs.append(inv[s, p][t - 1])
            if key in made:
                coefs.append(-1.0)
                vs.append(produce[s, p][t])
            if key in bought:
                coefs.append(-1.0)
                vs.append(sub[s, p][t])
            for ln, lead in ins:
                if t - lead >= 0:
                    coefs.append(-1.0)
                    vs.append(ship[ln, p][t - lead])
            for ln in outs:
                coefs.append(1.0)
                vs.append(ship[ln, p][t])
            if key in sold:
                coefs.append(1.0)
                vs.append(sales[s, p][t])
            if key in d.shelf_life:
                coefs.append(1.0)
                vs.append(G["waste"][s, p][t])
            rhs = d.opening_inventory[key] if t == 0 else 0.0
            rows.append(((s, p, t), coefs, vs, rhs, rhs))
    _add_family(m, "inventory_balance", rows)


def shelf_life(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """The life limit, row ``[s,p,t]`` per perishable stock point and period.

    At a stock point on no lane of the product (stock enters only as production, subcontracting
    or opening stock) with life L: inventory[s,p,t] <= what entered in t-L+1 .. t, i.e. sum of
    produce + subcontract [s,p,u] over u in the window, + the opening inventory if it entered
    (in period -opening_age) within the window. Units enter in cohort order and all issues are
    local, so issuing the oldest first is always among the best choices and the bound equals
    tracking stock by age (prod.mod's Inv[p,t,a] <= Inv[p,t-1,a-1]). A row is left out while
    everything that ever entered is within its life. (Shipments in, dated when shipped, count
    too; there are none unless the cohorts are switched off by emptying ``d.age_sites``, which
    gives the former, optimistic bound: benchmarks/shelf_life_ages.py compares the two.)
    Opening stock already past its life (opening_age > L) has waste[s,p,0] >= it as a bound.

    At an age-tracked stock point (``d.age_sites``, see :func:`stock_age_balance`) with life L:
    stock_age[s,p,t,t-L] <= 0, no unit is held one period past its life. Stock that cannot stay
    is scrapped: waste[s,p,t] in inventory_balance. Elastic: the diagnosis may keep units past
    their life (at a tracked site: one period past) and says how many."""
    G = m.var_grid
    made, bought = set(d.production_keys), set(d.subcontract_keys)
    rows: list[Row] = []
    for key, life in d.shelf_life.items():
        s, p = key
        if key in d.age_sites:
            for t in range(d.T):
                if (s, p, t, t - life) in m.stock_age:
                    rows.append(((s, p, t), [1.0], [m.stock_age[s, p, t, t - life]], None, 0.0))
            continue
        ins = [(ln, d.lane_lead[ln]) for ln in d.inflows_into.get(key, [])]
        for t in range(d.T):
            fresh_opening = -d.opening_age[key] >= t - life + 1
            if fresh_opening and t - life + 1 <= 0:
                continue  # everything that ever entered is within its life: the balance implies it
            coefs, vs = [1.0], [G["inventory"][s, p][t]]
            for u in range(max(0, t - life + 1), t + 1):
                if key in made:
                    coefs.append(-1.0)
                    vs.append(G["produce"][s, p][u])
                if key in bought:
                    coefs.append(-1.0)
                    vs.append(G["subcontract"][s, p][u])
                for ln, lead in ins:
                    if u + lead <= t:
                        coefs.append(-1.0)
                        vs.append(G["ship"][ln, p][u])
            rows.append(((s, p, t), coefs, vs, None, d.opening_inventory[key] if fresh_opening else 0.0))
    _add_family(m, "shelf_life", rows)


def stock_age_balance(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """Stock by entry cohort at the stock points of a perishable product on its lanes
    (``d.age_sites``): a unit's cohort c is the period it first entered the chain (made or bought
    in: c = t; opening stock: c = -opening_age) and it keeps it across lanes, so time at every
    site and in transit counts toward its age. Row ``[s,p,t,c]`` for each cohort present in t:

        stock_age[s,p,t,c] <= stock_age[s,p,t-1,c] + [c = t] (produce + subcontract)[s,p,t]
                              + sum_in ship_age[l,p,t-lead(l),c] - sum_out ship_age[l,p,t,c]

    (stock_age[s,p,-1,c] = opening inventory for c = -opening_age). The slack is what the site
    issues locally (sold or scrapped) from cohort c; with ``age_stock`` / ``age_ship``
    (sum_c stock_age = inventory, sum_c ship_age = ship) and inventory_balance, the slacks add up
    to sales + waste, so sales and waste need no cohort. Ages live in the index sets: a unit is
    held at the end of t only while t <= c + L - 1 (:func:`stock_cohorts`, one more slot held at 0
    by ``shelf_life``), shipped only if held or entered at the origin (:func:`ship_cohorts`) and
    only if it arrives by c + L at the destination, so every unit present in t may be sold in t.
    Exact: any plan by units and ages gives cohort quantities meeting these rows and vice versa.
    The optimiser chooses which cohorts to ship and to issue; oldest-first is not assumed (a fresh
    unit may go to the store while an older one is sold at the DC)."""
    rows: list[Row] = []
    made, bought = set(d.production_keys), set(d.subcontract_keys)
    SA, ZA, G = m.stock_age, m.ship_age, m.var_grid
    for key, life in d.age_sites.items():
        s, p = key
        ins = [(ln, d.lane_lead[ln]) for ln in d.inflows_into.get(key, [])]
        outs = d.outflows_from.get(key, [])
        cohorts = d.age_cohorts[p]
        for t in range(d.T):
            lo = 0 if life is None else bisect.bisect_left(cohorts, t - 1 - life)
            for c in cohorts[lo : bisect.bisect_right(cohorts, t)]:
                coefs: list[float] = []
                vs: list[Any] = []
                if (s, p, t, c) in SA:
                    coefs.append(1.0)
                    vs.append(SA[s, p, t, c])
                if t > 0 and (s, p, t - 1, c) in SA:
                    coefs.append(-1.0)
                    vs.append(SA[s, p, t - 1, c])
                if c == t and key in made:
                    coefs.append(-1.0)
                    vs.append(G["produce"][s, p][t])
                if c == t and key in bought:
                    coefs.append(-1.0)
                    vs.append(G["subcontract"][s, p][t])
                for ln, lead in ins:
                    if t - lead >= 0 and (ln, p, t - lead, c) in ZA:
                        coefs.append(-1.0)
                        vs.append(ZA[ln, p, t - lead, c])
                for ln in outs:
                    if (ln, p, t, c) in ZA:
                        coefs.append(1.0)
                        vs.append(ZA[ln, p, t, c])
                rhs = d.opening_inventory[key] if t == 0 and c == d.age_opening[key] else 0.0
                if any(x > 0 for x in coefs):  # else trivially true (e.g. the expired slot's last row)
                    rows.append(((s, p, t, c), coefs, vs, None, rhs))
    _add_family(m, "stock_age_balance", rows)


def age_stock(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_c stock_age[s,p,t,c] = inventory[s,p,t] at each age-tracked stock point."""
    rows: list[Row] = []
    for key in d.age_sites:
        s, p = key
        inv = m.var_grid["inventory"][s, p]
        for t in range(d.T):
            vs = [m.stock_age[s, p, t, c] for c in stock_cohorts(d, key, t)]
            rows.append(((s, p, t), [1.0] * len(vs) + [-1.0], vs + [inv[t]], 0.0, 0.0))
    _add_family(m, "age_stock", rows)


def age_ship(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_c ship_age[l,p,t,c] = ship[l,p,t] on each lane between age-tracked stock points (a lane
    with no cohort it may carry in t ships nothing then)."""
    rows: list[Row] = []
    for ln, p in d.age_lanes:
        ship = m.var_grid["ship"][ln, p]
        for u in range(d.T):
            vs = [m.ship_age[ln, p, u, c] for c in ship_cohorts(d, ln, p, u)]
            rows.append(((ln, p, u), [1.0] * len(vs) + [-1.0], vs + [ship[u]], 0.0, 0.0))
    _add_family(m, "age_ship", rows)


def production_capacity(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_p hours_per_unit[p,t] * produce[s,p,t] <= regular capacity[t] + overtime[s,t], where the
    regular capacity is a given figure or hours_per_worker[t] * workforce[s,t]. A regular capacity
    per product (units): produce[s,p,t] <= regular[p,t] + overtime_product[s,p,t] for each named
    p, row ``[s,p,t]``."""
    G = m.var_grid
    rows: list[Row] = []
    for s, pl in d.plants.items():
        if pl.regular_capacity_by_product is not None:
            for p, cap in pl.regular_capacity_by_product.items():
                for t in range(d.T):
                    coefs, vs = [1.0], [G["produce"][s, p][t]]
                    if pl.overtime_by_product:
                        coefs.append(-1.0)
                        vs.append(G["overtime_product"][s, p][t])
                    rows.append(((s, p, t), coefs, vs, None, float(cap[t])))
            continue
        if pl.regular_capacity is None and not pl.has_workforce:
            continue  # unlimited
        for t in range(d.T):
            coefs = [float(pl.hours_per_unit[p][t]) for p in pl.products]
            vs = [G["produce"][s, p][t] for p in pl.products]
            if pl.has_overtime:
                coefs.append(-1.0)
                vs.append(m.overtime[s, t])
            if pl.has_workforce:
                coefs.append(-float(pl.hours_per_worker[t]))
                vs.append(m.workforce[s, t])
                ub = 0.0
            else:
                ub = float(pl.regular_capacity[t])
            rows.append(((s, t), coefs, vs, None, ub))
    _add_family(m, "production_capacity", rows)


def overtime_limit(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """overtime[s,t] <= max_total[t]; overtime[s,t] <= max_per_worker[t] * workforce[s,t]; per
    product, overtime_product[s,p,t] <= max_total[p,t] (row ``[s,total,p,t]``)."""
    G = m.var_grid
    rows: list[Row] = []
    for s, pl in d.plants.items():
        if not pl.has_overtime:
            continue
        for p, cap in pl.overtime_product_max.items():
            for t in range(d.T):
                rows.append(((s, "total", p, t), [1.0], [G["overtime_product"][s, p][t]], None, float(cap[t])))
        for t in range(d.T):
            if pl.overtime_max_total is not None:
                rows.append(((s, "total", t), [1.0], [m.overtime[s, t]], None, float(pl.overtime_max_total[t])))
            if pl.overtime_max_per_worker is not None:
                rows.append(
                    (
                        (s, "per_worker", t),
                        [1.0, -float(pl.overtime_max_per_worker[t])],
                        [m.overtime[s, t], m.workforce[s, t]],
                        None,
                        0.0,
                    )
                )
    _add_family(m, "overtime_limit", rows)


def overtime_split(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """Where overtime is priced or limited per product: overtime[s,t] = sum_p overtime_product[s,p,t]
    (row ``overtime_split[s,t]``) and overtime_product[s,p,t] <= produce[s,p,t] (row
    ``overtime_split[s,p,t]``): the overtime units of a product are units of it made."""
    G = m.var_grid
    rows: list[Row] = []
    for s, pl in d.plants.items():
        if not pl.overtime_by_product:
            continue
        for t in range(d.T):
            vs = [m.overtime[s, t], *(G["overtime_product"][s, p][t] for p in pl.products)]
            rows.append(((s, t), [1.0] + [-1.0] * len(pl.products), vs, 0.0, 0.0))
        for p in pl.products:
            for t in range(d.T):
                rows.append(((s, p, t), [1.0, -1.0], [G["overtime_product"][s, p][t], G["produce"][s, p][t]], None, 0.0))
    _add_family(m, "overtime_split", rows)


def subcontract_limit(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_p subcontract[s,p,t] <= max_units[t]; per product, subcontract[s,p,t] <= max_units[p,t]
    (row ``[s,p,t]``)."""
    G = m.var_grid
    rows: list[Row] = []
    for s, pl in d.plants.items():
        for p, cap in pl.subcontract_product_max.items():
            for t in range(d.T):
                rows.append(((s, p, t), [1.0], [G["subcontract"][s, p][t]], None, float(cap[t])))
        if not pl.has_subcontracting or pl.subcontract_max is None:
            continue
        for t in range(d.T):
            vs = [G["subcontract"][s, p][t] for p in pl.products]
            rows.append(((s, t), [1.0] * len(vs), vs, None, float(pl.subcontract_max[t])))
    _add_family(m, "subcontract_limit", rows)


def setup_link(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """produce[s,p,t] <= M[p,t] * run[s,p,t], M the most that could ever be needed or made."""
    G = m.var_grid
    rows: list[Row] = []
    for s, p in d.setup_keys:
        big_m = d.plants[s].setup_big_m[p]
        for t in range(d.T):
            rows.append(((s, p, t), [1.0, -float(big_m[t])], [G["produce"][s, p][t], m.run[s, p, t]], None, 0.0))
    _add_family(m, "setup_link", rows)


def workforce_balance(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """workforce[s,t] = workforce[s,t-1] + hire[s,t] - layoff[s,t]; workforce[s,-1] = opening."""
    rows: list[Row] = []
    for s, pl in d.plants.items():
        if not pl.has_workforce:
            continue
        for t in range(d.T):
            coefs, vs = [1.0, -1.0, 1.0], [m.workforce[s, t], m.hire[s, t], m.layoff[s, t]]
            if t > 0:
                coefs.append(-1.0)
                vs.append(m.workforce[s, t - 1])
            rhs = pl.workforce_opening if t == 0 else 0.0
            rows.append(((s, t), coefs, vs, rhs, rhs))
    _add_family(m, "workforce_balance", rows)


def workforce_ending(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """workforce[s,T-1] >= ending minimum where one is given."""
    ending: list[Row] = [
        (s, [1.0], [m.workforce[s, d.T - 1]], pl.ending_min_workers, None)
        for s, pl in d.plants.items()
        if pl.has_workforce and pl.ending_min_workers is not None
    ]
    _add_family(m, "workforce_ending", ending)


def _volume_capacity_rows(
    variables: dict, keys, capacity: dict, product_capacity: dict, volume: dict, T: int
) -> list[Row]:
    """Rows sum_p volume[p] * x[k,p,t] <= capacity[k,t] over the products p of each key k, then
    volume[p] * x[k,p,t] <= capacity[k,p,t] for each (k, p) with a capacity of its own."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for k, p in keys:
        by_key[k].append(p)
    rows: list[Row] = []
    for k, cap in capacity.items():
        ps = by_key[k]
        for t in range(T):
            rows.append(((k, t), [volume[p] for p in ps], [variables[k, p][t] for p in ps], None, float(cap[t])))
    for (k, p), cap in product_capacity.items():
        for t in range(T):
            rows.append(((k, p, t), [volume[p]], [variables[k, p][t]], None, float(cap[t])))
    return rows


def lane_capacity(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_p volume[p] * ship[l,p,t] <= capacity[l,t]; a capacity per product:
    volume[p] * ship[l,p,t] <= capacity[l,p,t] for each named p (row ``[l,p,t]``)."""
    rows = _volume_capacity_rows(m.var_grid["ship"], d.ship_keys, d.lane_capacity, d.lane_product_capacity, d.volume, d.T)
    _add_family(m, "lane_capacity", rows)


def storage_capacity(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """sum_p volume[p] * inventory[s,p,t] <= capacity[s,t]; a capacity per product:
    volume[p] * inventory[s,p,t] <= capacity[s,p,t] for each named p (row ``[s,p,t]``)."""
    rows = _volume_capacity_rows(m.var_grid["inventory"], d.stock_keys, d.storage_capacity,
                                 d.storage_product_capacity, d.volume, d.T)
    _add_family(m, "storage_capacity", rows)


def demand_satisfaction(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """Backlog sites: sales[t] + backlog[t] - backlog[t-1] = demand[t] (backlog[-1] = opening backlog).
    Lost-sales sites: sales[t] + lost_sales[t] = demand[t] (+ opening backlog in period 0)."""
    G = m.var_grid
    backlogged = set(d.backlog_keys)
    rows: list[Row] = []
    for key in d.demand_keys:
        s, p = key
        q = d.demand[key]
        for t in range(d.T):
            rhs = float(q[t]) + (d.opening_backlog.get(key, 0.0) if t == 0 else 0.0)
            if key in backlogged:
                coefs, vs = [1.0, 1.0], [G["sales"][s, p][t], G["backlog"][s, p][t]]
                if t > 0:
                    coefs.append(-1.0)
                    vs.append(G["backlog"][s, p][t - 1])
            else:
                coefs, vs = [1.0, 1.0], [G["sales"][s, p][t], G["lost_sales"][s, p][t]]
            rows.append(((s, p, t), coefs, vs, rhs, rhs))
    _add_family(m, "demand_satisfaction", rows)


def backlog_clearance(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """backlog[s,p,T-1] = 0 at backlog sites that must clear it by the horizon end."""
    G = m.var_grid
    backlogged = set(d.backlog_keys)
    clearance: list[Row] = [
        ((s, p), [1.0], [G["backlog"][s, p][d.T - 1]], None, 0.0)
        for s, p in d.demand_keys
        if (s, p) in backlogged and d.clear_backlog[s]
    ]
    _add_family(m, "backlog_clearance", clearance)


def safety_stock(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """inventory[s,p,t] (+ safety_shortfall[s,p,t] when soft) >= safety_stock[s,p,t]."""
    G = m.var_grid
    rows: list[Row] = []
    for (s, p), ss in d.safety_stock.items():
        for t in range(d.T):
            coefs, vs = [1.0], [G["inventory"][s, p][t]]
            if d.safety_stock_soft:
                coefs.append(1.0)
                vs.append(G["safety_shortfall"][s, p][t])
            rows.append(((s, p, t), coefs, vs, float(ss[t]), None))
    _add_family(m, "safety_stock", rows)


def ending_inventory(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """inventory[s,p,T-1] >= ending target."""
    G = m.var_grid
    rows = [((s, p), [1.0], [G["inventory"][s, p][d.T - 1]], e, None) for (s, p), e in d.ending_inventory.items()]
    _add_family(m, "ending_inventory", rows)


def cash_balance(m: pyo.ConcreteModel, d: PlanningData, extensions: Sequence[ModelExtension] = ()) -> None:
    """cash[a,t] = cash[a,t-1] + sum over a's streams of sign * coef[t-lag] * x[t-lag]
    (+ extension terms); cash[a,-1] = opening cash. Constant streams move to the right-hand side."""
    G = m.var_grid
    terms: dict[tuple[str, int], list[tuple[float, Any]]] = defaultdict(list)
    constants: dict[tuple[str, int], float] = defaultdict(float)
    for st in d.streams:
        row = grid_row(m, st.var, st.key) if st.var else None
        for t in range(d.T - st.lag):
            c = st.sign * float(st.coef[t])
            if c == 0.0:
                continue
            if row is None:
                constants[st.partner, t + st.lag] += c
            else:
                terms[st.partner, t + st.lag].append((c, row[t]))
    for ext in extensions:
        for a, t, c, v in ext.cash_terms(m, d):
            terms[a, t].append((c, v))
    rows: list[Row] = []
    for a in d.partners:
        for t in range(d.T):
            coefs, vs = [1.0], [G["cash"][a][t]]
            if t > 0:
                coefs.append(-1.0)
                vs.append(G["cash"][a][t - 1])
            for c, v in terms.get((a, t), ()):
                coefs.append(-c)
                vs.append(v)
            rhs = constants.get((a, t), 0.0) + (d.opening_cash[a] if t == 0 else 0.0)
            rows.append(((a, t), coefs, vs, rhs, rhs))
    _add_family(m, "cash_balance", rows)


def minimum_cash(m: pyo.ConcreteModel, d: PlanningData) -> None:
    """cash[a,t] (+ funding_gap[a,t] when soft) >= min_cash[a,t]."""
    G = m.var_grid
    rows: list[Row] = []
    for a in d.partners:
        for t in range(d.T):
            coefs, vs = [1.0], [G["cash"][a][t]]
            if d.cash_soft:
                coefs.append(1.0)
                vs.append(G["funding_gap"][a][t])
            rows.append(((a, t), coefs, vs, float(d.min_cash[a][t]), None))
    _add_family(m, "minimum_cash", rows)


# ---------------------------------------------------------------------------------------------
# The constraint families, one record each
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One constraint family of the core model.

    ``build(m, d)`` declares the indexed ``Constraint`` named ``name`` (``build(m, d, extensions)``
    when ``takes_extensions``). ``elastic``: a limit or target a planner can move, so the
    infeasibility diagnosis gives each row a violation variable. ``capacity``: reported as a
    binding limit with its shadow price when tight.
    """

    name: str
    build: Callable[..., None]
    elastic: bool
    capacity: bool
    description: str
    takes_extensions: bool = False


FAMILIES: tuple[Family, ...] = (
    Family("inventory_balance", inventory_balance, elastic=False, capacity=False,
           description="stock flow: opening + receipts - issues - waste = closing"),
    Family("shelf_life", shelf_life, elastic=True, capacity=False,
           description="stock no older than its shelf life"),
    Family("stock_age_balance", stock_age_balance, elastic=False, capacity=False,
           description="perishable stock on lanes by entry cohort: held, shipped and issued"),
    Family("age_stock", age_stock, elastic=False, capacity=False,
           description="stock by cohort adds up to the stock"),
    Family("age_ship", age_ship, elastic=False, capacity=False,
           description="shipments by cohort add up to the shipment"),
    Family("production_capacity", production_capacity, elastic=True, capacity=True,
           description="plant hours (or workforce hours) per period"),
    Family("overtime_limit", overtime_limit, elastic=True, capacity=True,
           description="overtime hours per period"),
    Family("overtime_split", overtime_split, elastic=False, capacity=False,
           description="overtime shared out over the products made in it"),
    Family("subcontract_limit", subcontract_limit, elastic=True, capacity=True,
           description="subcontracted quantity per period"),
    Family("setup_link", setup_link, elastic=False, capacity=False,
           description="no production without a setup"),
    Family("workforce_balance", workforce_balance, elastic=False, capacity=False,
           description="workers carried over, hired and laid off"),
    Family("workforce_ending", workforce_ending, elastic=True, capacity=True,
           description="minimum workforce at the horizon end"),
    Family("lane_capacity", lane_capacity, elastic=True, capacity=True,
           description="shipped volume per lane and period"),
    Family("storage_capacity", storage_capacity, elastic=True, capacity=True,
           description="stored volume per site and period"),
    Family("demand_satisfaction", demand_satisfaction, elastic=False, capacity=False,
           description="demand met, backlogged or lost"),
    Family("backlog_clearance", backlog_clearance, elastic=True, capacity=False,
           description="backlog cleared by the horizon end"),
    Family("safety_stock", safety_stock, elastic=True, capacity=False,
           description="safety stock target"),
    Family("ending_inventory", ending_inventory, elastic=True, capacity=False,
           description="inventory target at the horizon end"),
    Family("cash_balance", cash_balance, elastic=False, capacity=False,
           description="each partner's cash roll-forward", takes_extensions=True),
    Family("minimum_cash", minimum_cash, elastic=True, capacity=False,
           description="each partner's minimum cash"),
)
"""Every core constraint family, in build order."""

CONSTRAINT_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES)
ELASTIC_FAMILIES: frozenset[str] = frozenset(f.name for f in FAMILIES if f.elastic)
"""Limits and targets a planner can move: their rows get an elastic variable in the diagnosis."""
CAPACITY_FAMILIES: frozenset[str] = frozenset(f.name for f in FAMILIES if f.capacity)
"""Limits reported as binding (with shadow prices) in a plan."""


# ---------------------------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------------------------

NON_OPERATING_KINDS = {"opening_receivables", "opening_payables"}


def profit_terms(m: pyo.ConcreteModel, d: PlanningData) -> tuple[dict[int, list], float, Callable[[Any, float], None]]:
    """Chain profit as {id(var): [var, coef]} plus a constant: every stream accrued when incurred
    (whatever its lag) minus every penalty. Transfers between partners cancel."""
    coef: dict[int, list] = {}

    def add(v, c: float) -> None:
        entry = coef.get(id(v))
        if entry is None:
            coef[id(v)] = [v, c]
        else:
            entry[1] += c

    constant = 0.0
    for st in d.streams:
        if st.kind in NON_OPERATING_KINDS:
            continue
        if st.var is None:
            constant += st.sign * float(st.coef.sum())
            continue
        row = grid_row(m, st.var, st.key)
        for t in range(d.T):
            if st.coef[t]:
                add(row[t], st.sign * float(st.coef[t]))
    for pen in d.penalties:
        row = grid_row(m, pen.var, pen.key)
        for t in range(d.T):
            if pen.coef[t]:
                add(row[t], -float(pen.coef[t]))
    return coef, constant, add


def set_objective(m: pyo.ConcreteModel, d: PlanningData, extensions: Sequence[ModelExtension] = ()) -> None:
    """maximize_profit: max chain profit. minimize_cost: min (consumer revenue - chain profit),
    i.e. every cost and penalty of meeting demand."""
    coef, constant, add = profit_terms(m, d)
    for ext in extensions:
        for c, v in ext.objective_terms(m, d):
            add(v, c)
    if d.objective == Objective.minimize_cost:
        for st in d.streams:
            if st.kind != "consumer_revenue":
                continue
            row = grid_row(m, st.var, st.key)
            for t in range(d.T):
                if st.coef[t]:
                    add(row[t], -float(st.coef[t]))
        items = [(-c, v) for v, c in coef.values() if c != 0.0]
        sense, constant = pyo.minimize, -constant
    else:
        items = [(c, v) for v, c in coef.values() if c != 0.0]
        sense = pyo.maximize
    expr = LinearExpression(
        constant=constant, linear_coefs=[c for c, _ in items], linear_vars=[v for _, v in items]
    )
    m.objective = pyo.Objective(expr=expr, sense=sense)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def build_model(d: PlanningData, extensions: Sequence[ModelExtension] = ()) -> pyo.ConcreteModel:
    """Build the Pyomo model: variables, then each constraint family in a fixed order, then the
    extensions' constraints, then the objective."""
    with gc_paused():
        return _build(d, extensions)


def _build(d: PlanningData, extensions: Sequence[ModelExtension]) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel(name=d.scenario.name)
    declare_variables(m, d)
    for ext in extensions:
        ext.declare(m, d)
    for fam in FAMILIES:
        if fam.takes_extensions:
            fam.build(m, d, extensions)
        else:
            fam.build(m, d)
    for ext in extensions:
        ext.add_constraints(m, d)
    set_objective(m, d, extensions)
    return m
