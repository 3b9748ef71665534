"""Independent rechecks of a plan against the scenario it was made from.

Everything here reads the scenario as plain data (the YAML/dict, never ``planning.data`` nor
the plan's own price/lead-time/limit columns) and the plan's *quantities* (production,
shipments, inventory, sales, workforce, cash): prices, costs, lags, lead times and limits are
taken from the scenario fields, so an error in how the model reads the scenario (a price
scaled, a lead time shifted, a lag or a sign changed, a limit dropped) shows up as a residual
or a violation here even when the plan is internally consistent.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

TOL = 1e-6
NON_OPERATING = {"opening_receivables", "opening_payables"}
INTER_PARTNER_COSTS = {"purchases", "freight"}  # paid to another partner: not a chain cost


def arr(value, T):
    """A Series (number, list of T numbers or None) as an array over the horizon."""
    if value is None:
        return np.zeros(T)
    if isinstance(value, (list, tuple)):
        assert len(value) == T
        return np.asarray(value, float)
    return np.full(T, float(value))


def parr(value, product, T):
    """A ProductSeries (Series or {product: Series}) resolved for one product."""
    if isinstance(value, dict):
        return arr(value.get(product), T)
    return arr(value, T)


def grid(df, keys, value, T):
    """{key tuple: array over periods} from a long table."""
    out = defaultdict(lambda: np.zeros(T))
    for row in df[list(keys) + ["period", value]].itertuples(index=False):
        out[tuple(row[: len(keys)])][row[len(keys)]] += row[len(keys) + 1]
    return out


def lane_arrival(data: dict, lane: str, period: int) -> int:
    """Arrival period of a shipment: ship period + the scenario lane's lead_time (default 0)."""
    ln = next(x for x in data.get("lanes", []) if x["id"] == lane)
    return int(period) + int(ln.get("lead_time", 0))


def consumer_price(data: dict, site: str, product: str) -> np.ndarray:
    T = data["time"]["periods"]
    d = next(x for x in data["demand"] if x["site"] == site and x["product"] == product)
    return arr(d.get("price", 0.0), T)


# ------------------------------------------------------------------------------------- money


def ledger(data: dict, plan) -> list[tuple[str, str, int, int, float]]:
    """Every money movement of the plan as (partner, kind, period incurred, lag, signed amount),
    priced from the scenario's fields and payment terms."""
    T = data["time"]["periods"]
    partners = {a["id"]: a for a in data["partners"]}
    sites = {x["id"]: x for x in data["sites"]}
    owner = {x["id"]: x["partner"] for x in data["sites"]}
    lanes = {ln["id"]: ln for ln in data.get("lanes", [])}
    terms = {(t["seller"], t["buyer"]): t["lag"] for t in data.get("trade_terms", [])}

    def coll(a):
        return partners[a].get("payment_terms", {}).get("collection_lag", 0)

    def pay(a):
        return partners[a].get("payment_terms", {}).get("payment_lag", 0)

    out: list[tuple[str, str, int, int, float]] = []

    def book(a, kind, t, amount, lag):
        if amount != 0.0:
            out.append((a, kind, int(t), int(lag), float(amount)))

    for r in plan.tables["production"].itertuples(index=False):
        p = sites[r.site]["production"]
        a = owner[r.site]
        book(a, "material", r.period, -parr(p.get("material_cost", 0), r.product, T)[r.period] * r.production, pay(a))
        book(a, "production", r.period, -parr(p.get("variable_cost", 0), r.product, T)[r.period] * r.production, pay(a))
        if p.get("subcontracting"):
            book(a, "subcontracting", r.period,
                 -parr(p["subcontracting"]["cost"], r.product, T)[r.period] * r.subcontracting, pay(a))
        if p.get("overtime") and isinstance(p["overtime"]["cost"], dict):  # per product: its overtime units
            book(a, "overtime", r.period, -parr(p["overtime"]["cost"], r.product, T)[r.period] * r.overtime, 0)
        if p.get("setup_cost") is not None:
            run = getattr(r, "setup", 0)
            book(a, "setup", r.period, -parr(p["setup_cost"], r.product, T)[r.period] * run, 0)
    scrap = {pr["id"]: pr.get("scrap_cost", 0.0) for pr in data["products"]}
    waste = plan.tables.get("waste")
    if waste is not None:  # perishable stock scrapped, on the site owner's payment terms
        for r in waste.itertuples(index=False):
            a = owner[r.site]
            book(a, "scrap", r.period, -scrap[r.product] * r.units, pay(a))
    cap = plan.tables.get("capacity")
    if cap is not None and len(cap):
        for r in cap.itertuples(index=False):
            p = sites[r.site]["production"]
            a = owner[r.site]
            if p.get("workforce"):
                w = p["workforce"]
                book(a, "wages", r.period, -arr(w.get("wage", 0), T)[r.period] * r.workforce, 0)
                book(a, "hiring", r.period, -arr(w.get("hiring_cost", 0), T)[r.period] * r.hired, 0)
                book(a, "layoff", r.period, -arr(w.get("layoff_cost", 0), T)[r.period] * r.laid_off, 0)
            if p.get("overtime") and not isinstance(p["overtime"]["cost"], dict):
                book(a, "overtime", r.period, -arr(p["overtime"]["cost"], T)[r.period] * r.overtime, 0)
    sp_holding = {(x["id"], sp["product"]): sp.get("holding_cost") for x in data["sites"] for sp in x.get("products", [])}
    for r in plan.tables["inventory"].itertuples(index=False):
        hc = sp_holding.get((r.site, r.product))
        hc = parr(sites[r.site].get("holding_cost", 0), r.product, T) if hc is None else arr(hc, T)
        book(owner[r.site], "holding", r.period, -hc[r.period] * r.inventory, 0)
    prices = {(tp["seller"], tp["buyer"], tp.get("product")): tp["price"] for tp in data.get("transfer_prices", [])}
    for r in plan.tables["shipments"].itertuples(index=False):
        ln = lanes[r.lane]
        shipper, receiver = owner[ln["origin"]], owner[ln["destination"]]
        cost = parr(ln.get("cost_per_unit", 0), r.product, T)[r.period] * r.quantity
        k = ln.get("transporter")
        if k is None:
            book(shipper, "transport", r.period, -cost, pay(shipper))
        else:
            rate = ln.get("freight_rate")
            rate = parr(ln.get("cost_per_unit", 0) if rate is None else rate, r.product, T)[r.period] * r.quantity
            if k != shipper:
                lag = terms.get((k, shipper), coll(k))
                book(shipper, "freight", r.period, -rate, lag)
                book(k, "freight_revenue", r.period, rate, lag)
            book(k, "transport", r.period, -cost, pay(k))
        if shipper != receiver:
            price = prices.get((shipper, receiver, r.product), prices.get((shipper, receiver, None)))
            if isinstance(price, dict) and (shipper, receiver, r.product) not in prices:
                price = price[r.product]
            amount = arr(price, T)[r.period] * r.quantity
            lag = terms.get((shipper, receiver), coll(shipper))
            book(shipper, "transfer_revenue", r.period, amount, lag)
            book(receiver, "purchases", r.period, -amount, lag)
    for r in plan.tables["sales"].itertuples(index=False):
        a = owner[r.site]
        book(a, "consumer_revenue", r.period, consumer_price(data, r.site, r.product)[r.period] * r.sales, coll(a))
    cash_policy = data.get("cash", {})
    rate = cash_policy.get("funding_gap_rate", 0.01)
    soft = cash_policy.get("mode", "soft") == "soft"
    cash = plan.tables["cash"]
    for a, info in partners.items():
        for t, fc in enumerate(arr(info.get("fixed_cost", 0), T)):
            book(a, "fixed", t, -fc, 0)
        for name, sign in (("opening_receivables", 1), ("opening_payables", -1)):
            for t, v in enumerate(info.get(name, [])[:T]):
                book(a, name, t, sign * v, 0)
        if soft:
            gap = cash[cash["partner"] == a].sort_values("period")["funding_gap"].to_numpy()
            for t in range(T):
                book(a, "funding_gap_cost", t, -rate * gap[t], 0)
    return out


def penalties(data: dict, plan) -> list[tuple[str, str, float]]:
    """Non-cash penalties as (partner, kind, amount), from the scenario's service and safety
    stock policies."""
    T = data["time"]["periods"]
    owner = {x["id"]: x["partner"] for x in data["sites"]}
    services = {sv["site"]: sv for sv in data.get("service", [])}
    out = []
    for r in plan.tables["sales"].itertuples(index=False):
        sv = services.get(r.site, {})
        a = owner[r.site]
        if sv.get("policy") == "backlog":
            out.append((a, "backlog_penalty", parr(sv.get("backlog_penalty", 0), r.product, T)[r.period] * r.backlog))
        else:
            pen = parr(sv.get("lost_sale_penalty", 0), r.product, T)[r.period]
            out.append((a, "lost_sale_penalty", pen * r.lost_sales))
    ss = data.get("safety_stock", {})
    if ss.get("mode", "soft") == "soft":
        for r in plan.tables["inventory"].itertuples(index=False):
            pen = parr(ss.get("penalty", 0.0), r.product, T)[r.period]
            out.append((owner[r.site], "safety_stock_penalty", pen * r.safety_shortfall))
    return out


def recompute_cash(data: dict, plan) -> dict[str, np.ndarray]:
    """closing_cash[a,t] = opening_cash[a] + sum of a's movements settled (incurred + lag) by t."""
    T = data["time"]["periods"]
    flow = {a["id"]: np.zeros(T) for a in data["partners"]}
    for a, _, t, lag, amount in ledger(data, plan):
        if t + lag < T:
            flow[a][t + lag] += amount
    return {a["id"]: a.get("opening_cash", 0.0) + np.cumsum(flow[a["id"]]) for a in data["partners"]}


def recompute_kpis(data: dict, plan) -> dict:
    """Chain and partner revenue, costs by kind, penalties and profit (accrued, lags ignored),
    and the objective value the scenario's objective sense implies."""
    partners: dict[str, dict] = {
        a["id"]: {"revenue": 0.0, "costs": defaultdict(float), "penalties": defaultdict(float)} for a in data["partners"]
    }
    chain = {"revenue": 0.0, "costs": defaultdict(float), "penalties": defaultdict(float)}
    for a, kind, _, _, amount in ledger(data, plan):
        if kind in NON_OPERATING:
            continue
        if amount > 0:
            partners[a]["revenue"] += amount
        else:
            partners[a]["costs"][kind] -= amount
            if kind not in INTER_PARTNER_COSTS:
                chain["costs"][kind] -= amount
        if kind == "consumer_revenue":
            chain["revenue"] += amount
    for a, kind, amount in penalties(data, plan):
        partners[a]["penalties"][kind] += amount
        chain["penalties"][kind] += amount
    for k in [chain, *partners.values()]:
        k["profit"] = k["revenue"] - sum(k["costs"].values()) - sum(k["penalties"].values())
    if data.get("objective", "maximize_profit") == "minimize_cost":
        objective = chain["revenue"] - chain["profit"]
    else:
        objective = chain["profit"]
    return {"chain": chain, "partners": partners, "objective": objective}


# ------------------------------------------------------------------------------------- limits


def limit_violations(data: dict, plan) -> dict[str, float]:
    """The largest violation of every limit the scenario sets, each recomputed from the scenario's
    own fields and the plan's quantities (0 means respected; a limit absent from the scenario
    contributes 0). Keys name the scenario field checked."""
    T = data["time"]["periods"]
    products = [p["id"] for p in data["products"]]
    volume = {p["id"]: p.get("volume", 1.0) for p in data["products"]}
    sites = {x["id"]: x for x in data["sites"]}
    lanes = {ln["id"]: ln for ln in data.get("lanes", [])}
    v: dict[str, float] = defaultdict(float)

    def worst(name, excess):
        v[name] = max(v[name], float(np.max(excess, initial=0.0)))

    prod_t = plan.tables["production"]
    prod = grid(prod_t, ["site", "product"], "production", T)
    sub = grid(prod_t, ["site", "product"], "subcontracting", T)
    inv = grid(plan.tables["inventory"], ["site", "product"], "inventory", T)
    ship = grid(plan.tables["shipments"], ["lane", "product"], "quantity", T)
    sales_t = plan.tables["sales"]
    cap = plan.tables.get("capacity")

    # non-negativity of every quantity
    for name, table, cols in (
        ("nonnegative", prod_t, ["production", "subcontracting"]),
        ("nonnegative", plan.tables["shipments"], ["quantity"]),
        ("nonnegative", plan.tables["inventory"], ["inventory", "safety_shortfall"]),
        ("nonnegative", sales_t, ["sales", "backlog", "lost_sales"]),
    ):
        for c in cols:
            worst(name, -table[c].to_numpy())

    # production: which plants make what, capacity, overtime, subcontracting, workforce, setups
    for (s, p), x in list(prod.items()) + list(sub.items()):
        pr = sites[s].get("production")
        allowed = (pr.get("products") or products) if pr else []
        if p not in allowed:
            worst("production.products", np.abs(x))
    for s, site in sites.items():
        pr = site.get("production")
        if not pr:
            continue
        made = pr.get("products") or products
        g = cap[cap["site"] == s].sort_values("period") if cap is not None and len(cap) else None
        overtime = g["overtime"].to_numpy() if g is not None else np.zeros(T)
        hours = np.zeros(T)
        for p in made:
            hpu = parr(pr["hours_per_unit"], p, T) if pr.get("hours_per_unit") is not None else np.ones(T)
            hours += hpu * prod[(s, p)]
        wf = pr.get("workforce")
        if wf:
            w = g["workforce"].to_numpy()
            prev = np.concatenate([[wf["opening"]], w[:-1]])
            worst("workforce.balance", np.abs(w - prev - g["hired"].to_numpy() + g["laid_off"].to_numpy()))
            worst("workforce.min_workers", arr(wf.get("min_workers", 0), T) - w)
            if wf.get("max_workers") is not None:
                worst("workforce.max_workers", w - arr(wf["max_workers"], T))
            if wf.get("ending_min") is not None:
                worst("workforce.ending_min", wf["ending_min"] - w[-1])
            if wf.get("integer"):
                for c in ("workforce", "hired", "laid_off"):
                    x = g[c].to_numpy()
                    worst("workforce.integer", np.abs(x - np.round(x)))
            worst("nonnegative", -g[["hired", "laid_off"]].to_numpy().ravel())
        per_product = pr.get("regular_capacity")
        if isinstance(per_product, dict):  # units: each named product within its own regular + overtime units
            ot_units = grid(prod_t, ["site", "product"], "overtime", T) if "overtime" in prod_t else {}
            for p, cap_p in per_product.items():
                if p in made:
                    extra = ot_units[(s, p)] if ot_units else np.zeros(T)
                    worst("production.regular_capacity (per product)", prod[(s, p)] - arr(cap_p, T) - extra)
            regular = np.full(T, np.inf)
        elif pr.get("regular_capacity") is not None:
            regular = arr(pr["regular_capacity"], T)
        elif wf:
            regular = arr(wf["hours_per_worker"], T) * g["workforce"].to_numpy()
        else:
            regular = np.full(T, np.inf)
        worst("production.regular_capacity", hours - regular - overtime)
        ot = pr.get("overtime")
        if ot is None:
            worst("production.overtime (none)", np.abs(overtime))
        else:
            worst("nonnegative", -overtime)
            if isinstance(ot.get("max_total"), dict) or isinstance(ot.get("cost"), dict) or isinstance(per_product, dict):
                units = grid(prod_t[prod_t["site"] == s], ["product"], "overtime", T)
                worst("overtime (split is the total)", np.abs(sum((units[(p,)] for p in made), np.zeros(T)) - overtime))
                for p in made:
                    worst("overtime (units of p are units of p made)", units[(p,)] - prod[(s, p)])
                    worst("nonnegative", -units[(p,)])
                    if isinstance(ot.get("max_total"), dict) and p in ot["max_total"]:
                        worst("overtime.max_total (per product)", units[(p,)] - arr(ot["max_total"][p], T))
            elif ot.get("max_total") is not None:
                worst("overtime.max_total", overtime - arr(ot["max_total"], T))
            if ot.get("max_per_worker") is not None:
                worst("overtime.max_per_worker", overtime - arr(ot["max_per_worker"], T) * g["workforce"].to_numpy())
        bought = sum((sub[(s, p)] for p in made), np.zeros(T))
        sc = pr.get("subcontracting")
        if sc is None:
            worst("production.subcontracting (none)", np.abs(bought))
        elif isinstance(sc.get("max_units"), dict):
            for p, cap_p in sc["max_units"].items():
                if p in made:
                    worst("subcontracting.max_units (per product)", sub[(s, p)] - arr(cap_p, T))
        elif sc.get("max_units") is not None:
            worst("subcontracting.max_units", bought - arr(sc["max_units"], T))
        if pr.get("setup_cost") is not None:
            runs = prod_t[prod_t["site"] == s]
            for p in made:
                if not np.any(parr(pr["setup_cost"], p, T) > 0):
                    continue
                r = runs[runs["product"] == p].sort_values("period")
                made_p = r["production"].to_numpy()
                worst("production.setup_cost (run when producing)", np.where(r["setup"].to_numpy() == 0, made_p, 0.0))

    # lanes: products allowed, capacity in volume
    for (ln, p), q in ship.items():
        allowed = lanes[ln].get("products") or products
        if p not in allowed:
            worst("lane.products", np.abs(q))
    for ln_id, ln in lanes.items():
        if ln.get("capacity") is None:
            continue
        if isinstance(ln["capacity"], dict):
            for p, cap_p in ln["capacity"].items():
                worst("lane.capacity (per product)", volume[p] * ship[(ln_id, p)] - arr(cap_p, T))
            continue
        load = sum((volume[p] * q for (l2, p), q in ship.items() if l2 == ln_id), np.zeros(T))
        worst("lane.capacity", load - arr(ln["capacity"], T))

    # shelf life. At a stock point on no lane of the product: stock at the end of t <= what
    # entered in t-L+1 .. t (made or bought in), plus the opening stock if it entered (in period
    # -opening_age) within the window (exact there: issuing oldest first is always possible).
    # On lanes of a perishable product: ages by entry cohort, checked in age_violations.
    if "waste" in plan.tables:
        worst("nonnegative", -plan.tables["waste"]["units"].to_numpy())
    life_of = {p["id"]: p.get("shelf_life") for p in data["products"]}
    tracked = age_tracked(data)
    waste_t = plan.tables.get("waste")
    for x in data["sites"]:  # opening stock already past its life can only be scrapped, in period 0
        for sp in x.get("products", []):
            life = life_at(data, x["id"], sp["product"])
            if life is not None and sp.get("opening_age", 0) > life and sp.get("opening_inventory", 0.0) > 0:
                w = waste_t[(waste_t["site"] == x["id"]) & (waste_t["product"] == sp["product"]) & (waste_t["period"] == 0)]
                worst("shelf_life (expired opening stock scrapped)", sp["opening_inventory"] - w["units"].sum())
    for (s, p), level in inv.items():
        sp = next((e for e in sites[s].get("products", []) if e["product"] == p), {})
        life = sp.get("shelf_life") or life_of[p]
        if life is None or (s, p) in tracked:
            continue
        entered = prod[(s, p)] + sub[(s, p)]
        for t in range(T):
            window = range(max(0, t - life + 1), t + 1)
            total = sum(entered[u] for u in window)
            if -sp.get("opening_age", 0) >= t - life + 1:
                total += sp.get("opening_inventory", 0.0)
            worst("product.shelf_life", level[t] - total)
    for name, excess in age_violations(data, plan).items():
        worst(name, np.asarray([excess]))

    # sites: storage, safety stock, ending inventory
    sp = {(x["id"], s["product"]): s for x in data["sites"] for s in x.get("products", [])}
    for s, site in sites.items():
        if site.get("storage_capacity") is None:
            continue
        if isinstance(site["storage_capacity"], dict):
            for p, cap_p in site["storage_capacity"].items():
                worst("site.storage_capacity (per product)", volume[p] * inv[(s, p)] - arr(cap_p, T))
            continue
        load = sum((volume[p] * q for (s2, p), q in inv.items() if s2 == s), np.zeros(T))
        worst("site.storage_capacity", load - arr(site["storage_capacity"], T))
    ss_policy = data.get("safety_stock", {})
    hard = ss_policy.get("mode", "soft") == "hard"
    inv_t = plan.tables["inventory"]
    for (s, p), setting in sp.items():
        level = inv[(s, p)]
        target = arr(setting.get("safety_stock", 0.0), T)
        row = inv_t[(inv_t["site"] == s) & (inv_t["product"] == p)].sort_values("period")
        short = row["safety_shortfall"].to_numpy()
        if hard:
            worst("site.products.safety_stock (hard)", target - level)
        else:
            worst("site.products.safety_stock (soft: shortfall covers the gap)", target - level - short)
            if np.all(parr(ss_policy.get("penalty", 0.0), p, T) > 0):  # priced, so never more than the gap
                worst("site.products.safety_stock (soft: shortfall is the gap)",
                      np.abs(short - np.clip(target - level, 0, None)) * (target > 0))
        worst("site.products.ending_inventory", setting.get("ending_inventory", 0.0) - level[-1])

    # demand: sales balance with the scenario's demand, backlog cleared at the end
    services = {sv["site"]: sv for sv in data.get("service", [])}
    for d in data.get("demand", []):
        s, p = d["site"], d["product"]
        g = sales_t[(sales_t["site"] == s) & (sales_t["product"] == p)].sort_values("period")
        q = arr(d["quantity"], T)
        opening = sp.get((s, p), {}).get("opening_backlog", 0.0)
        sold = g["sales"].to_numpy()
        sv = services.get(s, {})
        if sv.get("policy") == "backlog":
            b = g["backlog"].to_numpy()
            prev = np.concatenate([[opening], b[:-1]])
            worst("demand (backlog balance)", np.abs(sold + b - prev - q))
            if sv.get("clear_backlog_by_end", True):
                worst("service.clear_backlog_by_end", b[-1:])
        else:
            lost = g["lost_sales"].to_numpy()
            worst("demand (lost-sales balance)", np.abs(sold + lost - q - np.eye(T)[0] * opening))

    # cash: minimum cash (hard: enforced; soft: the gap is exactly the shortfall when priced)
    cash_policy = data.get("cash", {})
    cash = plan.tables["cash"]
    for a in data["partners"]:
        g = cash[cash["partner"] == a["id"]].sort_values("period")
        closing = g["closing_cash"].to_numpy()
        minimum = arr(a.get("min_cash", 0.0), T)
        if cash_policy.get("mode", "soft") == "hard":
            worst("partner.min_cash (hard)", minimum - closing)
        else:
            gap = g["funding_gap"].to_numpy()
            worst("partner.min_cash (soft: gap covers the shortfall)", minimum - closing - gap)
            if cash_policy.get("funding_gap_rate", 0.01) > 0:
                worst("partner.min_cash (soft: gap is the shortfall)", np.abs(gap - np.clip(minimum - closing, 0, None)))
    return dict(v)


def life_at(data: dict, site: str, product: str):
    """The scenario's shelf life at a site (its products entry, else the product's), or None."""
    x = next(x for x in data["sites"] if x["id"] == site)
    sp = next((e for e in x.get("products", []) if e["product"] == product), {})
    if sp.get("shelf_life") is not None:
        return sp["shelf_life"]
    return next(p for p in data["products"] if p["id"] == product).get("shelf_life")


def age_tracked(data: dict) -> set[tuple[str, str]]:
    """(site, product) on a lane carrying the product, in a group of lane-connected sites with a
    shelf life at one of them: there a unit's age runs from when it entered the chain."""
    products = [p["id"] for p in data["products"]]
    out: set[tuple[str, str]] = set()
    for p in products:
        lanes = [ln for ln in data.get("lanes", []) if p in (ln.get("products") or products)]
        groups: list[set[str]] = []
        for ln in lanes:
            ends = {ln["origin"], ln["destination"]}
            touching = [g for g in groups if g & ends]
            merged = ends.union(*touching)
            groups = [g for g in groups if not g & ends] + [merged]
        for g in groups:
            if any(life_at(data, x, p) is not None for x in g):
                out.update((x, p) for x in g)
    return out


def age_violations(data: dict, plan) -> dict[str, float]:
    """Exact ages on lanes, from the scenario's fields and the plan's tables. A unit's cohort is
    the period it entered the chain (made or bought in: that period; opening stock:
    -opening_age); tables ``stock_ages`` and ``shipment_ages`` split stock and shipments by
    cohort. Checked: they add up to the inventory and shipments tables; per site, cohort and
    period, what is issued locally (previous stock + entries + arrivals - departures - stock,
    arrivals dated by the scenario's lead times) is never negative and all of it adds up to
    sales + waste; no unit is held at the end of t past its life (t - c <= L - 1), shipped unless
    held at the origin within its life or entered there (u - L_o <= c <= u), nor arrives past
    its life at the destination (u + lead > c + L_d). Largest excess of each."""
    tracked = age_tracked(data)
    v: dict[str, float] = defaultdict(float)
    if not tracked:
        return dict(v)

    def worst(name, excess):
        v[name] = max(v[name], float(excess))

    T = data["time"]["periods"]
    lanes = {ln["id"]: ln for ln in data.get("lanes", [])}
    tab = plan.tables
    stock_c: dict = defaultdict(float)
    for r in tab["stock_ages"].itertuples(index=False):
        stock_c[r.site, r.product, int(r.period), int(r.cohort)] += r.units
        life = life_at(data, r.site, r.product)
        if life is not None:
            worst("shelf_life (held past its life)", (r.units if r.period - r.cohort > life - 1 else 0.0))
    out_c: dict = defaultdict(float)
    in_c: dict = defaultdict(float)
    ship_sum: dict = defaultdict(float)
    for r in tab["shipment_ages"].itertuples(index=False):
        ln = lanes[r.lane]
        u, c = int(r.period), int(r.cohort)
        lo, ld = life_at(data, ln["origin"], r.product), life_at(data, ln["destination"], r.product)
        if c > u or (lo is not None and c < u - lo):
            worst("shelf_life (shipped past its life or before it entered)", r.units)
        arrive = u + int(ln.get("lead_time", 0))
        if ld is not None and arrive > c + ld:
            worst("shelf_life (arrives past its life)", r.units)
        out_c[ln["origin"], r.product, u, c] += r.units
        in_c[ln["destination"], r.product, arrive, c] += r.units
        ship_sum[r.lane, r.product, u] += r.units
    for r in tab["shipments"].itertuples(index=False):
        ends = (lanes[r.lane]["origin"], r.product)
        if ends in tracked:
            worst("shipment_ages add up to shipments", abs(ship_sum[r.lane, r.product, int(r.period)] - r.quantity))
    inv = grid(tab["inventory"], ["site", "product"], "inventory", T)
    prod = grid(tab["production"], ["site", "product"], "production", T)
    sub = grid(tab["production"], ["site", "product"], "subcontracting", T)
    sales = grid(tab["sales"], ["site", "product"], "sales", T)
    waste = grid(tab["waste"], ["site", "product"], "units", T) if "waste" in tab else defaultdict(lambda: np.zeros(T))
    sp_of = {(x["id"], e["product"]): e for x in data["sites"] for e in x.get("products", [])}
    for s, p in tracked:
        sp = sp_of.get((s, p), {})
        prev: dict[int, float] = defaultdict(float)
        if sp.get("opening_inventory", 0.0):
            prev[-sp.get("opening_age", 0)] = sp["opening_inventory"]
        for t in range(T):
            cohorts = set(prev) | {t} | {c for (x, q, u, c) in list(in_c) + list(out_c) + list(stock_c)
                                         if (x, q, u) == (s, p, t)}
            local, now = 0.0, {}
            for c in cohorts:
                entered = prod[(s, p)][t] + sub[(s, p)][t] if c == t else 0.0
                now[c] = stock_c[s, p, t, c]
                issued = prev[c] + entered + in_c[s, p, t, c] - out_c[s, p, t, c] - now[c]
                worst("cohort issued locally >= 0", -issued)
                local += issued
            worst("stock_ages add up to inventory", abs(sum(now.values()) - inv[(s, p)][t]))
            worst("cohorts issued add up to sales + waste",
                  abs(local - sales.get((s, p), np.zeros(T))[t] - waste[(s, p)][t]))
            prev = defaultdict(float, now)
    return dict(v)


def inventory_residuals(data: dict, plan) -> float:
    """Largest |inventory[t] - inventory[t-1] - made - bought - arrivals + departures + sales
    + waste|, arrivals placed at ship period + the scenario lane's lead_time, opening stock from
    the scenario."""
    T = data["time"]["periods"]
    lanes = {ln["id"]: ln for ln in data.get("lanes", [])}
    inv = grid(plan.tables["inventory"], ["site", "product"], "inventory", T)
    prod = grid(plan.tables["production"], ["site", "product"], "production", T)
    sub = grid(plan.tables["production"], ["site", "product"], "subcontracting", T)
    sales = grid(plan.tables["sales"], ["site", "product"], "sales", T)
    waste = grid(plan.tables["waste"], ["site", "product"], "units", T) if "waste" in plan.tables else defaultdict(lambda: np.zeros(T))
    arrivals = defaultdict(lambda: np.zeros(T))
    departures = defaultdict(lambda: np.zeros(T))
    for r in plan.tables["shipments"].itertuples(index=False):
        ln = lanes[r.lane]
        departures[(ln["origin"], r.product)][r.period] += r.quantity
        t = lane_arrival(data, r.lane, r.period)
        if t < T:
            arrivals[(ln["destination"], r.product)][t] += r.quantity
    opening = {(x["id"], sp["product"]): sp.get("opening_inventory", 0.0) for x in data["sites"] for sp in x.get("products", [])}
    keys = set(inv) | set(prod) | set(sub) | set(sales) | set(arrivals) | set(departures)
    worst = 0.0
    for key in keys:
        level = inv[key]
        prev = np.concatenate([[opening.get(key, 0.0)], level[:-1]])
        residual = level - prev - prod[key] - sub[key] - arrivals[key] + departures[key] + sales[key] + waste[key]
        worst = max(worst, float(np.abs(residual).max()))
    return worst
