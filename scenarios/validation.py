"""Checks run on a scenario before any model is built.

Each ``check_*`` function takes a parsed :class:`~scenarios.schema.Scenario` and returns a list of
:class:`Problem` naming the field path and the reason. :func:`validate_scenario` runs them all and
returns every problem, not just the first.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable

from .fields import Problem, product_fields, walk_models
from .finance import check_scenario_finance
from .schema import (
    Lane,
    Objective,
    Overtime,
    Production,
    Role,
    Scenario,
    ServicePolicy,
    Service,
    SafetyStockPolicy,
    Site,
    SiteKind,
    Softness,
    Subcontracting,
    TransferPrice,
)


class ScenarioError(ValueError):
    """A scenario that cannot be planned; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} error(s) in scenario:\n" + "\n".join(f"  {p}" for p in errors)
        )


ALLOWED_SITE_ROLES: dict[SiteKind, set[Role]] = {
    SiteKind.plant: {Role.manufacturer},
    SiteKind.dc: {Role.manufacturer, Role.wholesaler, Role.retailer},
    SiteKind.store: {Role.retailer, Role.wholesaler},
}


def _series_items(value: Any) -> list[float]:
    if isinstance(value, list):
        return list(value)
    return [value]


def _peak(value: Any) -> float:
    """The largest number in a Series or ProductSeries."""
    values = value.values() if isinstance(value, dict) else [value]
    return max((max(_series_items(v), default=0.0) for v in values), default=0.0)


def _product_series_items(value: Any) -> Iterable[tuple[str | None, Any]]:
    if isinstance(value, dict):
        yield from value.items()
    else:
        yield None, value


def _check_series(
    value: Any, path: str, T: int, *, nonnegative: bool = True, product_ids: set[str] | None = None
) -> list[Problem]:
    """A Series must have T entries when it is a list; ProductSeries keys must be products."""
    problems: list[Problem] = []
    if value is None:
        return problems
    for key, series in _product_series_items(value):
        sub = path if key is None else f"{path}.{key}"
        if key is not None and product_ids is not None and key not in product_ids:
            problems.append(Problem(sub, f"unknown product '{key}'"))
        if isinstance(series, list):
            if len(series) != T:
                problems.append(
                    Problem(sub, f"has {len(series)} values but the horizon has {T} periods")
                )
        if nonnegative:
            for i, v in enumerate(_series_items(series)):
                if v < 0:
                    where = sub if not isinstance(series, list) else f"{sub}[{i}]"
                    problems.append(Problem(where, f"must not be negative (got {v})"))
                    break
    return problems


def check_unique_ids(s: Scenario) -> list[Problem]:
    problems = []
    for name, items in (
        ("products", s.products),
        ("partners", s.partners),
        ("sites", s.sites),
        ("lanes", s.lanes),
    ):
        counts = Counter(item.id for item in items)
        for i, item in enumerate(items):
            if counts[item.id] > 1:
                problems.append(Problem(f"{name}[{i}].id", f"duplicate id '{item.id}'"))
    return problems


def check_references(s: Scenario) -> list[Problem]:
    """Every reference resolves, to an object of the right kind."""
    problems: list[Problem] = []
    products = {p.id for p in s.products}
    partners = {p.id: p for p in s.partners}
    sites = {x.id: x for x in s.sites}

    def need(ref: str | None, known: dict | set, path: str, what: str) -> bool:
        if ref is not None and ref not in known:
            problems.append(Problem(path, f"unknown {what} '{ref}'"))
            return False
        return True

    for i, site in enumerate(s.sites):
        if need(site.partner, partners, f"sites[{i}].partner", "partner"):
            role = partners[site.partner].role
            if role not in ALLOWED_SITE_ROLES[site.kind]:
                allowed = ", ".join(sorted(r.value for r in ALLOWED_SITE_ROLES[site.kind]))
                problems.append(
                    Problem(
                        f"sites[{i}].partner",
                        f"a {site.kind.value} must belong to a partner with role {allowed}; "
                        f"'{site.partner}' is a {role.value}",
                    )
                )
        seen: set[str] = set()
        for j, sp in enumerate(site.products):
            need(sp.product, products, f"sites[{i}].products[{j}].product", "product")
            if sp.product in seen:
                problems.append(
                    Problem(f"sites[{i}].products[{j}].product", f"product '{sp.product}' listed twice")
                )
            seen.add(sp.product)
        if site.production is not None:
            if site.kind != SiteKind.plant:
                problems.append(
                    Problem(f"sites[{i}].production", f"only a plant produces; this site is a {site.kind.value}")
                )
            for j, p in enumerate(site.production.products or []):
                need(p, products, f"sites[{i}].production.products[{j}]", "product")

    for i, lane in enumerate(s.lanes):
        need(lane.origin, sites, f"lanes[{i}].origin", "site")
        need(lane.destination, sites, f"lanes[{i}].destination", "site")
        if lane.origin == lane.destination:
            problems.append(Problem(f"lanes[{i}].destination", "a lane must join two different sites"))
        if lane.transporter is not None and need(
            lane.transporter, partners, f"lanes[{i}].transporter", "partner"
        ):
            role = partners[lane.transporter].role
            if role != Role.transporter:
                problems.append(
                    Problem(
                        f"lanes[{i}].transporter",
                        f"'{lane.transporter}' is a {role.value}, not a transporter",
                    )
                )
        for j, p in enumerate(lane.products or []):
            need(p, products, f"lanes[{i}].products[{j}]", "product")

    pairs = Counter()
    for i, d in enumerate(s.demand):
        need(d.site, sites, f"demand[{i}].site", "site")
        need(d.product, products, f"demand[{i}].product", "product")
        pairs[(d.site, d.product)] += 1
        if pairs[(d.site, d.product)] == 2:
            problems.append(
                Problem(f"demand[{i}]", f"second demand entry for site '{d.site}', product '{d.product}'")
            )
    service_sites = Counter()
    for i, sv in enumerate(s.service):
        need(sv.site, sites, f"service[{i}].site", "site")
        service_sites[sv.site] += 1
        if service_sites[sv.site] == 2:
            problems.append(Problem(f"service[{i}].site", f"second service policy for site '{sv.site}'"))
    for i, tp in enumerate(s.transfer_prices):
        need(tp.seller, partners, f"transfer_prices[{i}].seller", "partner")
        need(tp.buyer, partners, f"transfer_prices[{i}].buyer", "partner")
        need(tp.product, products, f"transfer_prices[{i}].product", "product")
    for i, tt in enumerate(s.trade_terms):
        need(tt.seller, partners, f"trade_terms[{i}].seller", "partner")
        need(tt.buyer, partners, f"trade_terms[{i}].buyer", "partner")
    return problems


def check_series(s: Scenario) -> list[Problem]:
    """Series have one value per period; costs, capacities, demand and prices are not negative."""
    T = s.time.periods
    products = {p.id for p in s.products}
    problems: list[Problem] = []
    for i, a in enumerate(s.partners):
        problems += _check_series(a.min_cash, f"partners[{i}].min_cash", T, nonnegative=False)
        problems += _check_series(a.fixed_cost, f"partners[{i}].fixed_cost", T)
        for name in ("opening_receivables", "opening_payables"):
            values = getattr(a, name)
            if len(values) > T:
                problems.append(
                    Problem(f"partners[{i}].{name}", f"has {len(values)} values, more than the {T} periods")
                )
            for j, v in enumerate(values):
                if v < 0:
                    problems.append(Problem(f"partners[{i}].{name}[{j}]", f"must not be negative (got {v})"))
    for where, model, _ in walk_models(s):
        for name in product_fields(type(model)):
            problems += _check_series(getattr(model, name), f"{where}.{name}", T, product_ids=products)
    for i, site in enumerate(s.sites):
        base = f"sites[{i}]"
        for j, sp in enumerate(site.products):
            problems += _check_series(sp.safety_stock, f"{base}.products[{j}].safety_stock", T)
            problems += _check_series(sp.holding_cost, f"{base}.products[{j}].holding_cost", T)
        prod = site.production
        if prod is None:
            continue
        pb = f"{base}.production"
        if prod.workforce is not None:
            w = prod.workforce
            for name in ("hours_per_worker", "wage", "hiring_cost", "layoff_cost", "min_workers", "max_workers"):
                problems += _check_series(getattr(w, name), f"{pb}.workforce.{name}", T)
        if prod.overtime is not None:
            problems += _check_series(prod.overtime.max_per_worker, f"{pb}.overtime.max_per_worker", T)
    for i, lane in enumerate(s.lanes):
        if lane.lead_time >= T:
            problems.append(
                Problem(
                    f"lanes[{i}].lead_time",
                    f"lead time {lane.lead_time} is not shorter than the horizon ({T}); nothing shipped arrives",
                    "warning",
                )
            )
    for i, d in enumerate(s.demand):
        problems += _check_series(d.quantity, f"demand[{i}].quantity", T)
        problems += _check_series(d.price, f"demand[{i}].price", T)
    return problems


def site_stock_products(s: Scenario) -> dict[str, set[str]]:
    """The products that may be stocked at each site: made, received, shipped, sold or listed
    there (the stock points of the model)."""
    all_products = [p.id for p in s.products]
    out: dict[str, set[str]] = {x.id: {sp.product for sp in x.products} for x in s.sites}
    for x in s.sites:
        if x.production is not None:
            out[x.id] |= set(x.production.products or all_products)
    for lane in s.lanes:
        for end in (lane.origin, lane.destination):
            if end in out:
                out[end] |= set(lane.products or all_products)
    for d in s.demand:
        if d.site in out:
            out[d.site].add(d.product)
    return out


def _applies_to(s: Scenario, model: Any, ancestors: tuple, stock: dict[str, set[str]]) -> tuple[set[str], str]:
    """The products a priced product map on ``model`` must name, and what makes them needed."""
    all_products = {p.id for p in s.products}
    if isinstance(model, Lane):
        return set(model.products or all_products), "the lane carries it"
    if isinstance(model, Service):
        return {d.product for d in s.demand if d.site == model.site}, "the site has demand for it"
    if isinstance(model, Site):
        own = {sp.product for sp in model.products if sp.holding_cost is not None}
        return stock.get(model.id, set()) - own, "the site may stock it and sets no holding_cost of its own for it"
    plant = next((a for a in reversed(ancestors) if isinstance(a, Production)), model)
    if isinstance(plant, Production):
        return set(plant.products or all_products), "the plant makes it"
    if isinstance(model, SafetyStockPolicy):
        return {
            sp.product for x in s.sites for sp in x.products if max(_series_items(sp.safety_stock)) > 0
        }, "it has a safety stock"
    if isinstance(model, TransferPrice):
        return set(), ""  # a product left out is unpriced: check_prices_and_terms says where it crosses
    return all_products, "every product"


def check_product_maps(s: Scenario) -> list[Problem]:
    """What a ``{product: value}`` map means where it is written. A cost, price or penalty map names
    every product it applies to (a product left out would silently cost nothing); a capacity map
    is one limit per named product. Refused: a map where capacity is hours of one shared resource
    (overtime cost and limit, regular capacity with hours_per_unit), and a map on a transfer price
    that already names its product."""
    problems: list[Problem] = []
    stock = site_stock_products(s)
    for where, model, ancestors in walk_models(s):
        for name, kind in product_fields(type(model)).items():
            value = getattr(model, name)
            if not isinstance(value, dict):
                continue
            path = f"{where}.{name}"
            plant = next((a for a in reversed(ancestors) if isinstance(a, Production)), model)
            in_hours = isinstance(plant, Production) and plant.hours_per_unit is not None
            if in_hours and (isinstance(model, Overtime) or (isinstance(model, Production) and name == "regular_capacity")):
                problems.append(Problem(path, "capacity here is hours of one resource shared by every product "
                                        "(hours_per_unit is set), so it cannot be given per product: give one number "
                                        "or T numbers (limit a product's share with its own hours_per_unit)"))
                continue
            if isinstance(model, TransferPrice) and model.product is not None:
                problems.append(Problem(path, f"this price is for product '{model.product}' only; give one number "
                                        "or T numbers (a {product: price} map needs product omitted)"))
                continue
            if kind != "price":
                continue
            needed, why = _applies_to(s, model, ancestors, stock)
            missing = [p.id for p in s.products if p.id in needed and p.id not in value]
            if missing:
                names = ", ".join(f"'{p}'" for p in missing)
                problems.append(Problem(path, f"no value for product {names} ({why}); a cost, price or penalty map "
                                        "names every product it applies to (write 0 for none)"))
    return problems


def check_production(s: Scenario) -> list[Problem]:
    """Capacity levers are consistent: hours need hours_per_unit, per-worker limits a workforce."""
    problems: list[Problem] = []
    for i, site in enumerate(s.sites):
        prod = site.production
        pb = f"sites[{i}].production"
        if site.kind == SiteKind.plant and prod is None:
            problems.append(Problem(f"sites[{i}].production", "plant has no production settings; it only stores", "warning"))
        if prod is None:
            continue
        if prod.workforce is not None and prod.hours_per_unit is None:
            problems.append(
                Problem(f"{pb}.hours_per_unit", "a workforce provides hours, so hours_per_unit is required")
            )
        if prod.workforce is not None and prod.regular_capacity is not None:
            problems.append(
                Problem(
                    f"{pb}.regular_capacity",
                    "give either regular_capacity or a workforce (whose hours are the regular capacity), not both",
                )
            )
        if prod.overtime is not None:
            if prod.overtime.max_per_worker is not None and prod.workforce is None:
                problems.append(
                    Problem(f"{pb}.overtime.max_per_worker", "a per-worker overtime limit needs a workforce")
                )
            if prod.workforce is None and prod.regular_capacity is None:
                problems.append(
                    Problem(f"{pb}.overtime", "overtime needs a regular capacity or a workforce to exceed", "warning")
                )
        w = prod.workforce
        if w is not None and w.integer and float(w.opening) != int(w.opening):
            problems.append(
                Problem(f"{pb}.workforce.opening", f"must be a whole number of workers when integer is set (got {w.opening})")
            )
        if w is not None and w.max_workers is not None:
            lo, hi = _series_items(w.min_workers), _series_items(w.max_workers)
            if max(lo) > min(hi) and len(lo) == 1 and len(hi) == 1:
                problems.append(Problem(f"{pb}.workforce.max_workers", "is below min_workers"))
    return problems


def check_demand_and_service(s: Scenario) -> list[Problem]:
    """Demand sits at sites with a service policy the objective can price."""
    problems: list[Problem] = []
    policies = {sv.site: (i, sv) for i, sv in enumerate(s.service)}
    demand_sites = {d.site for d in s.demand}
    for i, sv in enumerate(s.service):
        if sv.site not in demand_sites:
            problems.append(Problem(f"service[{i}].site", f"site '{sv.site}' has no demand", "warning"))
    if s.objective == Objective.minimize_cost:
        for site in sorted(demand_sites):
            if site not in policies:
                problems.append(
                    Problem(
                        "service",
                        f"demand site '{site}' needs a service policy with a positive penalty under "
                        "minimize_cost, or unmet demand costs nothing",
                    )
                )
                continue
            i, sv = policies[site]
            penalty = sv.backlog_penalty if sv.policy == ServicePolicy.backlog else sv.lost_sale_penalty
            if _peak(penalty) <= 0 and not (
                sv.policy == ServicePolicy.backlog and sv.clear_backlog_by_end
            ):
                field = "backlog_penalty" if sv.policy == ServicePolicy.backlog else "lost_sale_penalty"
                problems.append(
                    Problem(
                        f"service[{i}].{field}",
                        "must be positive under minimize_cost, or unmet demand costs nothing",
                    )
                )
            elif sv.policy == ServicePolicy.backlog and _peak(sv.backlog_penalty) <= 0:
                # accepted (the backlog must clear by the end), but serving late costs nothing
                problems.append(
                    Problem(
                        f"service[{i}].backlog_penalty",
                        f"is zero under minimize_cost: demand at '{site}' may be served late at no cost "
                        "anywhere inside the horizon (only the end-of-horizon clearing binds)",
                        "warning",
                    )
                )
    return problems


def check_prices_and_terms(s: Scenario) -> list[Problem]:
    """Goods crossing between partners have a transfer price; trade terms are not repeated."""
    problems: list[Problem] = []
    sites = {x.id: x for x in s.sites}
    all_products = [p.id for p in s.products]
    priced: set[tuple[str, str, str | None]] = set()
    for tp in s.transfer_prices:
        if isinstance(tp.price, dict) and tp.product is None:
            priced |= {(tp.seller, tp.buyer, p) for p in tp.price}
        else:
            priced.add((tp.seller, tp.buyer, tp.product))
    for i, lane in enumerate(s.lanes):
        o, d = sites.get(lane.origin), sites.get(lane.destination)
        if o is None or d is None or o.partner == d.partner:
            continue
        for p in lane.products or all_products:
            if (o.partner, d.partner, p) not in priced and (o.partner, d.partner, None) not in priced:
                problems.append(
                    Problem(
                        f"lanes[{i}]",
                        f"moves '{p}' from partner '{o.partner}' to '{d.partner}' but transfer_prices "
                        "has no price for it",
                    )
                )
    seen = Counter((t.seller, t.buyer) for t in s.trade_terms)
    for i, t in enumerate(s.trade_terms):
        if seen[(t.seller, t.buyer)] > 1:
            problems.append(Problem(f"trade_terms[{i}]", f"pair {t.seller} -> {t.buyer} given more than once"))
    return problems


def check_policies(s: Scenario) -> list[Problem]:
    problems: list[Problem] = []
    penalty = s.safety_stock.penalty
    if s.safety_stock.mode == Softness.soft and _peak(penalty) <= 0:
        has_ss = any(
            max(_series_items(sp.safety_stock)) > 0 for site in s.sites for sp in site.products
        )
        if has_ss:
            problems.append(
                Problem("safety_stock.penalty", "soft safety stock with zero penalty is ignored by the plan", "warning")
            )
    rate = s.cash.funding_gap_rate
    if s.cash.mode == Softness.soft and rate > 0 and "funding_gap_rate" not in s.cash.model_fields_set:
        # the default is a cost in the objective: say so once, for the whole chain
        problems.append(
            Problem(
                "cash.funding_gap_rate",
                f"not set, so the default applies: a funding-gap charge of {rate * 100:g} % per period on any "
                "partner's cash below its minimum is part of the objective; set it (0 for none) to choose",
                "warning",
            )
        )
    return problems


PATH_SEARCH_LIMIT = 100_000
"""Most lane steps the shelf-life check takes looking for a demand's longest path."""


def _longest_path_to(s: Scenario, product: str, target: str) -> tuple[int, list[str]] | None:
    """The longest total lead time of a simple lane path carrying ``product`` from a plant making
    it to ``target``, with its lane ids (origin first); None when no plant reaches it."""
    all_products = [p.id for p in s.products]
    makers = {x.id for x in s.sites if x.production is not None and product in (x.production.products or all_products)}
    into: dict[str, list[Lane]] = {}
    for lane in s.lanes:
        if lane.products is None or product in lane.products:
            into.setdefault(lane.destination, []).append(lane)
    best: tuple[int, list[str]] | None = (0, []) if target in makers else None
    stack: list[tuple[str, int, list[str], frozenset[str]]] = [(target, 0, [], frozenset([target]))]
    steps = 0
    while stack and steps < PATH_SEARCH_LIMIT:
        site, lead, lanes, seen = stack.pop()
        for lane in into.get(site, []):
            steps += 1
            if lane.origin in seen:
                continue
            path = [lane.id, *lanes]
            total = lead + lane.lead_time
            if lane.origin in makers and (best is None or total > best[0]):
                best = (total, path)
            stack.append((lane.origin, total, path, seen | {lane.origin}))
    return best


def check_shelf_life(s: Scenario) -> list[Problem]:
    """A perishable product's shelf life at a demand site (the site's own, else the product's)
    must be at least the lead time of the longest lane path from a plant making it to that site:
    a unit in transit ages, so a longer path delivers only expired stock. An opening_age where
    the product does not perish is a warning (it has no effect), unless the site ships or
    receives the product by lane and the product perishes at some site (its age then travels)."""
    problems: list[Problem] = []
    life_path = {p.id: (f"products[{k}].shelf_life", p.shelf_life) for k, p in enumerate(s.products)}
    site_index = {x.id: i for i, x in enumerate(s.sites)}
    for i, d in enumerate(s.demand):
        path, life = life_path.get(d.product, ("", None))
        if d.site in site_index:
            for j, sp in enumerate(s.sites[site_index[d.site]].products):
                if sp.product == d.product and sp.shelf_life is not None:
                    path, life = f"sites[{site_index[d.site]}].products[{j}].shelf_life", sp.shelf_life
        if life is None:
            continue
        longest = _longest_path_to(s, d.product, d.site)
        if longest is not None and longest[0] > life:
            lanes = {ln.id: ln for ln in s.lanes}
            sites = [lanes[longest[1][0]].origin] + [lanes[ln].destination for ln in longest[1]]
            problems.append(Problem(path, (
                f"shelf life {life} period{'s' if life != 1 else ''} is shorter than the lead time {longest[0]} of the path "
                f"{' -> '.join(sites)} (lanes {', '.join(longest[1])}) that demand[{i}] "
                f"({d.site}, {d.product}) depends on")))
    lives = {p.id: p.shelf_life for p in s.products}
    perishes_somewhere = {sp.product for site in s.sites for sp in site.products if sp.shelf_life is not None}
    all_products = [p.id for p in s.products]
    on_lane = {(end, p) for ln in s.lanes for p in (ln.products or all_products) for end in (ln.origin, ln.destination)}
    for i, site in enumerate(s.sites):
        for j, sp in enumerate(site.products):
            if sp.product in perishes_somewhere and (site.id, sp.product) in on_lane:
                continue  # its age travels with its shipments to sites where the product perishes
            if sp.opening_age > 0 and sp.shelf_life is None and lives.get(sp.product) is None:
                problems.append(Problem(f"sites[{i}].products[{j}].opening_age",
                                        f"has no effect: product '{sp.product}' has no shelf life here", "warning"))
    return problems


CHECKS: tuple[Callable[[Scenario], list[Problem]], ...] = (
    check_unique_ids,
    check_references,
    check_series,
    check_product_maps,
    check_production,
    check_demand_and_service,
    check_prices_and_terms,
    check_policies,
    check_shelf_life,
    check_scenario_finance,
)


def validate_scenario(s: Scenario) -> list[Problem]:
    """Run every check; return all problems found (errors and warnings)."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(s))
    return problems


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
