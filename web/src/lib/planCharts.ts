// Pure transforms from a plan's result tables (GET /plans/{id}/tables/{name}) to the series its
// charts draw. No React and no ECharts here: each function is unit-tested on a plan the engine
// solved (fixtures/small_chain_plan.json), its sums checked against the engine's own KPIs.

export interface ProductionRow { site: string; product: string; period: number; date: string; production: number; subcontracting?: number }
export interface CapacityRow {
  site: string; period: number; date: string; capacity_used: number; capacity_unit: string
  regular_capacity: number; overtime: number; workforce?: number
}
export interface InventoryRow { site: string; product: string; period: number; date: string; inventory: number; safety_stock: number; safety_shortfall: number; value: number }
export interface SalesRow { site: string; product: string; period: number; date: string; demand: number; sales: number; backlog: number; lost_sales: number }
export interface CashRow { partner: string; period: number; date: string; closing_cash: number; min_cash: number; funding_gap: number; opening_cash?: number; inflows?: number; outflows?: number }
export interface BindingLimit { constraint: string; family: string; limit: number | null; shadow_price: number | null }

/** The periods of a table, in order, each with its date (the first row's date for that period). */
export interface Axis { periods: number[]; dates: string[] }

export function periodAxis(rows: ReadonlyArray<{ period: number; date?: string }>): Axis {
  const dates = new Map<number, string>()
  for (const r of rows) if (!dates.has(r.period)) dates.set(r.period, r.date ?? String(r.period))
  const periods = [...dates.keys()].sort((a, b) => a - b)
  return { periods, dates: periods.map((p) => dates.get(p)!) }
}

/** a[i] += v (the arrays are made with one slot per period). */
function add(a: number[], i: number, v: number): void {
  a[i] = (a[i] ?? 0) + v
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => a.localeCompare(b))
}

/** Values per key and period index: zeros where a key has no row for a period. */
function grid(keys: string[], n: number): Map<string, number[]> {
  return new Map(keys.map((k) => [k, new Array<number>(n).fill(0)]))
}

/** Sites with production or capacity rows (plants), sorted. */
export function productionSites(production: ProductionRow[], capacity: CapacityRow[]): string[] {
  return sortedUnique([...production.map((r) => r.site), ...capacity.map((r) => r.site)])
}

export interface ProductionVsCapacity {
  axis: Axis
  unit: string
  /** Capacity used in regular time, per period [unit]. */
  regularUsed: number[]
  /** Overtime used, per period [unit]. */
  overtime: number[]
  /** Regular capacity available, per period [unit]. */
  regularCapacity: number[]
  /** Units made per product and period (own production), and subcontracted units. */
  production: Map<string, number[]>
  subcontracting: number[]
  /** Share of regular capacity used per period (null when none is available). */
  utilisation: (number | null)[]
}

/** Production of one site against its capacity. */
export function productionVsCapacity(production: ProductionRow[], capacity: CapacityRow[], site: string): ProductionVsCapacity {
  const prod = production.filter((r) => r.site === site)
  const cap = capacity.filter((r) => r.site === site)
  const axis = periodAxis([...cap, ...prod])
  const index = new Map(axis.periods.map((p, i) => [p, i]))
  const n = axis.periods.length
  const regularUsed = new Array<number>(n).fill(0)
  const overtime = new Array<number>(n).fill(0)
  const regularCapacity = new Array<number>(n).fill(0)
  for (const r of cap) {
    const i = index.get(r.period)!
    add(overtime, i, r.overtime)
    add(regularUsed, i, r.capacity_used - r.overtime)
    add(regularCapacity, i, r.regular_capacity)
  }
  const products = grid(sortedUnique(prod.map((r) => r.product)), n)
  const subcontracting = new Array<number>(n).fill(0)
  for (const r of prod) {
    const i = index.get(r.period)!
    add(products.get(r.product)!, i, r.production)
    add(subcontracting, i, r.subcontracting ?? 0)
  }
  return {
    axis,
    unit: cap[0]?.capacity_unit ?? 'units',
    regularUsed,
    overtime,
    regularCapacity,
    production: products,
    subcontracting,
    utilisation: regularUsed.map((u, i) => (regularCapacity[i]! > 0 ? u / regularCapacity[i]! : null)),
  }
}

export interface InventoryVsSafety {
  axis: Axis
  /** Closing inventory per product and period [units]. */
  byProduct: Map<string, number[]>
  total: number[]
  safetyStock: number[]
  shortfall: number[]
  value: number[]
}

/** Sites holding inventory rows, sorted. */
export function inventorySites(inventory: InventoryRow[]): string[] {
  return sortedUnique(inventory.map((r) => r.site))
}

/** One site's closing inventory by product against its safety-stock target (summed over products). */
export function inventoryVsSafety(inventory: InventoryRow[], site: string): InventoryVsSafety {
  const rows = inventory.filter((r) => r.site === site)
  const axis = periodAxis(rows)
  const index = new Map(axis.periods.map((p, i) => [p, i]))
  const n = axis.periods.length
  const byProduct = grid(sortedUnique(rows.map((r) => r.product)), n)
  const total = new Array<number>(n).fill(0)
  const safetyStock = new Array<number>(n).fill(0)
  const shortfall = new Array<number>(n).fill(0)
  const value = new Array<number>(n).fill(0)
  for (const r of rows) {
    const i = index.get(r.period)!
    add(byProduct.get(r.product)!, i, r.inventory)
    add(total, i, r.inventory)
    add(safetyStock, i, r.safety_stock)
    add(shortfall, i, r.safety_shortfall)
    add(value, i, r.value)
  }
  return { axis, byProduct, total, safetyStock, shortfall, value }
}

export interface Service {
  axis: Axis
  demand: number[]
  sales: number[]
  /** Demand served in its own period (backlog cleared later does not count), as the engine's fill rate. */
  servedOnTime: number[]
  lostSales: number[]
  /** Backlog at the end of each period [units]. */
  backlog: number[]
  /** Served on time / demand per period (null without demand). */
  fillRate: (number | null)[]
  totals: { demand: number; sales: number; servedOnTime: number; fillRate: number; lostSales: number; unmet: number }
}

/** Fill rate and unmet demand per period over every demand series (site, product). Served on
 *  time follows the engine (planning/plan.py): a backlog series serves sales minus the previous
 *  period's backlog (at most the demand), a lost-sales series min(sales, demand). Unmet demand is
 *  lost sales plus the backlog left at the end of the horizon. */
export function serviceByPeriod(sales: SalesRow[]): Service {
  const axis = periodAxis(sales)
  const index = new Map(axis.periods.map((p, i) => [p, i]))
  const n = axis.periods.length
  const demand = new Array<number>(n).fill(0)
  const sold = new Array<number>(n).fill(0)
  const served = new Array<number>(n).fill(0)
  const lost = new Array<number>(n).fill(0)
  const backlog = new Array<number>(n).fill(0)
  const series = new Map<string, SalesRow[]>()
  for (const r of sales) {
    const key = `${r.site}\u0000${r.product}`
    const list = series.get(key)
    if (list) list.push(r)
    else series.set(key, [r])
  }
  let endingBacklog = 0
  for (const rows of series.values()) {
    rows.sort((a, b) => a.period - b.period)
    let previous = 0
    for (const r of rows) {
      const i = index.get(r.period)!
      add(demand, i, r.demand)
      add(sold, i, r.sales)
      add(lost, i, r.lost_sales)
      add(backlog, i, r.backlog)
      add(served, i, Math.max(0, Math.min(r.sales - previous, r.demand)))
      previous = r.backlog
    }
    endingBacklog += rows.length ? rows[rows.length - 1]!.backlog : 0
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  const totalDemand = sum(demand)
  const totalServed = sum(served)
  return {
    axis,
    demand,
    sales: sold,
    servedOnTime: served,
    lostSales: lost,
    backlog,
    fillRate: demand.map((d, i) => (d > 0 ? served[i]! / d : null)),
    totals: {
      demand: totalDemand,
      sales: sum(sold),
      servedOnTime: totalServed,
      fillRate: totalDemand > 0 ? totalServed / totalDemand : 1,
      lostSales: sum(lost),
      unmet: sum(lost) + endingBacklog,
    },
  }
}

export interface PartnerCash {
  partner: string
  axis: Axis
  closing: number[]
  minimum: number[]
  /** The part of the band below the minimum that is not covered: min(closing, minimum). */
  gapBase: number[]
  /** The funding gap: max(0, minimum − closing). gapBase + gap = minimum wherever there is a gap. */
  gap: number[]
  peakGap: number
  peakGapPeriod: number | null
  totalGap: number
}

/** Each partner's closing cash against its minimum, with the funding gap (minimum − closing
 *  where positive) ready to be shaded between the two lines. Partners in the table's order. */
export function cashByPartner(cash: CashRow[]): PartnerCash[] {
  const partners = [...new Set(cash.map((r) => r.partner))]
  return partners.map((partner) => {
    const rows = cash.filter((r) => r.partner === partner).sort((a, b) => a.period - b.period)
    const axis = periodAxis(rows)
    const closing = rows.map((r) => r.closing_cash)
    const minimum = rows.map((r) => r.min_cash)
    const gap = rows.map((r) => Math.max(0, r.min_cash - r.closing_cash))
    const gapBase = rows.map((r) => Math.min(r.closing_cash, r.min_cash))
    let peakGap = 0
    let peakGapPeriod: number | null = null
    gap.forEach((g, i) => {
      if (g > peakGap + 1e-9) {
        peakGap = g
        peakGapPeriod = axis.periods[i]!
      }
    })
    return { partner, axis, closing, minimum, gapBase, gap, peakGap, peakGapPeriod, totalGap: gap.reduce((a, b) => a + b, 0) }
  })
}

/** Binding limits, the most valuable first (largest |shadow price|), ties by name. */
export function rankBindingLimits(limits: BindingLimit[]): BindingLimit[] {
  return [...limits].sort((a, b) => {
    const d = Math.abs(b.shadow_price ?? 0) - Math.abs(a.shadow_price ?? 0)
    return d !== 0 ? d : a.constraint.localeCompare(b.constraint)
  })
}

export interface FamilySummary { family: string; count: number; maxShadowPrice: number; totalShadowPrice: number }

/** Binding limits per family (production_capacity, lane_capacity, ...), most valuable first. */
export function bindingByFamily(limits: BindingLimit[]): FamilySummary[] {
  const out = new Map<string, FamilySummary>()
  for (const l of limits) {
    const s = out.get(l.family) ?? { family: l.family, count: 0, maxShadowPrice: 0, totalShadowPrice: 0 }
    const price = Math.abs(l.shadow_price ?? 0)
    s.count += 1
    s.maxShadowPrice = Math.max(s.maxShadowPrice, price)
    s.totalShadowPrice += price
    out.set(l.family, s)
  }
  return [...out.values()].sort((a, b) => b.totalShadowPrice - a.totalShadowPrice || a.family.localeCompare(b.family))
}

/** Most series a stacked chart draws one by one; the rest are summed into one "Other" series. */
export const MAX_SERIES = 8

/** The `n` series with the largest totals (|values| summed), largest first, ties by name, and the
 *  others summed per period into one series named `Other (k <what>)`: a chart of a site with
 *  hundreds of products stays readable, and the stack's total per period is unchanged. */
export function topSeries(series: Map<string, number[]>, n = MAX_SERIES, what = 'products'): Map<string, number[]> {
  if (series.size <= n + 1) return series // folding one series into "Other" hides it for nothing
  const weight = (values: number[]) => values.reduce((a, v) => a + Math.abs(v), 0)
  const ranked = [...series.entries()].map(([k, v]) => ({ k, v, w: weight(v) }))
    .sort((a, b) => b.w - a.w || a.k.localeCompare(b.k))
  const out = new Map(ranked.slice(0, n).map(({ k, v }) => [k, v]))
  const rest = ranked.slice(n)
  const length = Math.max(0, ...rest.map(({ v }) => v.length))
  const other = new Array<number>(length).fill(0)
  for (const { v } of rest) v.forEach((x, i) => { other[i] = other[i]! + x })
  out.set(`Other (${rest.length} ${what})`, other)
  return out
}
