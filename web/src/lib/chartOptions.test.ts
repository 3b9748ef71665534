import { describe, expect, it } from 'vitest'

import { capacityOption, cashOption, inventoryOption, OTHER, PALETTE, periodLabels, productionOption, serviceOption } from './chartOptions'
import plan from './fixtures/small_chain_plan.json'
import { cashByPartner, type CashRow, inventoryVsSafety, type InventoryRow, productionVsCapacity, type CapacityRow, type ProductionRow, serviceByPeriod, type SalesRow, topSeries } from './planCharts'

const t = plan.tables as unknown as { production: ProductionRow[]; capacity: CapacityRow[]; inventory: InventoryRow[]; sales: SalesRow[]; cash: CashRow[] }
type S = { name: string; data: (number | null)[]; stack?: string; stackStrategy?: string; yAxisIndex?: number }

describe('chart options', () => {
  it('labels periods by month', () => {
    expect(periodLabels(['2027-01-01', '2027-02-01'])).toEqual(['Jan 2027', 'Feb 2027'])
  })
  it('shades the funding gap from closing cash up to the minimum, whatever the sign', () => {
    const maker = cashByPartner(t.cash)[0]!
    const o = cashOption(maker, 'EUR')
    const series = o.series as S[]
    const base = series.find((s) => s.name === 'gap-base')!
    const gap = series.find((s) => s.name === 'Funding gap')!
    expect(base.stack).toBe(gap.stack)
    // closing cash goes negative: stacking must not split by sign
    expect(base.stackStrategy).toBe('all')
    expect(gap.stackStrategy).toBe('all')
    const minimum = series.find((s) => s.name === 'Minimum cash')!.data
    gap.data.forEach((g, i) => { if ((g ?? 0) > 0) expect(base.data[i]! + g!).toBeCloseTo(minimum[i]!, 9) })
    expect((o.yAxis as { name: string }).name).toBe('Cash [EUR]')
  })
  it('stacks the safety-stock shortfall on the stock, so the bar reaches the target', () => {
    const inv = inventoryVsSafety(t.inventory, 'dc')
    const series = inventoryOption(inv).series as S[]
    const short = series.find((s) => s.name === 'Below safety stock')!
    expect(short.stack).toBe('inv')
    expect(series.filter((s) => s.stack === 'inv').map((s) => s.name)).toEqual(['gadget', 'widget', 'Below safety stock'])
  })
  it('draws the folded products of a big site in grey, never in a product colour', () => {
    const inv = inventoryVsSafety(t.inventory, 'dc')
    const many = new Map(Array.from({ length: 12 }, (_, i) => [`p${i}`, inv.total.map((v) => v * (i + 1))]))
    const series = inventoryOption({ ...inv, byProduct: topSeries(many) }).series as (S & { color?: string })[]
    const other = series.find((s) => s.name === 'Other (4 products)')!
    expect(other.color).toBe(OTHER)
    expect(PALETTE).not.toContain(OTHER)
    expect(series.filter((s) => s.stack === 'inv' && s.name.startsWith('p')).every((s) => s.color === undefined)).toBe(true)
    const p = productionVsCapacity(t.production, t.capacity, 'plant')
    const made = productionOption({ ...p, production: topSeries(new Map([...many].map(([k, v]) => [k, v.slice(0, p.axis.periods.length)]))) }).series as (S & { color?: string })[]
    expect(made.find((s) => s.name === 'Other (4 products)')!.color).toBe(OTHER)
  })
  it('names every axis with its unit', () => {
    const cap = capacityOption(productionVsCapacity(t.production, t.capacity, 'plant'))
    expect((cap.yAxis as { name: string }).name).toBe('Capacity [hours]')
    const inv = inventoryOption(inventoryVsSafety(t.inventory, 'dc'))
    expect((inv.yAxis as { name: string }).name).toBe('Inventory [units]')
    const svc = serviceOption(serviceByPeriod(t.sales))
    const axes = svc.yAxis as { name: string }[]
    expect(axes.map((a) => a.name)).toEqual(['Units', 'Fill rate'])
    expect((svc.series as S[]).find((s) => s.name === 'Fill rate')!.yAxisIndex).toBe(1)
  })
  it('splits sales into on-time, late and lost that add up to demand served or lost', () => {
    const s = serviceByPeriod(t.sales)
    const series = serviceOption(s).series as S[]
    const get = (n: string) => series.find((x) => x.name === n)!.data as number[]
    const onTime = get('Served on time'); const late = get('Served late (backlog)')
    onTime.forEach((v, i) => expect(v + late[i]!).toBeCloseTo(s.sales[i]!, 9))
  })
})
