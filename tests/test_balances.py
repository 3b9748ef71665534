"""Conservation: every balance recomputed from the plan's tables and the scenario's own data.

The cash recomputation is written from the scenario fields (prices, costs, terms) directly,
independently of the model's cash streams, so a wrong stream (sign, lag, price) shows up here.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from conftest import example, solve
from planning.synthetic import synthetic_chain

TOL = 1e-6


def _arr(value, T):
    if value is None:
        return np.zeros(T)
    if isinstance(value, list):
        return np.asarray(value, float)
    return np.full(T, float(value))


def _parr(value, product, T):
    if isinstance(value, dict):
        return _arr(value.get(product), T)
    return _arr(value, T)


def _grid(df, keys, value, T):
    """{key tuple: array over periods} from a long table."""
    out = defaultdict(lambda: np.zeros(T))
    for row in df[list(keys) + ["period", value]].itertuples(index=False):
        k = tuple(row[: len(keys)])
        out[k][row[len(keys)]] += row[len(keys) + 1]
    return out


@pytest.fixture(
    scope="module",
    params=[
        "small_chain",
        "medium_chain",
        pytest.param("synthetic", marks=pytest.mark.slow),
        pytest.param("synthetic_mip", marks=pytest.mark.slow),
    ],
)
def solved(request):
    if request.param == "synthetic":
        data = synthetic_chain(6, 2, 3, 12, 26, seed=3)
    elif request.param == "synthetic_mip":
        # setups at the plants and whole workers: the MIP path
        data = synthetic_chain(3, 1, 2, 4, 12, seed=5)
        for site in data["sites"]:
            if site.get("production"):
                site["production"]["setup_cost"] = 400.0
                site["production"]["workforce"]["integer"] = True
        data["solver"] = {"mip_gap": 1e-6}
    else:
        data = example(request.param)
    scenario, plan = solve(data)
    assert plan.status == "optimal"
    return data, scenario, plan


def test_inventory_flow_balance(solved):
    data, s, plan = solved
    T = s.time.periods
    inv = _grid(plan.tables["inventory"], ["site", "product"], "inventory", T)
    prod = _grid(plan.tables["production"], ["site", "product"], "production", T)
    sub = _grid(plan.tables["production"], ["site", "product"], "subcontracting", T)
    sales = _grid(plan.tables["sales"], ["site", "product"], "sales", T)
    ship = plan.tables["shipments"]
    arrivals = defaultdict(lambda: np.zeros(T))
    departures = defaultdict(lambda: np.zeros(T))
    for r in ship.itertuples(index=False):
        departures[(r.origin, r.product)][r.period] += r.quantity
        if r.arrival_period < T:
            arrivals[(r.destination, r.product)][r.arrival_period] += r.quantity
    opening = {(x["id"], sp["product"]): sp.get("opening_inventory", 0.0) for x in data["sites"] for sp in x.get("products", [])}
    worst = 0.0
    for key, level in inv.items():
        prev = np.concatenate([[opening.get(key, 0.0)], level[:-1]])
        residual = level - prev - prod[key] - sub[key] - arrivals[key] + departures[key] + sales[key]
        worst = max(worst, float(np.abs(residual).max()))
    assert worst < TOL


def test_demand_balance(solved):
    data, s, plan = solved
    sales = plan.tables["sales"]
    policies = {sv["site"]: sv["policy"] for sv in data.get("service", [])}
    worst = 0.0
    for (site, product), g in sales.groupby(["site", "product"]):
        g = g.sort_values("period")
        demand = next(d for d in data["demand"] if d["site"] == site and d["product"] == product)
        q = _arr(demand["quantity"], s.time.periods)
        np.testing.assert_allclose(g["demand"].to_numpy(), q)
        if policies.get(site, "lost_sales") == "backlog":
            b = g["backlog"].to_numpy()
            residual = g["sales"].to_numpy() + b - np.concatenate([[0.0], b[:-1]]) - q
        else:
            residual = g["sales"].to_numpy() + g["lost_sales"].to_numpy() - q
        worst = max(worst, float(np.abs(residual).max()))
    assert worst < TOL


def test_workforce_balance_and_capacity(solved):
    data, s, plan = solved
    cap = plan.tables["capacity"]
    prod = plan.tables["production"]
    for site in data["sites"]:
        p = site.get("production")
        if not p or not p.get("workforce"):
            continue
        g = cap[cap["site"] == site["id"]].sort_values("period")
        w = g["workforce"].to_numpy()
        prev = np.concatenate([[p["workforce"]["opening"]], w[:-1]])
        residual = w - prev - g["hired"].to_numpy() + g["laid_off"].to_numpy()
        assert np.abs(residual).max() < TOL
        T = s.time.periods
        used = np.zeros(T)
        for r in prod[prod["site"] == site["id"]].itertuples(index=False):
            used[r.period] += r.production * _parr(p["hours_per_unit"], r.product, T)[r.period]
        hours = w * _arr(p["workforce"]["hours_per_worker"], T) + g["overtime"].to_numpy()
        assert (used - hours).max() < TOL
        if p.get("overtime", {}).get("max_per_worker") is not None:
            assert (g["overtime"].to_numpy() - w * p["overtime"]["max_per_worker"]).max() < TOL


def _assert_within_capacity(table, key, quantity, objects, capacity_field, volume, T):
    """For each object with a capacity: sum over products of volume x quantity <= capacity."""
    for obj in objects:
        if obj.get(capacity_field) is None:
            continue
        load = np.zeros(T)
        for r in table[table[key] == obj["id"]].itertuples(index=False):
            load[r.period] += getattr(r, quantity) * volume[r.product]
        assert (load - _arr(obj[capacity_field], T)).max() < TOL


def test_lane_and_storage_capacity(solved):
    data, s, plan = solved
    T = s.time.periods
    volume = {p["id"]: p.get("volume", 1.0) for p in data["products"]}
    _assert_within_capacity(plan.tables["shipments"], "lane", "quantity", data["lanes"], "capacity", volume, T)
    _assert_within_capacity(plan.tables["inventory"], "site", "inventory", data["sites"], "storage_capacity", volume, T)


def recompute_cash(data: dict, plan) -> dict[str, np.ndarray]:
    """Each partner's closing cash per period from the plan's physical tables and the scenario's
    prices, costs and payment terms (written independently of planning.data)."""
    T = data["time"]["periods"]
    partners = {a["id"]: a for a in data["partners"]}
    site_owner = {x["id"]: x["partner"] for x in data["sites"]}
    terms = {(t["seller"], t["buyer"]): t["lag"] for t in data.get("trade_terms", [])}

    def coll(a):
        return partners[a].get("payment_terms", {}).get("collection_lag", 0)

    def pay(a):
        return partners[a].get("payment_terms", {}).get("payment_lag", 0)

    flow = {a: np.zeros(T) for a in partners}

    def book(a, t, amount, lag):
        if t + lag < T:
            flow[a][t + lag] += amount

    sites = {x["id"]: x for x in data["sites"]}
    for r in plan.tables["production"].itertuples(index=False):
        p = sites[r.site]["production"]
        owner = site_owner[r.site]
        unit = _parr(p.get("material_cost", 0), r.product, T)[r.period] + _parr(p.get("variable_cost", 0), r.product, T)[r.period]
        book(owner, r.period, -unit * r.production, pay(owner))
        if p.get("subcontracting"):
            book(owner, r.period, -_parr(p["subcontracting"]["cost"], r.product, T)[r.period] * r.subcontracting, pay(owner))
        if p.get("setup_cost") is not None and "setup" in plan.tables["production"].columns:
            book(owner, r.period, -_parr(p["setup_cost"], r.product, T)[r.period] * r.setup, 0)
    for r in plan.tables["capacity"].itertuples(index=False):
        p = sites[r.site]["production"]
        owner = site_owner[r.site]
        if p.get("workforce"):
            w = p["workforce"]
            book(owner, r.period, -_arr(w.get("wage", 0), T)[r.period] * r.workforce, 0)
            book(owner, r.period, -_arr(w.get("hiring_cost", 0), T)[r.period] * r.hired, 0)
            book(owner, r.period, -_arr(w.get("layoff_cost", 0), T)[r.period] * r.laid_off, 0)
        if p.get("overtime"):
            book(owner, r.period, -_arr(p["overtime"]["cost"], T)[r.period] * r.overtime, 0)
    sp_holding = {(x["id"], sp["product"]): sp.get("holding_cost") for x in data["sites"] for sp in x.get("products", [])}
    for r in plan.tables["inventory"].itertuples(index=False):
        hc = sp_holding.get((r.site, r.product))
        hc = sites[r.site].get("holding_cost", 0) if hc is None else hc
        book(site_owner[r.site], r.period, -_arr(hc, T)[r.period] * r.inventory, 0)
    lanes = {ln["id"]: ln for ln in data["lanes"]}
    prices = {}
    for tp in data.get("transfer_prices", []):
        prices[(tp["seller"], tp["buyer"], tp.get("product"))] = tp["price"]
    for r in plan.tables["shipments"].itertuples(index=False):
        ln = lanes[r.lane]
        shipper, receiver = site_owner[ln["origin"]], site_owner[ln["destination"]]
        cost = _arr(ln.get("cost_per_unit", 0), T)[r.period] * r.quantity
        k = ln.get("transporter")
        if k is None:
            book(shipper, r.period, -cost, pay(shipper))
        else:
            rate = _arr(ln.get("freight_rate", ln.get("cost_per_unit", 0)), T)[r.period] * r.quantity
            lag = terms.get((k, shipper), coll(k))
            book(shipper, r.period, -rate, lag)
            book(k, r.period, rate, lag)
            book(k, r.period, -cost, pay(k))
        if shipper != receiver:
            price = prices.get((shipper, receiver, r.product), prices.get((shipper, receiver, None)))
            amount = _arr(price, T)[r.period] * r.quantity
            lag = terms.get((shipper, receiver), coll(shipper))
            book(shipper, r.period, amount, lag)
            book(receiver, r.period, -amount, lag)
    for r in plan.tables["sales"].itertuples(index=False):
        owner = site_owner[r.site]
        book(owner, r.period, r.price * r.sales, coll(owner))
    rate = data.get("cash", {}).get("funding_gap_rate", 0.01)
    soft = data.get("cash", {}).get("mode", "soft") == "soft"
    cash = plan.tables["cash"]
    closing = {}
    for a, info in partners.items():
        f = flow[a] - _arr(info.get("fixed_cost", 0), T)
        for name, sign in (("opening_receivables", 1), ("opening_payables", -1)):
            vals = info.get(name, [])
            f[: len(vals)] += sign * np.asarray(vals, float)
        if soft:
            f -= rate * cash[cash["partner"] == a].sort_values("period")["funding_gap"].to_numpy()
        closing[a] = info.get("opening_cash", 0.0) + np.cumsum(f)
    return closing


def test_cash_balance_recomputed_from_scenario(solved):
    data, s, plan = solved
    expected = recompute_cash(data, plan)
    cash = plan.tables["cash"]
    for a, series in expected.items():
        got = cash[cash["partner"] == a].sort_values("period")["closing_cash"].to_numpy()
        assert np.abs(got - series).max() < TOL, a


def test_cash_table_adds_up(solved):
    _, _, plan = solved
    c = plan.tables["cash"]
    residual = c["opening_cash"] + c["inflows"] - c["outflows"] + c["other_flows"] - c["closing_cash"]
    assert residual.abs().max() < TOL


def test_minimum_cash_and_funding_gap(solved):
    data, _, plan = solved
    c = plan.tables["cash"]
    # the gap is exactly the shortfall below the minimum (it is priced, so never larger)
    shortfall = (c["min_cash"] - c["closing_cash"]).clip(lower=0)
    assert (c["funding_gap"] - shortfall).abs().max() < TOL


def test_profit_kpis_match_objective(solved):
    _, _, plan = solved
    chain = plan.kpis["chain"]
    assert chain["profit"] == pytest.approx(plan.objective, rel=1e-9, abs=1e-6)
    assert sum(p["profit"] for p in plan.kpis["partners"].values()) == pytest.approx(chain["profit"], rel=1e-9)
