"""Scenario -> indexed planning data: index sets, per-period parameter arrays and money flows.

Everything the model, the solution read-back and the KPIs need is derived here once, so the
three agree by construction. Money is described as a list of :class:`CashStream`: one priced
quantity of one partner, paid or received ``lag`` periods after the period it happens in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenarios.schema import (
    Objective,
    Role,
    Scenario,
    ServicePolicy,
    SiteKind,
    Softness,
)


def as_array(value: Any, T: int, default: float = 0.0) -> np.ndarray:
    """A Series (number or list of T numbers, or None) as a float array of length T."""
    if value is None:
        return np.full(T, default, dtype=float)
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(value, dtype=float)
    return np.full(T, float(value), dtype=float)


def product_array(value: Any, product: str, T: int, default: float = 0.0) -> np.ndarray:
    """A ProductSeries resolved for one product (``default`` where a map leaves it out)."""
    if isinstance(value, dict):
        return as_array(value.get(product), T, default)
    return as_array(value, T, default)


def per_product_limits(value: Any, products: list[str], T: int) -> dict[str, np.ndarray] | None:
    """A capacity ProductSeries given as a map: one limit array per named product among
    ``products`` (a product not named is not limited); None when the limit is shared."""
    if not isinstance(value, dict):
        return None
    return {p: as_array(value[p], T) for p in products if p in value}


@dataclass(frozen=True)
class CashStream:
    """``sign * coef[t] * variable[key, t]`` (or ``sign * coef[t]`` when ``var`` is None),
    incurred by ``partner`` in period t and settled in cash in period ``t + lag``.

    ``kind`` classifies it for reports (e.g. ``consumer_revenue``, ``material``); ``counterparty``
    is the other partner for flows inside the chain (they cancel in the chain's total).
    """

    partner: str
    kind: str
    sign: int
    coef: np.ndarray
    lag: int
    var: str | None = None
    key: tuple = ()
    counterparty: str | None = None


@dataclass(frozen=True)
class Penalty:
    """A priced non-cash cost ``coef[t] * variable[key, t]`` attributed to a partner."""

    partner: str
    kind: str
    coef: np.ndarray
    var: str
    key: tuple


@dataclass
class PlantData:
    site: str
    products: list[str]
    capacity_in_hours: bool
    hours_per_unit: dict[str, np.ndarray]
    regular_capacity: np.ndarray | None  # None: workforce hours, per product, or unlimited
    has_workforce: bool
    regular_capacity_by_product: dict[str, np.ndarray] | None = None  # units only; unnamed: unlimited
    workforce_opening: float = 0.0
    hours_per_worker: np.ndarray | None = None
    min_workers: np.ndarray | None = None
    max_workers: np.ndarray | None = None
    ending_min_workers: float | None = None
    integer_workforce: bool = False
    has_overtime: bool = False
    overtime_max_total: np.ndarray | None = None
    overtime_max_per_worker: np.ndarray | None = None
    overtime_by_product: bool = False  # units only: overtime_product[s,p,t] splits overtime[s,t]
    overtime_product_max: dict[str, np.ndarray] = field(default_factory=dict)
    has_subcontracting: bool = False
    subcontract_max: np.ndarray | None = None
    subcontract_product_max: dict[str, np.ndarray] = field(default_factory=dict)
    setup_products: list[str] = field(default_factory=list)
    setup_big_m: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class PlanningData:
    scenario: Scenario
    T: int
    products: list[str]
    partners: list[str]
    role: dict[str, Role]
    sites: list[str]
    site_partner: dict[str, str]
    site_kind: dict[str, SiteKind]
    volume: dict[str, float]
    standard_cost: dict[str, float]
    lanes: list[str]
    lane_origin: dict[str, str]
    lane_destination: dict[str, str]
    lane_lead: dict[str, int]
    lane_capacity: dict[str, np.ndarray]  # only lanes with one shared limit
    storage_capacity: dict[str, np.ndarray]  # only sites with one shared limit
    stock_keys: list[tuple[str, str]]  # (site, product) that may hold stock
    ship_keys: list[tuple[str, str]]  # (lane, product)
    demand_keys: list[tuple[str, str]]  # (site, product)
    demand: dict[tuple[str, str], np.ndarray]
    price: dict[tuple[str, str], np.ndarray]
    policy: dict[str, ServicePolicy]  # per demand site
    clear_backlog: dict[str, bool]
    backlog_keys: list[tuple[str, str]]
    lost_keys: list[tuple[str, str]]
    opening_inventory: dict[tuple[str, str], float]
    opening_backlog: dict[tuple[str, str], float]
    safety_stock: dict[tuple[str, str], np.ndarray]  # only where positive somewhere
    ending_inventory: dict[tuple[str, str], float]  # only where positive
    holding_cost: dict[tuple[str, str], np.ndarray]
    plants: dict[str, PlantData]
    production_keys: list[tuple[str, str]]
    subcontract_keys: list[tuple[str, str]]
    setup_keys: list[tuple[str, str]]
    streams: list[CashStream]
    penalties: list[Penalty]
    opening_cash: dict[str, float]
    min_cash: dict[str, np.ndarray]
    cash_soft: bool
    funding_gap_rate: float
    safety_stock_soft: bool
    safety_stock_penalty: Any  # the scenario's ProductSeries; per stock point in safety_stock_penalty_of
    objective: Objective
    lane_product_capacity: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (lane, product)
    storage_product_capacity: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (site, product)
    overtime_product_keys: list[tuple[str, str]] = field(default_factory=list)  # (plant, product)
    safety_stock_penalty_of: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    inflows_into: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    outflows_from: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    shelf_life: dict[tuple[str, str], int] = field(default_factory=dict)  # perishable stock points only
    opening_age: dict[tuple[str, str], int] = field(default_factory=dict)  # perishable stock points only
    scrap_cost: dict[str, float] = field(default_factory=dict)  # per product
    # Age by entry cohort (see planning.model.stock_age_balance): the stock points of a perishable
    # product on its lanes, each with its life (None: no life there) and opening cohort
    # (-opening_age); the lanes between them; the cohorts of each such product.
    age_sites: dict[tuple[str, str], int | None] = field(default_factory=dict)
    age_opening: dict[tuple[str, str], int] = field(default_factory=dict)
    age_lanes: list[tuple[str, str]] = field(default_factory=list)
    age_delay: dict[tuple[str, str], int] = field(default_factory=dict)  # least lead from where units enter
    age_cohorts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def is_mip(self) -> bool:
        return bool(self.setup_keys) or any(p.integer_workforce for p in self.plants.values())



def _transfer_price(s: Scenario, seller: str, buyer: str, product: str, T: int) -> np.ndarray:
    """The price of ``product`` from seller to buyer: the row naming the product, else the row for
    every product (a {product: price} map there: its entry for the product)."""
    specific = generic = None
    for tp in s.transfer_prices:
        if tp.seller == seller and tp.buyer == buyer:
            if tp.product == product:
                specific = tp.price
            elif tp.product is None and (not isinstance(tp.price, dict) or product in tp.price):
                generic = tp.price
    return product_array(specific if specific is not None else generic, product, T)


def compile_data(s: Scenario) -> PlanningData:
    """Derive index sets, parameter arrays and cash streams from a checked scenario, step by step:
    the network, demand and service, the plants, the stock points and their parameters, the
    setup big-M, the lanes into and out of each stock point, and the money."""
    T = s.time.periods
    products = [p.id for p in s.products]
    network = _network(s, products, T)
    demand = _demand_and_service(s, T)
    plants = _plants(s, products, T)
    production_keys = [(x, p) for x, plant in plants.items() for p in plant.products]
    stock_keys = _stock_keys(s, products, production_keys, demand["demand_keys"], network)
    stock = _stock_parameters(s, stock_keys, T)
    _set_setup_big_m(plants, products, demand["demand"], stock, T)
    partners = {a.id: a for a in s.partners}
    d = PlanningData(
        scenario=s,
        T=T,
        products=products,
        partners=list(partners),
        role={a: partners[a].role for a in partners},
        volume={p.id: p.volume for p in s.products},
        standard_cost={p.id: p.standard_cost for p in s.products},
        **network,
        **demand,
        stock_keys=stock_keys,
        **stock,
        plants=plants,
        production_keys=production_keys,
        subcontract_keys=[(x, p) for x, plant in plants.items() if plant.has_subcontracting for p in plant.products],
        setup_keys=[(x, p) for x, plant in plants.items() for p in plant.setup_products],
        overtime_product_keys=[(x, p) for x, plant in plants.items() if plant.overtime_by_product for p in plant.products],
        streams=[],
        penalties=[],
        opening_cash={a: partners[a].opening_cash for a in partners},
        min_cash={a: as_array(partners[a].min_cash, T) for a in partners},
        cash_soft=s.cash.mode == Softness.soft,
        funding_gap_rate=s.cash.funding_gap_rate,
        safety_stock_soft=s.safety_stock.mode == Softness.soft,
        safety_stock_penalty=s.safety_stock.penalty,
        objective=s.objective,
    )
    d.safety_stock_penalty_of = {
        key: product_array(s.safety_stock.penalty, key[1], T) for key in d.safety_stock
    } if d.safety_stock_soft else {}
    site_of = {x.id: x for x in s.sites}
    d.storage_product_capacity = {
        (x, p): as_array(site_of[x].storage_capacity[p], T)
        for x, p in stock_keys
        if isinstance(site_of[x].storage_capacity, dict) and p in site_of[x].storage_capacity
    }
    d.inflows_into, d.outflows_from = _lanes_at_stock_points(d)
    d.shelf_life, d.opening_age = _shelf_lives(s, stock_keys)
    _age_chains(d, s)
    d.scrap_cost = {p.id: p.scrap_cost for p in s.products}
    d.streams = _money_streams(d)
    d.penalties = _penalties(d)
    return d


def _network(s: Scenario, products: list[str], T: int) -> dict[str, Any]:
    """Sites and lanes: owners, kinds, lead times, capacities (one shared limit, or one per named
    product), and the (lane, product) keys."""
    sites = {x.id: x for x in s.sites}
    lanes = {ln.id: ln for ln in s.lanes}
    lane_products = {ln.id: list(ln.products or products) for ln in s.lanes}
    return {
        "lane_product_capacity": {
            (ln, p): cap for ln in lanes
            for p, cap in (per_product_limits(lanes[ln].capacity, lane_products[ln], T) or {}).items()
        },
        "sites": list(sites),
        "site_partner": {x: sites[x].partner for x in sites},
        "site_kind": {x: sites[x].kind for x in sites},
        "lanes": list(lanes),
        "lane_origin": {ln: lanes[ln].origin for ln in lanes},
        "lane_destination": {ln: lanes[ln].destination for ln in lanes},
        "lane_lead": {ln: lanes[ln].lead_time for ln in lanes},
        "lane_capacity": {
            ln: as_array(lanes[ln].capacity, T)
            for ln in lanes if lanes[ln].capacity is not None and not isinstance(lanes[ln].capacity, dict)
        },
        "storage_capacity": {
            x: as_array(sites[x].storage_capacity, T)
            for x in sites if sites[x].storage_capacity is not None and not isinstance(sites[x].storage_capacity, dict)
        },
        "ship_keys": [(ln.id, p) for ln in s.lanes for p in (ln.products or products)],
    }


def _demand_and_service(s: Scenario, T: int) -> dict[str, Any]:
    """Demand and price per (site, product); each demand site's service policy (lost sales when
    the scenario gives none) and whether its backlog must be cleared by the end."""
    demand = {(d.site, d.product): as_array(d.quantity, T) for d in s.demand}
    price = {(d.site, d.product): as_array(d.price, T) for d in s.demand}
    demand_keys = list(demand)
    services = {sv.site: sv for sv in s.service}
    policy: dict[str, ServicePolicy] = {}
    clear_backlog: dict[str, bool] = {}
    for site_id, _ in demand_keys:
        sv = services.get(site_id)
        policy[site_id] = sv.policy if sv else ServicePolicy.lost_sales
        clear_backlog[site_id] = bool(sv and sv.policy == ServicePolicy.backlog and sv.clear_backlog_by_end)
    return {
        "demand_keys": demand_keys,
        "demand": demand,
        "price": price,
        "policy": policy,
        "clear_backlog": clear_backlog,
        "backlog_keys": [k for k in demand_keys if policy[k[0]] == ServicePolicy.backlog],
        "lost_keys": [k for k in demand_keys if policy[k[0]] == ServicePolicy.lost_sales],
    }


def _plants(s: Scenario, products: list[str], T: int) -> dict[str, PlantData]:
    """A :class:`PlantData` for every site that produces, in site order."""
    plants: dict[str, PlantData] = {}
    for site in s.sites:
        prod = site.production
        if prod is None:
            continue
        made = list(prod.products or products)
        plant = PlantData(
            site=site.id,
            products=made,
            capacity_in_hours=prod.hours_per_unit is not None,
            hours_per_unit={
                p: product_array(prod.hours_per_unit, p, T, 1.0) if prod.hours_per_unit is not None else np.ones(T)
                for p in made
            },
            regular_capacity=(as_array(prod.regular_capacity, T)
                              if prod.regular_capacity is not None and not isinstance(prod.regular_capacity, dict)
                              else None),
            has_workforce=prod.workforce is not None,
            regular_capacity_by_product=per_product_limits(prod.regular_capacity, made, T),
        )
        if prod.workforce is not None:
            w = prod.workforce
            plant.workforce_opening = w.opening
            plant.hours_per_worker = as_array(w.hours_per_worker, T)
            plant.min_workers = as_array(w.min_workers, T)
            plant.max_workers = as_array(w.max_workers, T) if w.max_workers is not None else None
            plant.ending_min_workers = w.ending_min
            plant.integer_workforce = w.integer
        if prod.overtime is not None:
            o = prod.overtime
            plant.has_overtime = True
            by_product = per_product_limits(o.max_total, made, T)
            plant.overtime_max_total = as_array(o.max_total, T) if o.max_total is not None and by_product is None else None
            plant.overtime_product_max = by_product or {}
            plant.overtime_by_product = not plant.capacity_in_hours and (
                isinstance(o.cost, dict) or by_product is not None or plant.regular_capacity_by_product is not None
            )
            plant.overtime_max_per_worker = as_array(o.max_per_worker, T) if o.max_per_worker is not None else None
        if prod.subcontracting is not None:
            plant.has_subcontracting = True
            max_units = prod.subcontracting.max_units
            by_product = per_product_limits(max_units, made, T)
            plant.subcontract_max = as_array(max_units, T) if max_units is not None and by_product is None else None
            plant.subcontract_product_max = by_product or {}
        if prod.setup_cost is not None:
            plant.setup_products = [p for p in made if np.any(product_array(prod.setup_cost, p, T) > 0)]
        plants[site.id] = plant
    return plants


def _stock_keys(
    s: Scenario, products: list[str], production_keys: list, demand_keys: list, network: dict[str, Any]
) -> list[tuple[str, str]]:
    """The (site, product) pairs that may hold stock: made, received, shipped, stocked or sold
    there; in site order, then product order."""
    stock: set[tuple[str, str]] = set(production_keys) | set(demand_keys)
    for ln_id, p in network["ship_keys"]:
        stock.add((network["lane_destination"][ln_id], p))
        stock.add((network["lane_origin"][ln_id], p))
    stock |= {(site.id, sp.product) for site in s.sites for sp in site.products}
    site_order = {x.id: i for i, x in enumerate(s.sites)}
    product_order = {p: i for i, p in enumerate(products)}
    return sorted(stock, key=lambda k: (site_order[k[0]], product_order[k[1]]))


def _stock_parameters(s: Scenario, stock_keys: list[tuple[str, str]], T: int) -> dict[str, dict]:
    """Opening inventory and backlog, safety stock (only where positive somewhere), ending
    inventory (only where positive) and holding cost (the site's unless the product sets one)
    of every stock point; a pair the scenario does not list has zeros and the site's cost."""
    sites = {x.id: x for x in s.sites}
    site_products = {(site.id, sp.product): sp for site in s.sites for sp in site.products}
    out: dict[str, dict] = {
        "opening_inventory": {}, "opening_backlog": {}, "safety_stock": {}, "ending_inventory": {}, "holding_cost": {},
    }
    for key in stock_keys:
        sp = site_products.get(key)
        out["opening_inventory"][key] = sp.opening_inventory if sp else 0.0
        out["opening_backlog"][key] = sp.opening_backlog if sp else 0.0
        ss = as_array(sp.safety_stock, T) if sp else np.zeros(T)
        if np.any(ss > 0):
            out["safety_stock"][key] = ss
        if sp and sp.ending_inventory > 0:
            out["ending_inventory"][key] = sp.ending_inventory
        if sp and sp.holding_cost is not None:
            out["holding_cost"][key] = as_array(sp.holding_cost, T)
        else:
            out["holding_cost"][key] = product_array(sites[key[0]].holding_cost, key[1], T)
    return out


def _shelf_lives(s: Scenario, stock_keys: list[tuple[str, str]]) -> tuple[dict, dict]:
    """Shelf life L (the site's products entry, else the product's) and opening age of every
    perishable stock point, in stock-key order."""
    life_of = {p.id: p.shelf_life for p in s.products}
    site_products = {(site.id, sp.product): sp for site in s.sites for sp in site.products}
    lives: dict[tuple[str, str], int] = {}
    ages: dict[tuple[str, str], int] = {}
    for key in stock_keys:
        sp = site_products.get(key)
        life = sp.shelf_life if sp is not None and sp.shelf_life is not None else life_of[key[1]]
        if life is not None:
            lives[key] = life
            ages[key] = sp.opening_age if sp is not None else 0
    return lives, ages


def _age_chains(d: PlanningData, s: Scenario) -> None:
    """The stock points whose stock is tracked by entry cohort: for each product, the lanes
    carrying it fall into connected groups of sites; a group with a shelf life at any of its
    sites is tracked at all of its sites (their shipments carry age between them). Stock points
    on no lane keep the one-row bound of :func:`planning.model.shelf_life`. Cohorts: the periods
    0 .. T-1 plus the opening cohorts (-opening_age) of the group's sites holding opening stock."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(k):
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for ln, p in d.ship_keys:
        a, b = find((d.lane_origin[ln], p)), find((d.lane_destination[ln], p))
        parent[a] = b
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for k in parent:
        groups.setdefault(find(k), []).append(k)
    site_products = {(site.id, sp.product): sp for site in s.sites for sp in site.products}
    tracked: set[tuple[str, str]] = set()
    for members in groups.values():
        if any(k in d.shelf_life for k in members):
            tracked.update(members)
    for key in d.stock_keys:
        if key not in tracked:
            continue
        sp = site_products.get(key)
        d.age_sites[key] = d.shelf_life.get(key)
        d.age_opening[key] = -(sp.opening_age if sp is not None else 0)
        cohorts = d.age_cohorts.setdefault(key[1], list(range(d.T)))
        if d.opening_inventory.get(key, 0.0) > 0 and d.age_opening[key] not in cohorts:
            cohorts.append(d.age_opening[key])
    for cohorts in d.age_cohorts.values():
        cohorts.sort()
    d.age_lanes = [(ln, p) for ln, p in d.ship_keys if (d.lane_origin[ln], p) in d.age_sites]
    # Least total lead time from a site where units are made or bought in (T where none leads
    # there): a unit entering in c >= 1 cannot be at s before c + age_delay[s] (Bellman-Ford).
    entry = set(d.production_keys) | set(d.subcontract_keys)
    d.age_delay = {k: (0 if k in entry else d.T) for k in d.age_sites}
    changed = True
    while changed:
        changed = False
        for ln, p in d.age_lanes:
            o, dst = (d.lane_origin[ln], p), (d.lane_destination[ln], p)
            if d.age_delay[o] + d.lane_lead[ln] < d.age_delay[dst]:
                d.age_delay[dst] = d.age_delay[o] + d.lane_lead[ln]
                changed = True


def _set_setup_big_m(
    plants: dict[str, PlantData], products: list[str], demand: dict, stock: dict[str, dict], T: int
) -> None:
    """Big-M of each setup: the most a plant could ever need to make of a product in a period,
    M[t] = min(total need, capacity[t] / hours per unit[t]); total need = all demand + opening
    backlog + ending inventory + peak safety stock of the product, and the capacity is regular
    plus overtime (unbounded with uncapped overtime or no regular capacity)."""
    total_need = {p: 0.0 for p in products}
    for (site_id, p), q in demand.items():
        total_need[p] += float(q.sum()) + stock["opening_backlog"].get((site_id, p), 0.0)
    for (site_id, p), e in stock["ending_inventory"].items():
        total_need[p] += e
    for (site_id, p), ss in stock["safety_stock"].items():
        total_need[p] += float(ss.max())
    for plant in plants.values():
        for p in plant.setup_products:
            bound = np.full(T, total_need[p])
            hpu = plant.hours_per_unit[p]
            regular = plant.regular_capacity
            if plant.regular_capacity_by_product is not None:
                regular = plant.regular_capacity_by_product.get(p)
            if regular is not None:
                cap = regular.copy()
                if plant.has_overtime:
                    extra = plant.overtime_product_max.get(p, plant.overtime_max_total)
                    if extra is not None:
                        cap = cap + extra
                    else:
                        cap = np.full(T, np.inf)
                with np.errstate(divide="ignore"):
                    bound = np.minimum(bound, np.where(hpu > 0, cap / np.where(hpu > 0, hpu, 1), np.inf))
            plant.setup_big_m[p] = bound


def _lanes_at_stock_points(d: PlanningData) -> tuple[dict, dict]:
    """The lanes arriving at and leaving each (site, product)."""
    inflows_into: dict[tuple[str, str], list[str]] = {}
    outflows_from: dict[tuple[str, str], list[str]] = {}
    for ln_id, p in d.ship_keys:
        inflows_into.setdefault((d.lane_destination[ln_id], p), []).append(ln_id)
        outflows_from.setdefault((d.lane_origin[ln_id], p), []).append(ln_id)
    return inflows_into, outflows_from


def _money_streams(d: PlanningData) -> list[CashStream]:
    """Every priced quantity of the plan as cash streams with their lags, in a fixed order:
    production, holding, scrap, lanes, sales, then each partner's own."""
    return [*_production_streams(d), *_holding_streams(d), *_scrap_streams(d), *_lane_streams(d), *_sales_streams(d),
            *_partner_streams(d)]


def _payment_lags(s: Scenario) -> dict[str, int]:
    return {a.id: a.payment_terms.payment_lag for a in s.partners}


def _production_streams(d: PlanningData) -> list[CashStream]:
    """Material, production, subcontracting and setup costs per unit; wages, hiring, layoff and
    overtime per plant. Materials, production and subcontracting are paid on the owner's
    payment terms, the rest in the period."""
    s, T = d.scenario, d.T
    sites = {x.id: x for x in s.sites}
    pay_lag = _payment_lags(s)
    out: list[CashStream] = []
    for site_id, p in d.production_keys:
        owner, prod = sites[site_id].partner, sites[site_id].production
        for kind, value in (("material", prod.material_cost), ("production", prod.variable_cost)):
            cost = product_array(value, p, T)
            if np.any(cost):
                out.append(CashStream(owner, kind, -1, cost, pay_lag[owner], "produce", (site_id, p)))
    for site_id, p in d.subcontract_keys:
        owner = sites[site_id].partner
        cost = product_array(sites[site_id].production.subcontracting.cost, p, T)
        out.append(CashStream(owner, "subcontracting", -1, cost, pay_lag[owner], "subcontract", (site_id, p)))
    for site_id, p in d.setup_keys:
        cost = product_array(sites[site_id].production.setup_cost, p, T)
        out.append(CashStream(sites[site_id].partner, "setup", -1, cost, 0, "run", (site_id, p)))
    for site_id, plant in d.plants.items():
        owner, prod = sites[site_id].partner, sites[site_id].production
        per_plant = []
        if plant.has_workforce:
            w = prod.workforce
            per_plant += [("wages", w.wage, "workforce"), ("hiring", w.hiring_cost, "hire"),
                          ("layoff", w.layoff_cost, "layoff")]
        if plant.has_overtime and not plant.overtime_by_product:
            per_plant.append(("overtime", prod.overtime.cost, "overtime"))
        if plant.overtime_by_product:
            for p in plant.products:
                arr = product_array(prod.overtime.cost, p, T)
                if np.any(arr):
                    out.append(CashStream(owner, "overtime", -1, arr, 0, "overtime_product", (site_id, p)))
        for kind, value, var in per_plant:
            arr = as_array(value, T)
            if np.any(arr):
                out.append(CashStream(owner, kind, -1, arr, 0, var, (site_id,)))
    return out


def _holding_streams(d: PlanningData) -> list[CashStream]:
    """Holding cost per unit in stock at the end of each period."""
    return [CashStream(d.site_partner[key[0]], "holding", -1, d.holding_cost[key], 0, "inventory", key)
            for key in d.stock_keys if np.any(d.holding_cost[key])]


def _scrap_streams(d: PlanningData) -> list[CashStream]:
    """Scrap cost per unit of waste, paid by the site's owner on its payment terms."""
    pay_lag = _payment_lags(d.scenario)
    out = []
    for key in d.shelf_life:
        cost = d.scrap_cost[key[1]]
        if cost:
            owner = d.site_partner[key[0]]
            out.append(CashStream(owner, "scrap", -1, np.full(d.T, cost), pay_lag[owner], "waste", key))
    return out


def _lane_streams(d: PlanningData) -> list[CashStream]:
    """Per unit shipped: the transport cost (the shipper's, or the transporter's, who charges the
    shipper its freight rate on their trade terms), and the transfer price between partners."""
    s, T = d.scenario, d.T
    lanes = {ln.id: ln for ln in s.lanes}
    terms = {(t.seller, t.buyer): t.lag for t in s.trade_terms}
    collection = {a.id: a.payment_terms.collection_lag for a in s.partners}
    pay_lag = _payment_lags(s)

    def settle(seller: str, buyer: str) -> int:
        return terms.get((seller, buyer), collection[seller])

    out: list[CashStream] = []
    for ln_id, p in d.ship_keys:
        ln = lanes[ln_id]
        key = (ln_id, p)
        shipper, receiver = d.site_partner[ln.origin], d.site_partner[ln.destination]
        cost = product_array(ln.cost_per_unit, p, T)
        if ln.transporter is None:
            if np.any(cost):
                out.append(CashStream(shipper, "transport", -1, cost, pay_lag[shipper], "ship", key))
        else:
            k = ln.transporter
            rate = product_array(ln.freight_rate if ln.freight_rate is not None else ln.cost_per_unit, p, T)
            if np.any(rate) and k != shipper:
                lag = settle(k, shipper)
                out.append(CashStream(shipper, "freight", -1, rate, lag, "ship", key, k))
                out.append(CashStream(k, "freight_revenue", +1, rate, lag, "ship", key, shipper))
            if np.any(cost):
                out.append(CashStream(k, "transport", -1, cost, pay_lag[k], "ship", key))
        if shipper != receiver:
            tp = _transfer_price(s, shipper, receiver, p, T)
            if np.any(tp):
                lag = settle(shipper, receiver)
                out.append(CashStream(shipper, "transfer_revenue", +1, tp, lag, "ship", key, receiver))
                out.append(CashStream(receiver, "purchases", -1, tp, lag, "ship", key, shipper))
    return out


def _sales_streams(d: PlanningData) -> list[CashStream]:
    """Consumer revenue, collected on the selling partner's collection lag."""
    collection = {a.id: a.payment_terms.collection_lag for a in d.scenario.partners}
    out = []
    for key in d.demand_keys:
        owner = d.site_partner[key[0]]
        if np.any(d.price[key]):
            out.append(CashStream(owner, "consumer_revenue", +1, d.price[key], collection[owner], "sales", key))
    return out


def _partner_streams(d: PlanningData) -> list[CashStream]:
    """Each partner's fixed cost, opening receivables and payables (collected and paid in the
    first periods), and with soft cash the cost of each unit of funding gap."""
    s, T = d.scenario, d.T
    out: list[CashStream] = []
    for a in s.partners:
        fc = as_array(a.fixed_cost, T)
        if np.any(fc):
            out.append(CashStream(a.id, "fixed", -1, fc, 0))
        for kind, sign, values in (("opening_receivables", +1, a.opening_receivables),
                                   ("opening_payables", -1, a.opening_payables)):
            if values:
                arr = np.zeros(T)
                arr[: len(values)] = values
                out.append(CashStream(a.id, kind, sign, arr, 0))
        if d.cash_soft and d.funding_gap_rate > 0:
            gap_cost = np.full(T, d.funding_gap_rate)
            out.append(CashStream(a.id, "funding_gap_cost", -1, gap_cost, 0, "funding_gap", (a.id,)))
    return out


def _penalties(d: PlanningData) -> list[Penalty]:
    """Non-cash costs: backlog and lost-sale penalties per unit, and with a soft safety stock
    its penalty per unit short."""
    T = d.T
    services = {sv.site: sv for sv in d.scenario.service}
    out: list[Penalty] = []
    for key in d.backlog_keys:
        pen = product_array(services[key[0]].backlog_penalty, key[1], T)
        if np.any(pen):
            out.append(Penalty(d.site_partner[key[0]], "backlog_penalty", pen, "backlog", key))
    for key in d.lost_keys:
        sv = services.get(key[0])
        pen = product_array(sv.lost_sale_penalty if sv else 0.0, key[1], T)
        if np.any(pen):
            out.append(Penalty(d.site_partner[key[0]], "lost_sale_penalty", pen, "lost_sales", key))
    for key, pen in d.safety_stock_penalty_of.items():
        if np.any(pen):
            out.append(Penalty(d.site_partner[key[0]], "safety_stock_penalty", pen, "safety_shortfall", key))
    return out
