import { describe, expect, it } from 'vitest'

import plan from './fixtures/small_chain_plan.json'
import {
  bindingByFamily,
  type BindingLimit,
  cashByPartner,
  type CapacityRow,
  type CashRow,
  inventorySites,
  inventoryVsSafety,
  type InventoryRow,
  periodAxis,
  productionSites,
  productionVsCapacity,
  type ProductionRow,
  rankBindingLimits,
  serviceByPeriod,
  type SalesRow,
  topSeries,
} from './planCharts'

// small_chain solved by the engine (scripts/plan_fixture.py): the transforms must reproduce the
// engine's own KPIs from the tables the API serves.
const t = plan.tables as unknown as {
  production: ProductionRow[]; capacity: CapacityRow[]; inventory: InventoryRow[]; sales: SalesRow[]; cash: CashRow[]
}
const chain = plan.kpis.chain
const partners = plan.kpis.partners as Record<string, { peak_funding_gap: number; peak_funding_gap_period: number; total_funding_gap: number }>
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

describe('periodAxis', () => {
  it('orders periods and keeps their first date', () => {
    expect(periodAxis([{ period: 2, date: 'c' }, { period: 0, date: 'a' }, { period: 2, date: 'x' }, { period: 1, date: 'b' }]))
      .toEqual({ periods: [0, 1, 2], dates: ['a', 'b', 'c'] })
  })
})

describe('serviceByPeriod', () => {
  const s = serviceByPeriod(t.sales)
  it("reproduces the engine's fill rate, demand, sales and unmet demand", () => {
    expect(s.totals.demand).toBeCloseTo(chain.demand, 6)
    expect(s.totals.sales).toBeCloseTo(chain.sales, 6)
    expect(s.totals.fillRate).toBeCloseTo(chain.fill_rate, 12)
    expect(s.totals.unmet).toBeCloseTo(chain.unmet_demand, 6)
    expect(s.totals.lostSales).toBeCloseTo(chain.lost_sales, 6)
  })
  it('gives one value per period, fill rates within [0, 1]', () => {
    expect(s.axis.periods).toEqual([...Array(12).keys()])
    expect(s.axis.dates[0]).toBe('2027-01-01')
    for (const f of s.fillRate) expect(f === null || (f >= 0 && f <= 1)).toBe(true)
    expect(sum(s.backlog)).toBeCloseTo(chain.backlog_unit_periods, 6)
  })
  it('counts backlog served later as not on time', () => {
    const rows: SalesRow[] = [
      { site: 's', product: 'p', period: 0, date: 'd0', demand: 10, sales: 6, backlog: 4, lost_sales: 0 },
      { site: 's', product: 'p', period: 1, date: 'd1', demand: 10, sales: 12, backlog: 2, lost_sales: 0 },
      { site: 's', product: 'p', period: 2, date: 'd2', demand: 10, sales: 12, backlog: 0, lost_sales: 0 },
    ]
    const r = serviceByPeriod(rows)
    // period 1 sells 12: the 4 owed from period 0 first, so 8 of its own 10 on time
    expect(r.servedOnTime).toEqual([6, 8, 10])
    expect(r.fillRate).toEqual([0.6, 0.8, 1])
    expect(r.totals.unmet).toBe(0)
  })
})

describe('cashByPartner', () => {
  const cash = cashByPartner(t.cash)
  it('finds each partner peak funding gap and total as the engine does', () => {
    expect(cash.map((c) => c.partner)).toEqual(['maker', 'wholesale', 'haul', 'shops'])
    for (const c of cash) {
      const k = partners[c.partner]!
      expect(c.peakGap).toBeCloseTo(k.peak_funding_gap, 6)
      if (k.peak_funding_gap > 0) expect(c.peakGapPeriod).toBe(k.peak_funding_gap_period)
      expect(c.totalGap).toBeCloseTo(k.total_funding_gap, 6)
    }
    expect(sum(cash.map((c) => c.totalGap))).toBeCloseTo(chain.total_funding_gap, 6)
  })
  it('shades exactly the band between closing cash and the minimum', () => {
    for (const c of cash) {
      c.closing.forEach((closing, i) => {
        const min = c.minimum[i]!
        if (closing < min) expect(c.gapBase[i]! + c.gap[i]!).toBeCloseTo(min, 9)
        else expect(c.gap[i]).toBe(0)
        expect(c.gapBase[i]).toBe(Math.min(closing, min))
      })
    }
    const maker = cash[0]!
    expect(maker.gap.filter((g) => g > 0).length).toBeGreaterThan(0)
  })
})

describe('productionVsCapacity', () => {
  it('splits capacity used into regular time and overtime, per plant', () => {
    expect(productionSites(t.production, t.capacity)).toEqual(['plant'])
    const p = productionVsCapacity(t.production, t.capacity, 'plant')
    expect(p.unit).toBe('hours')
    expect(p.axis.periods.length).toBe(12)
    const used = t.capacity.map((r) => r.capacity_used)
    p.regularUsed.forEach((u, i) => expect(u + p.overtime[i]!).toBeCloseTo(used[i]!, 9))
    expect([...p.production.keys()]).toEqual(['gadget', 'widget'])
    const made = sum(t.production.map((r) => r.production))
    expect(sum([...p.production.values()].flat())).toBeCloseTo(made, 6)
    for (const u of p.utilisation) expect(u === null || u <= 1 + 1e-9).toBe(true)
  })
})

describe('inventoryVsSafety', () => {
  it('sums products per site against the safety stock, and values match the chain average', () => {
    const sites = inventorySites(t.inventory)
    expect(sites).toContain('dc')
    const bySite = sites.map((s) => inventoryVsSafety(t.inventory, s))
    const valuePerPeriod = bySite[0]!.value.map((_, i) => sum(bySite.map((b) => b.value[i]!)))
    expect(sum(valuePerPeriod) / valuePerPeriod.length).toBeCloseTo(chain.average_inventory_value, 6)
    for (const b of bySite) {
      b.total.forEach((tot, i) => expect(tot).toBeCloseTo(sum([...b.byProduct.values()].map((v) => v[i]!)), 9))
    }
  })
})

describe('binding limits', () => {
  const limits = plan.binding_limits as BindingLimit[]
  it('ranks by the size of the shadow price', () => {
    const ranked = rankBindingLimits(limits)
    expect(ranked.length).toBe(limits.length)
    for (let i = 1; i < ranked.length; i++) {
      expect(Math.abs(ranked[i - 1]!.shadow_price ?? 0)).toBeGreaterThanOrEqual(Math.abs(ranked[i]!.shadow_price ?? 0))
    }
  })
  it('summarises per family', () => {
    const fam = bindingByFamily(limits)
    expect(sum(fam.map((f) => f.count))).toBe(limits.length)
    expect(fam.map((f) => f.family).sort()).toEqual(['lane_capacity', 'production_capacity'])
  })
})

describe('topSeries', () => {
  // 30 products at one site (as a 5,000 SKU-location chain has at each of its sites)
  const many = new Map(Array.from({ length: 30 }, (_, i) => [`p${String(i).padStart(3, '0')}`, [i, 2 * i, i % 3 === 0 ? -i : i]]))
  it('keeps the largest series, largest first, and sums the rest into Other', () => {
    const top = topSeries(many, 8)
    expect([...top.keys()]).toEqual(['p029', 'p028', 'p027', 'p026', 'p025', 'p024', 'p023', 'p022', 'Other (22 products)'])
    expect(top.get('p029')).toEqual(many.get('p029'))
    for (let i = 0; i < 3; i++) {
      expect(sum([...top.values()].map((v) => v[i]!))).toBeCloseTo(sum([...many.values()].map((v) => v[i]!)), 9)
    }
  })

  it('leaves a chart with few series as it is', () => {
    const few = new Map([...many].slice(0, 9))
    expect(topSeries(few, 8)).toBe(few)
    const p = productionVsCapacity(t.production, t.capacity, 'plant')
    expect(topSeries(p.production)).toBe(p.production)
  })

  it('breaks ties by name', () => {
    const tied = new Map([['b', [1]], ['a', [1]], ['c', [1]], ['d', [1]]])
    expect([...topSeries(tied, 2, 'sites').keys()]).toEqual(['a', 'b', 'Other (2 sites)'])
  })
})
