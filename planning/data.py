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
    """A ProductSeries resolved for one product."""
    if isinstance(value, dict):
        return as_array(value.get(product), T, default)
    return as_array(value, T, default)


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
    regular_capacity: np.ndarray | None  # None: workforce hours or unlimited
    has_workforce: bool
    workforce_opening: float = 0.0
    hours_per_worker: np.ndarray | None = None
    min_workers: np.ndarray | None = None
    max_workers: np.ndarray | None = None
    ending_min_workers: float | None = None
    integer_workforce: bool = False
    has_overtime: bool = False
    overtime_max_total: np.ndarray | None = None
    overtime_max_per_worker: np.ndarray | None = None
    has_subcontracting: bool = False
    subcontract_max: np.ndarray | None = None
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
    lane_capacity: dict[str, np.ndarray]  # only capacitated lanes
    storage_capacity: dict[str, np.ndarray]  # only capacitated sites
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
    safety_stock_penalty: float
    objective: Objective
    inflows_into: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    outflows_from: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def is_mip(self) -> bool:
        return bool(self.setup_keys) or any(p.integer_workforce for p in self.plants.values())



def _transfer_price(s: Scenario, seller: str, buyer: str, product: str, T: int) -> np.ndarray:
    specific = generic = None
    for tp in s.transfer_prices:
        if tp.seller == seller and tp.buyer == buyer:
            if tp.product == product:
                specific = tp.price
            elif tp.product is None:
                generic = tp.price
    return as_array(specific if specific is not None else generic, T)


def compile_data(s: Scenario) -> PlanningData:
    """Derive index sets, parameter arrays and cash streams from a checked scenario."""
    T = s.time.periods
    products = [p.id for p in s.products]
    partners = {a.id: a for a in s.partners}
    sites = {x.id: x for x in s.sites}
    lanes = {ln.id: ln for ln in s.lanes}

    lane_products = {ln.id: list(ln.products or products) for ln in s.lanes}
    ship_keys = [(ln.id, p) for ln in s.lanes for p in lane_products[ln.id]]

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

    plants: dict[str, PlantData] = {}
    production_keys: list[tuple[str, str]] = []
    subcontract_keys: list[tuple[str, str]] = []
    setup_keys: list[tuple[str, str]] = []
    for site in s.sites:
        prod = site.production
        if prod is None:
            continue
        made = list(prod.products or products)
        pd_ = PlantData(
            site=site.id,
            products=made,
            capacity_in_hours=prod.hours_per_unit is not None,
            hours_per_unit={
                p: product_array(prod.hours_per_unit, p, T, 1.0) if prod.hours_per_unit is not None else np.ones(T)
                for p in made
            },
            regular_capacity=as_array(prod.regular_capacity, T) if prod.regular_capacity is not None else None,
            has_workforce=prod.workforce is not None,
        )
        if prod.workforce is not None:
            w = prod.workforce
            pd_.workforce_opening = w.opening
            pd_.hours_per_worker = as_array(w.hours_per_worker, T)
            pd_.min_workers = as_array(w.min_workers, T)
            pd_.max_workers = as_array(w.max_workers, T) if w.max_workers is not None else None
            pd_.ending_min_workers = w.ending_min
            pd_.integer_workforce = w.integer
        if prod.overtime is not None:
            pd_.has_overtime = True
            o = prod.overtime
            pd_.overtime_max_total = as_array(o.max_total, T) if o.max_total is not None else None
            pd_.overtime_max_per_worker = (
                as_array(o.max_per_worker, T) if o.max_per_worker is not None else None
            )
        if prod.subcontracting is not None:
            pd_.has_subcontracting = True
            sc = prod.subcontracting
            pd_.subcontract_max = as_array(sc.max_units, T) if sc.max_units is not None else None
            subcontract_keys += [(site.id, p) for p in made]
        if prod.setup_cost is not None:
            pd_.setup_products = [
                p for p in made if np.any(product_array(prod.setup_cost, p, T) > 0)
            ]
            setup_keys += [(site.id, p) for p in pd_.setup_products]
        production_keys += [(site.id, p) for p in made]
        plants[site.id] = pd_

    # Which (site, product) pairs can hold stock: made, received, stocked or sold there.
    stock: set[tuple[str, str]] = set(production_keys) | set(demand_keys)
    for ln_id, p in ship_keys:
        stock.add((lanes[ln_id].destination, p))
        stock.add((lanes[ln_id].origin, p))
    site_products: dict[tuple[str, str], Any] = {}
    for site in s.sites:
        for sp in site.products:
            stock.add((site.id, sp.product))
            site_products[(site.id, sp.product)] = sp
    site_order = {x.id: i for i, x in enumerate(s.sites)}
    product_order = {p: i for i, p in enumerate(products)}
    stock_keys = sorted(stock, key=lambda k: (site_order[k[0]], product_order[k[1]]))

    opening_inventory, opening_backlog, safety_stock, ending_inventory, holding = {}, {}, {}, {}, {}
    for key in stock_keys:
        site = sites[key[0]]
        sp = site_products.get(key)
        opening_inventory[key] = sp.opening_inventory if sp else 0.0
        opening_backlog[key] = sp.opening_backlog if sp else 0.0
        ss = as_array(sp.safety_stock, T) if sp else np.zeros(T)
        if np.any(ss > 0):
            safety_stock[key] = ss
        if sp and sp.ending_inventory > 0:
            ending_inventory[key] = sp.ending_inventory
        hc = sp.holding_cost if sp and sp.holding_cost is not None else site.holding_cost
        holding[key] = as_array(hc, T)

    backlog_keys = [k for k in demand_keys if policy[k[0]] == ServicePolicy.backlog]
    lost_keys = [k for k in demand_keys if policy[k[0]] == ServicePolicy.lost_sales]

    # Big-M for setup: most a plant could ever need to make of a product in one period.
    total_need = {p: 0.0 for p in products}
    for (site_id, p), q in demand.items():
        total_need[p] += float(q.sum()) + opening_backlog.get((site_id, p), 0.0)
    for (site_id, p), e in ending_inventory.items():
        total_need[p] += e
    for (site_id, p), ss in safety_stock.items():
        total_need[p] += float(ss.max())
    for pd_ in plants.values():
        for p in pd_.setup_products:
            bound = np.full(T, total_need[p])
            hpu = pd_.hours_per_unit[p]
            if pd_.regular_capacity is not None:
                cap = pd_.regular_capacity.copy()
                if pd_.has_overtime:
                    if pd_.overtime_max_total is not None:
                        cap = cap + pd_.overtime_max_total
                    else:
                        cap = np.full(T, np.inf)
                with np.errstate(divide="ignore"):
                    bound = np.minimum(bound, np.where(hpu > 0, cap / np.where(hpu > 0, hpu, 1), np.inf))
            pd_.setup_big_m[p] = bound

    inflows_into: dict[tuple[str, str], list[str]] = {}
    outflows_from: dict[tuple[str, str], list[str]] = {}
    for ln_id, p in ship_keys:
        inflows_into.setdefault((lanes[ln_id].destination, p), []).append(ln_id)
        outflows_from.setdefault((lanes[ln_id].origin, p), []).append(ln_id)

    streams, penalties = _money_flows(
        s, T, plants, production_keys, subcontract_keys, setup_keys, ship_keys, stock_keys,
        holding, demand_keys, price, backlog_keys, lost_keys, safety_stock,
    )

    data = PlanningData(
        scenario=s,
        T=T,
        products=products,
        partners=list(partners),
        role={a: partners[a].role for a in partners},
        sites=list(sites),
        site_partner={x: sites[x].partner for x in sites},
        site_kind={x: sites[x].kind for x in sites},
        volume={p.id: p.volume for p in s.products},
        standard_cost={p.id: p.standard_cost for p in s.products},
        lanes=list(lanes),
        lane_origin={ln: lanes[ln].origin for ln in lanes},
        lane_destination={ln: lanes[ln].destination for ln in lanes},
        lane_lead={ln: lanes[ln].lead_time for ln in lanes},
        lane_capacity={ln: as_array(lanes[ln].capacity, T) for ln in lanes if lanes[ln].capacity is not None},
        storage_capacity={
            x: as_array(sites[x].storage_capacity, T) for x in sites if sites[x].storage_capacity is not None
        },
        stock_keys=stock_keys,
        ship_keys=ship_keys,
        demand_keys=demand_keys,
        demand=demand,
        price=price,
        policy=policy,
        clear_backlog=clear_backlog,
        backlog_keys=backlog_keys,
        lost_keys=lost_keys,
        opening_inventory=opening_inventory,
        opening_backlog=opening_backlog,
        safety_stock=safety_stock,
        ending_inventory=ending_inventory,
        holding_cost=holding,
        plants=plants,
        production_keys=production_keys,
        subcontract_keys=subcontract_keys,
        setup_keys=setup_keys,
        streams=streams,
        penalties=penalties,
        opening_cash={a: partners[a].opening_cash for a in partners},
        min_cash={a: as_array(partners[a].min_cash, T) for a in partners},
        cash_soft=s.cash.mode == Softness.soft,
        funding_gap_rate=s.cash.funding_gap_rate,
        safety_stock_soft=s.safety_stock.mode == Softness.soft,
        safety_stock_penalty=s.safety_stock.penalty,
        objective=s.objective,
        inflows_into=inflows_into,
        outflows_from=outflows_from,
    )
    return data


def _money_flows(
    s: Scenario, T, plants, production_keys, subcontract_keys, setup_keys, ship_keys, stock_keys,
    holding, demand_keys, price, backlog_keys, lost_keys, safety_stock,
) -> tuple[list[CashStream], list[Penalty]]:
    """Every priced quantity of the plan, as cash streams (with lags) and non-cash penalties."""
    partners = {a.id: a for a in s.partners}
    sites = {x.id: x for x in s.sites}
    lanes = {ln.id: ln for ln in s.lanes}
    terms = {(t.seller, t.buyer): t.lag for t in s.trade_terms}

    def settle(seller: str, buyer: str) -> int:
        return terms.get((seller, buyer), partners[seller].payment_terms.collection_lag)

    def pay_lag(a: str) -> int:
        return partners[a].payment_terms.payment_lag

    streams: list[CashStream] = []
    add = streams.append
    for site_id, p in production_keys:
        owner = sites[site_id].partner
        prod = sites[site_id].production
        mat = product_array(prod.material_cost, p, T)
        if np.any(mat):
            add(CashStream(owner, "material", -1, mat, pay_lag(owner), "produce", (site_id, p)))
        var = product_array(prod.variable_cost, p, T)
        if np.any(var):
            add(CashStream(owner, "production", -1, var, pay_lag(owner), "produce", (site_id, p)))
    for site_id, p in subcontract_keys:
        owner = sites[site_id].partner
        cost = product_array(sites[site_id].production.subcontracting.cost, p, T)
        add(CashStream(owner, "subcontracting", -1, cost, pay_lag(owner), "subcontract", (site_id, p)))
    for site_id, p in setup_keys:
        owner = sites[site_id].partner
        cost = product_array(sites[site_id].production.setup_cost, p, T)
        add(CashStream(owner, "setup", -1, cost, 0, "run", (site_id, p)))
    for site_id, pd_ in plants.items():
        owner = sites[site_id].partner
        prod = sites[site_id].production
        if pd_.has_workforce:
            w = prod.workforce
            for kind, value, var in (
                ("wages", w.wage, "workforce"),
                ("hiring", w.hiring_cost, "hire"),
                ("layoff", w.layoff_cost, "layoff"),
            ):
                arr = as_array(value, T)
                if np.any(arr):
                    add(CashStream(owner, kind, -1, arr, 0, var, (site_id,)))
        if pd_.has_overtime:
            arr = as_array(prod.overtime.cost, T)
            if np.any(arr):
                add(CashStream(owner, "overtime", -1, arr, 0, "overtime", (site_id,)))
    for key in stock_keys:
        if np.any(holding[key]):
            add(CashStream(sites[key[0]].partner, "holding", -1, holding[key], 0, "inventory", key))
    for ln_id, p in ship_keys:
        ln = lanes[ln_id]
        shipper = sites[ln.origin].partner
        receiver = sites[ln.destination].partner
        cost = as_array(ln.cost_per_unit, T)
        if ln.transporter is None:
            if np.any(cost):
                add(CashStream(shipper, "transport", -1, cost, pay_lag(shipper), "ship", (ln_id, p)))
        else:
            k = ln.transporter
            rate = as_array(ln.freight_rate if ln.freight_rate is not None else ln.cost_per_unit, T)
            if np.any(rate) and k != shipper:
                lag = settle(k, shipper)
                add(CashStream(shipper, "freight", -1, rate, lag, "ship", (ln_id, p), k))
                add(CashStream(k, "freight_revenue", +1, rate, lag, "ship", (ln_id, p), shipper))
            if np.any(cost):
                add(CashStream(k, "transport", -1, cost, pay_lag(k), "ship", (ln_id, p)))
        if shipper != receiver:
            tp = _transfer_price(s, shipper, receiver, p, T)
            if np.any(tp):
                lag = settle(shipper, receiver)
                add(CashStream(shipper, "transfer_revenue", +1, tp, lag, "ship", (ln_id, p), receiver))
                add(CashStream(receiver, "purchases", -1, tp, lag, "ship", (ln_id, p), shipper))
    for key in demand_keys:
        owner = sites[key[0]].partner
        if np.any(price[key]):
            add(
                CashStream(
                    owner, "consumer_revenue", +1, price[key], partners[owner].payment_terms.collection_lag,
                    "sales", key,
                )
            )
    for a in s.partners:
        fc = as_array(a.fixed_cost, T)
        if np.any(fc):
            add(CashStream(a.id, "fixed", -1, fc, 0))
        if a.opening_receivables:
            arr = np.zeros(T)
            arr[: len(a.opening_receivables)] = a.opening_receivables
            add(CashStream(a.id, "opening_receivables", +1, arr, 0))
        if a.opening_payables:
            arr = np.zeros(T)
            arr[: len(a.opening_payables)] = a.opening_payables
            add(CashStream(a.id, "opening_payables", -1, arr, 0))
        if s.cash.mode == Softness.soft and s.cash.funding_gap_rate > 0:
            add(CashStream(a.id, "funding_gap_cost", -1, np.full(T, s.cash.funding_gap_rate), 0, "funding_gap", (a.id,)))

    penalties: list[Penalty] = []
    services = {sv.site: sv for sv in s.service}
    for key in backlog_keys:
        pen = as_array(services[key[0]].backlog_penalty, T)
        if np.any(pen):
            penalties.append(Penalty(sites[key[0]].partner, "backlog_penalty", pen, "backlog", key))
    for key in lost_keys:
        sv = services.get(key[0])
        pen = as_array(sv.lost_sale_penalty if sv else 0.0, T)
        if np.any(pen):
            penalties.append(Penalty(sites[key[0]].partner, "lost_sale_penalty", pen, "lost_sales", key))
    if s.safety_stock.mode == Softness.soft and s.safety_stock.penalty > 0:
        for key in safety_stock:
            penalties.append(
                Penalty(sites[key[0]].partner, "safety_stock_penalty", np.full(T, s.safety_stock.penalty), "safety_shortfall", key)
            )
    return streams, penalties
