"""The scenario schema: the single source of truth for a jointplan planning scenario.

Every field carries its unit in its description and in the JSON Schema (``"unit"``), so the
same models serve validation, ``jointplan schema`` and the OpenAPI documentation.

Conventions
-----------
- Periods are integers ``0 .. T-1``; period ``t`` starts at ``time.start + t`` buckets.
- Quantities are in product units, money in the scenario's currency, rates per period.
- A :data:`Series` is either one number (constant over the horizon) or a list of exactly
  ``T`` numbers, one per period.  A :data:`ProductSeries` is a Series for every product, or a
  mapping ``product id -> Series`` for product-specific values.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import Enum
from typing import Any, Literal

from .fields import Identifier, ProductSeries, Series, StrictModel, _field, _product_field
from .finance import ScenarioFinance

SCHEMA_VERSION = "1.0"


class Frequency(str, Enum):
    weekly = "weekly"
    monthly = "monthly"


class Role(str, Enum):
    manufacturer = "manufacturer"
    wholesaler = "wholesaler"
    transporter = "transporter"
    retailer = "retailer"


class SiteKind(str, Enum):
    plant = "plant"
    dc = "dc"
    store = "store"


class Objective(str, Enum):
    maximize_profit = "maximize_profit"
    minimize_cost = "minimize_cost"


class ServicePolicy(str, Enum):
    backlog = "backlog"
    lost_sales = "lost_sales"


class Softness(str, Enum):
    soft = "soft"
    hard = "hard"


# ---------------------------------------------------------------------------------------------
# Time, products, partners
# ---------------------------------------------------------------------------------------------


class TimeBuckets(StrictModel):
    """The planning horizon: T buckets of one frequency from a start date."""

    freq: Frequency = _field(description="Length of one planning bucket: weekly or monthly")
    periods: int = _field(ge=1, le=1040, unit="periods", description="Horizon length T")
    start: date = _field(description="First day of period 0 (ISO date)")


def period_starts(time: TimeBuckets) -> list[date]:
    """The first day of each period: ``start + t`` weeks, or ``start + t`` calendar months (the
    day of month kept, clipped to the month's last day: 31 Jan + 1 month = 29 Feb 2024)."""
    if time.freq == Frequency.weekly:
        return [time.start + timedelta(weeks=t) for t in range(time.periods)]
    out = []
    for t in range(time.periods):
        year, month0 = divmod(time.start.month - 1 + t, 12)
        year += time.start.year
        day = min(time.start.day, calendar.monthrange(year, month0 + 1)[1])
        out.append(date(year, month0 + 1, day))
    return out


class Product(StrictModel):
    id: Identifier = _field(description="Product identifier, unique in the scenario")
    name: str | None = _field(None, description="Display name")
    volume: float = _field(
        1.0,
        ge=0,
        unit="capacity units/unit",
        description="Storage and lane capacity one unit takes",
    )
    standard_cost: float = _field(
        0.0,
        ge=0,
        unit="currency/unit",
        description="Value of one unit of inventory, used for inventory value and working capital",
    )
    shelf_life: int | None = _field(
        None,
        ge=1,
        le=1040,
        unit="periods",
        description=(
            "Perishable stock: the number of period ends a unit may spend in stock, in transit "
            "counted. A unit entering in period t (made, bought in, or shipped toward a site) may "
            "be held at the ends of periods t .. t+L-1 and must be sold or shipped by period t+L; "
            "what is left is scrapped (waste). A site's products entry may override it; omitted "
            "means the product does not perish"
        ),
    )
    scrap_cost: float = _field(
        0.0,
        ge=0,
        unit="currency/unit",
        description="Cost of scrapping one unit of expired stock, paid by the site's owner on its payment_lag",
    )


class PaymentTerms(StrictModel):
    """When a partner's money moves, in whole periods after the transaction."""

    collection_lag: int = _field(
        0,
        ge=0,
        unit="periods",
        description=(
            "Periods between a sale and its cash: the credit term the partner grants its customers. "
            "Within the chain an invoice is settled after the seller's collection_lag unless "
            "trade_terms sets the pair's own lag"
        ),
    )
    payment_lag: int = _field(
        0,
        ge=0,
        unit="periods",
        description=(
            "Periods between a purchase from a supplier outside the modelled chain (materials, "
            "subcontracting, transport operating costs) and its payment"
        ),
    )


class Partner(StrictModel):
    id: Identifier = _field(description="Partner identifier")
    name: str | None = _field(None, description="Company name")
    role: Role = _field(description="The partner's role in the chain")
    payment_terms: PaymentTerms = _field(
        default_factory=PaymentTerms, description="Collection and payment lags"
    )
    opening_cash: float = _field(0.0, unit="currency", description="Cash at the start of period 0")
    min_cash: Series = _field(
        0.0, unit="currency", description="Minimum cash balance at the end of each period"
    )
    fixed_cost: Series = _field(
        0.0, ge=0, unit="currency/period", description="Overheads paid in cash each period"
    )
    opening_receivables: list[float] = _field(
        default_factory=list,
        unit="currency",
        description="Cash collected in periods 0, 1, ... from sales made before the horizon",
    )
    opening_payables: list[float] = _field(
        default_factory=list,
        unit="currency",
        description="Cash paid in periods 0, 1, ... for purchases made before the horizon",
    )


class TradeTerms(StrictModel):
    """A payment lag agreed for one seller-buyer pair, overriding the seller's collection_lag."""

    seller: Identifier = _field(description="Selling partner id")
    buyer: Identifier = _field(description="Buying partner id")
    lag: int = _field(ge=0, unit="periods", description="Periods from invoice to payment")


class TransferPrice(StrictModel):
    """Price one partner charges another for a product moved between their sites."""

    seller: Identifier = _field(description="Selling partner id")
    buyer: Identifier = _field(description="Buying partner id")
    product: Identifier | None = _field(
        None, description="Product id; omitted means every product"
    )
    price: ProductSeries = _product_field(
        per_product="price",
        unit="currency/unit",
        description="Transfer price; a {product: value} map only when product is omitted",
    )


# ---------------------------------------------------------------------------------------------
# Sites and production
# ---------------------------------------------------------------------------------------------


class SiteProduct(StrictModel):
    """Inventory settings of one product at one site."""

    product: Identifier = _field(description="Product id")
    opening_inventory: float = _field(
        0.0, ge=0, unit="units", description="On hand at the start of period 0"
    )
    safety_stock: Series = _field(
        0.0, unit="units", description="Target minimum inventory at the end of each period"
    )
    ending_inventory: float = _field(
        0.0, ge=0, unit="units", description="Minimum inventory at the end of the horizon"
    )
    holding_cost: Series | None = _field(
        None,
        unit="currency/unit/period",
        description="Holding cost for this product here; omitted means the site's holding_cost",
    )
    opening_backlog: float = _field(
        0.0, ge=0, unit="units", description="Demand owed to customers at the start of period 0"
    )
    shelf_life: int | None = _field(
        None,
        ge=1,
        le=1040,
        unit="periods",
        description="Shelf life of the product at this site, overriding the product's shelf_life",
    )
    opening_age: int = _field(
        0,
        ge=0,
        le=1040,
        unit="periods",
        description=(
            "Periods the opening inventory has already spent in stock: it counts as having "
            "entered in period -opening_age (0: as fresh as period 0's production)"
        ),
    )


class Workforce(StrictModel):
    """Workforce providing the plant's regular hours: regular hours = workers x hours_per_worker."""

    opening: float = _field(ge=0, unit="workers", description="Workers at the start of period 0")
    hours_per_worker: Series = _field(
        unit="hours/worker/period", description="Regular hours one worker provides"
    )
    wage: Series = _field(
        0.0, unit="currency/worker/period", description="Regular-time pay of one worker"
    )
    hiring_cost: Series = _field(0.0, unit="currency/worker", description="Cost to hire a worker")
    layoff_cost: Series = _field(0.0, unit="currency/worker", description="Cost to lay off a worker")
    min_workers: Series = _field(0.0, unit="workers", description="Lower bound on the workforce")
    max_workers: Series | None = _field(
        None, unit="workers", description="Upper bound on the workforce; omitted means none"
    )
    ending_min: float | None = _field(
        None, ge=0, unit="workers", description="Minimum workforce at the end of the horizon"
    )
    integer: bool = _field(False, description="Hire and lay off whole workers (makes a MIP)")


class Overtime(StrictModel):
    """Capacity beyond the regular one. With capacity in hours (hours_per_unit given) overtime is
    hours of the shared resource, whatever product is made in them, so cost and max_total are
    one number or T numbers. With capacity in units, a product map prices (or limits) the units
    of each product made in overtime; the plan chooses which units those are."""

    cost: ProductSeries = _product_field(
        per_product="price",
        unit="currency/capacity unit",
        description="Cost of one overtime hour (or unit, when capacity is in units)",
    )
    max_total: ProductSeries | None = _product_field(
        None,
        per_product="limit",
        unit="capacity units/period",
        description="Absolute limit on overtime per period; omitted means none",
    )
    max_per_worker: Series | None = _field(
        None,
        unit="hours/worker/period",
        description="Limit on overtime per worker per period (needs a workforce)",
    )


class Subcontracting(StrictModel):
    cost: ProductSeries = _product_field(
        per_product="price", unit="currency/unit", description="Price paid per unit bought in"
    )
    max_units: ProductSeries | None = _product_field(
        None, per_product="limit", unit="units/period", description="Limit on units bought in, over all products; omitted means none"
    )


class Production(StrictModel):
    """A plant's production and its capacity levers (the aggregate-planning levers)."""

    products: list[Identifier] | None = _field(
        None, description="Products this plant makes; omitted means every product"
    )
    material_cost: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit", description="Material bought per unit produced"
    )
    variable_cost: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit", description="Other variable conversion cost per unit produced"
    )
    hours_per_unit: ProductSeries | None = _product_field(
        None,
        per_product="price",
        unit="hours/unit",
        description=(
            "Shared resource (machine or labour) hours one unit needs. Given: capacity is in hours. "
            "Omitted: capacity is in units"
        ),
    )
    regular_capacity: ProductSeries | None = _product_field(
        None,
        per_product="limit",
        unit="capacity units/period",
        description=(
            "Regular capacity in hours (with hours_per_unit) or units. Omitted with a workforce: "
            "workers x hours_per_worker. Omitted without one: unlimited. A product map needs "
            "capacity in units (hours are one shared resource)"
        ),
    )
    workforce: Workforce | None = _field(None, description="Workforce setting regular hours")
    overtime: Overtime | None = _field(None, description="Overtime lever; omitted means none")
    subcontracting: Subcontracting | None = _field(
        None, description="Subcontracting lever; omitted means none"
    )
    setup_cost: ProductSeries | None = _product_field(
        None,
        per_product="price",
        unit="currency/run",
        description="Fixed cost of a production run of a product in a period (makes a MIP)",
    )


class Site(StrictModel):
    id: Identifier = _field(description="Site identifier")
    name: str | None = _field(None, description="Display name")
    partner: Identifier = _field(description="Owning partner id")
    kind: SiteKind = _field(description="plant (manufacturer), dc, or store (retailer)")
    storage_capacity: ProductSeries | None = _product_field(
        None, per_product="limit", unit="capacity units", description="Storage limit on volume x stock; omitted means unlimited"
    )
    holding_cost: ProductSeries = _product_field(
        0.0,
        per_product="price",
        unit="currency/unit/period",
        description=(
            "Cost of holding one unit for one period (a product's own holding_cost under products "
            "overrides it; a map need not name those products)"
        ),
    )
    products: list[SiteProduct] = _field(
        default_factory=list, description="Per-product inventory settings at this site"
    )
    production: Production | None = _field(None, description="Production, for plants")


class Lane(StrictModel):
    id: Identifier = _field(description="Lane identifier")
    origin: Identifier = _field(description="Site the goods leave")
    destination: Identifier = _field(description="Site the goods reach")
    transporter: Identifier | None = _field(
        None,
        description="Transporter partner operating the lane; omitted means the shipper's own fleet",
    )
    capacity: ProductSeries | None = _product_field(
        None, per_product="limit", unit="capacity units/period", description="Lane capacity on volume x units shipped; omitted means unlimited"
    )
    cost_per_unit: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit", description="Operating cost of moving one unit"
    )
    freight_rate: ProductSeries | None = _product_field(
        None,
        per_product="price",
        unit="currency/unit",
        description="Price the transporter charges the shipper; omitted means cost_per_unit",
    )
    lead_time: int = _field(0, ge=0, unit="periods", description="Periods from shipment to arrival")
    products: list[Identifier] | None = _field(
        None, description="Products allowed on the lane; omitted means every product"
    )


# ---------------------------------------------------------------------------------------------
# Demand and service
# ---------------------------------------------------------------------------------------------


class Demand(StrictModel):
    site: Identifier = _field(description="Site where customers buy")
    product: Identifier = _field(description="Product id")
    quantity: Series = _field(unit="units/period", description="Customer demand")
    price: Series = _field(0.0, unit="currency/unit", description="Selling price to customers")


class Service(StrictModel):
    """How unmet demand at one site is treated."""

    site: Identifier = _field(description="Demand site")
    policy: ServicePolicy = _field(description="backlog (served later) or lost_sales")
    backlog_penalty: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit/period", description="Penalty per unit backlogged per period"
    )
    clear_backlog_by_end: bool = _field(
        True, description="Backlog must be zero at the end of the horizon"
    )
    lost_sale_penalty: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit", description="Penalty per unit of demand lost (beyond margin)"
    )


# ---------------------------------------------------------------------------------------------
# Policies, solver, scenario
# ---------------------------------------------------------------------------------------------


class SafetyStockPolicy(StrictModel):
    mode: Softness = _field(Softness.soft, description="soft: shortfall is penalised; hard: enforced")
    penalty: ProductSeries = _product_field(
        0.0, per_product="price", unit="currency/unit/period", description="Penalty per unit below safety stock"
    )


class CashPolicy(StrictModel):
    mode: Softness = _field(
        Softness.soft,
        description="soft: cash may fall below the minimum, the funding gap is priced; hard: enforced",
    )
    funding_gap_rate: float = _field(
        0.01,
        ge=0,
        lt=1,
        unit="1/period",
        description="Cost per currency unit of funding gap per period, paid in cash",
    )


class SolverOptions(StrictModel):
    time_limit: float | None = _field(None, gt=0, unit="s", description="Solver time limit")
    mip_gap: float = _field(1e-4, ge=0, unit="fraction", description="Relative MIP gap")
    threads: int | None = _field(None, ge=1, description="HiGHS threads; omitted means default")
    lp_method: Literal["auto", "simplex", "ipm"] = _field(
        "auto", description="How HiGHS solves a cold LP: dual simplex, interior point (then crossover to a "
        "basis), or auto: interior point from 250,000 variables, simplex below. Warm starts use simplex; "
        "a MIP, branch and bound")


class Scenario(StrictModel):
    """A joint planning scenario of a supply chain of up to four partner roles."""

    schema_version: str = _field(SCHEMA_VERSION, description="Version of this schema")
    name: str = _field(min_length=1, description="Scenario name")
    description: str | None = _field(None, description="Free text")
    currency: str = _field("EUR", description="Currency of every money amount")
    objective: Objective = _field(
        Objective.maximize_profit,
        description="maximize_profit (revenue minus all costs) or minimize_cost of meeting demand",
    )
    time: TimeBuckets = _field(description="Planning horizon and bucket size")
    products: list[Product] = _field(min_length=1, description="Products")
    partners: list[Partner] = _field(min_length=1, description="Partners")
    sites: list[Site] = _field(min_length=1, description="Sites")
    lanes: list[Lane] = _field(default_factory=list, description="Transport lanes")
    demand: list[Demand] = _field(default_factory=list, description="Customer demand")
    service: list[Service] = _field(
        default_factory=list, description="Service policy per demand site"
    )
    transfer_prices: list[TransferPrice] = _field(
        default_factory=list, description="Prices between partners"
    )
    trade_terms: list[TradeTerms] = _field(
        default_factory=list, description="Payment lags agreed per seller-buyer pair"
    )
    safety_stock: SafetyStockPolicy = _field(
        default_factory=SafetyStockPolicy, description="How safety stock is enforced"
    )
    cash: CashPolicy = _field(default_factory=CashPolicy, description="How minimum cash is enforced")
    solver: SolverOptions = _field(default_factory=SolverOptions, description="Solver options")
    finance: ScenarioFinance | None = _field(
        None,
        description=(
            "Funding instruments per partner (credit lines, asset-based lines, factoring, reverse "
            "factoring, fixed-tenor loans, early-payment discounts). Planning ignores this section "
            "unless finance is enabled (jointplan plan --finance); jointplan fund and "
            "compare-finance use it"
        ),
    )


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Scenario`."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jointplan scenario"
    return schema

