import { describe, expect, it } from 'vitest'

import { comparisonRows, overlay } from './compare'

const plan = (plan_id: number, profit: number, fill: number, funding: Record<string, any> | null) => ({
  plan_id, objective: profit, chain: { revenue: 1000, total_cost: 1000 - profit, profit, fill_rate: fill, unmet_demand: 5, average_inventory_value: 80 },
  partners: { shops: { profit: profit / 2, closing_cash: 10, peak_funding_gap: 0 } }, funding,
})

describe('comparisonRows', () => {
  it('one value per plan and its difference to the first (the baseline)', () => {
    const rows = comparisonRows([plan(1, 300, 0.9, null), plan(2, 350, 0.95, { net_financing_cost: 12, partners: { shops: { peak_funding_need: 40, financing_cost: 3 } } })])
    const by = Object.fromEntries(rows.map((r) => [r.id, r]))
    expect(by['chain.profit']).toEqual({ id: 'chain.profit', label: 'Profit', kind: 'money', values: [300, 350], diffs: [null, 50] })
    expect(by['chain.fill_rate']!.diffs[1]).toBeCloseTo(0.05, 12)
    // the baseline has no funding: no difference, not a difference to zero
    expect(by['funding.net_financing_cost']).toMatchObject({ values: [null, 12], diffs: [null, null] })
    expect(by['shops.funding.peak_funding_need']!.values).toEqual([null, 40])
    expect(rows.map((r) => r.id).slice(0, 2)).toEqual(['objective', 'chain.revenue'])
  })
  it('leaves out the funding rows when no plan has funding', () => {
    expect(comparisonRows([plan(1, 1, 1, null), plan(2, 2, 1, null)]).some((r) => r.id.includes('funding.'))).toBe(false)
  })
})

describe('overlay', () => {
  it('puts each plan on the union of the dates', () => {
    expect(overlay([
      { name: 'Plan 1', dates: ['2027-01-01', '2027-02-01'], values: [1, 2] },
      { name: 'Plan 2', dates: ['2027-02-01', '2027-03-01'], values: [3, 4] },
    ])).toEqual({ dates: ['2027-01-01', '2027-02-01', '2027-03-01'], series: [['Plan 1', [1, 2, null]], ['Plan 2', [null, 3, 4]]] })
  })
})
