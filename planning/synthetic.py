"""Synthetic four-partner chains of adjustable size (benchmarks, the medium example, tests).

Plants (manufacturer) ship to every DC (wholesaler) over transporter lanes; each store
(retailer) is served by one DC. Demand is seasonal with noise; prices leave each partner a
margin; the data are seeded, so a size and seed always give the same scenario.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np


def synthetic_chain(
    n_products: int = 2,
    n_plants: int = 1,
    n_dcs: int = 1,
    n_stores: int = 2,
    n_periods: int = 12,
    *,
    freq: str = "weekly",
    seed: int = 0,
    name: str | None = None,
) -> dict[str, Any]:
    """A scenario (as plain data, ready for :func:`scenarios.io.parse_scenario`)."""
    rng = np.random.default_rng(seed)
    T = n_periods
    season_len = 52 if freq == "weekly" else 12
    t = np.arange(T)
    products = []
    cost, price_ws, price_rt, price_cons, hours = {}, {}, {}, {}, {}
    for i in range(n_products):
        pid = f"p{i:03d}"
        c = float(np.round(rng.uniform(5, 30), 2))
        cost[pid] = c
        hours[pid] = float(np.round(rng.uniform(0.2, 1.0), 2))
        price_ws[pid] = round(c * 1.25 + hours[pid] * 20 * 1.3, 2)
        price_rt[pid] = round(price_ws[pid] * 1.2, 2)
        price_cons[pid] = round(price_rt[pid] * 1.3, 2)
        products.append({"id": pid, "volume": float(np.round(rng.uniform(0.5, 2.0), 2)), "standard_cost": c})

    partners = [
        {"id": "maker", "role": "manufacturer", "payment_terms": {"collection_lag": 2, "payment_lag": 1},
         "opening_cash": 50_000.0 * n_plants, "min_cash": 10_000.0 * n_plants},
        {"id": "wholesale", "role": "wholesaler", "payment_terms": {"collection_lag": 1, "payment_lag": 0},
         "opening_cash": 40_000.0 * n_dcs, "min_cash": 5_000.0 * n_dcs},
        {"id": "haul", "role": "transporter", "payment_terms": {"collection_lag": 1, "payment_lag": 0},
         "opening_cash": 20_000.0, "min_cash": 2_000.0},
        {"id": "shops", "role": "retailer", "payment_terms": {"collection_lag": 0, "payment_lag": 0},
         "opening_cash": 10_000.0 * n_stores, "min_cash": 1_000.0 * n_stores},
    ]

    base = {
        (s, p["id"]): rng.uniform(20, 120) for s in range(n_stores) for p in products
    }
    phase = rng.uniform(0, 2 * np.pi, size=n_stores)
    demand = []
    store_load = np.zeros(T)
    for s in range(n_stores):
        for p in products:
            level = base[(s, p["id"])]
            season = 1 + 0.3 * np.sin(2 * np.pi * t / season_len + phase[s])
            q = np.maximum(0, np.round(level * season * rng.normal(1, 0.1, size=T)))
            store_load += q * hours[p["id"]]
            demand.append({"site": f"store{s:03d}", "product": p["id"], "quantity": q.tolist(),
                           "price": price_cons[p["id"]]})

    hours_per_worker = 40.0 if freq == "weekly" else 160.0
    workers_needed = float(store_load.mean()) / hours_per_worker / n_plants
    sites = []
    for k in range(n_plants):
        sites.append({
            "id": f"plant{k:02d}", "partner": "maker", "kind": "plant", "holding_cost": 0.1,
            "storage_capacity": float(np.round(4 * store_load.mean() / n_plants + 1000)),
            "production": {
                "material_cost": {pid: cost[pid] for pid in cost},
                "hours_per_unit": {pid: hours[pid] for pid in hours},
                "workforce": {"opening": float(round(workers_needed * 0.9)), "hours_per_worker": hours_per_worker,
                              "wage": hours_per_worker * 20, "hiring_cost": 800, "layoff_cost": 1200,
                              "max_workers": round(workers_needed * 1.5 + 2, 1)},
                "overtime": {"cost": 30, "max_per_worker": hours_per_worker * 0.2},
                "subcontracting": {"cost": {pid: round(price_ws[pid] * 0.95, 2) for pid in cost},
                                   "max_units": float(np.round(store_load.mean() / 4))},
            },
        })
    for j in range(n_dcs):
        sites.append({"id": f"dc{j:02d}", "partner": "wholesale", "kind": "dc", "holding_cost": 0.08,
                      "products": [{"product": p["id"], "safety_stock": 0.0} for p in products]})
    for s in range(n_stores):
        ss = [
            {"product": p["id"], "safety_stock": float(np.round(base[(s, p["id"])] * 0.5)),
             "opening_inventory": float(np.round(base[(s, p["id"])]))}
            for p in products
        ]
        sites.append({"id": f"store{s:03d}", "partner": "shops", "kind": "store", "holding_cost": 0.15,
                      "products": ss})

    lanes = []
    for k in range(n_plants):
        for j in range(n_dcs):
            lanes.append({"id": f"plant{k:02d}-dc{j:02d}", "origin": f"plant{k:02d}", "destination": f"dc{j:02d}",
                          "transporter": "haul", "lead_time": 1, "cost_per_unit": 0.5, "freight_rate": 0.7,
                          "capacity": float(np.round(2 * store_load.mean() / n_dcs / 0.5 + 500))})
    for s in range(n_stores):
        j = s % n_dcs
        lanes.append({"id": f"dc{j:02d}-store{s:03d}", "origin": f"dc{j:02d}", "destination": f"store{s:03d}",
                      "transporter": "haul", "lead_time": int(s % 2), "cost_per_unit": 0.3, "freight_rate": 0.45})

    service = [
        {"site": f"store{s:03d}", "policy": "backlog" if s % 2 == 0 else "lost_sales",
         "backlog_penalty": 2.0, "clear_backlog_by_end": False, "lost_sale_penalty": 3.0}
        for s in range(n_stores)
    ]
    transfer = [{"seller": "maker", "buyer": "wholesale", "product": pid, "price": price_ws[pid]} for pid in cost]
    transfer += [{"seller": "wholesale", "buyer": "shops", "product": pid, "price": price_rt[pid]} for pid in cost]
    return {
        "name": name or f"synthetic-{n_products}p-{n_plants}x{n_dcs}x{n_stores}-{T}",
        "description": "Synthetic four-partner chain generated by planning.synthetic.synthetic_chain",
        "objective": "maximize_profit",
        "time": {"freq": freq, "periods": T, "start": date(2027, 1, 4).isoformat()},
        "products": products,
        "partners": partners,
        "sites": sites,
        "lanes": lanes,
        "demand": demand,
        "service": service,
        "transfer_prices": transfer,
        "safety_stock": {"mode": "soft", "penalty": 0.5},
        "cash": {"mode": "soft", "funding_gap_rate": 0.002},
    }


def approximate_variables(n_products: int, n_plants: int, n_dcs: int, n_stores: int, n_periods: int) -> int:
    """Variables of :func:`synthetic_chain` before building (for choosing benchmark sizes)."""
    per_pt = (
        (n_plants + n_dcs + n_stores)  # inventory
        + 2 * n_plants  # produce, subcontract
        + n_plants * n_dcs + n_stores  # ship
        + 2 * n_stores  # sales + backlog/lost
        + n_stores  # safety shortfall
    )
    return per_pt * n_products * n_periods + n_periods * (4 * n_plants + 8)
