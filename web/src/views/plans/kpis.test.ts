import { describe, expect, it } from 'vitest'

import plan from '../../lib/fixtures/small_chain_plan.json'
import { chainKpis, partnerKpis } from './kpis'

describe('plan KPIs', () => {
  const items = chainKpis(plan.kpis, 'EUR')
  const byId = Object.fromEntries(items.map((k) => [k.id, k]))
  it('shows the API values unchanged, formatted', () => {
    expect(byId.profit!.value).toBe(plan.kpis.chain.profit)
    expect(byId.profit!.text).toBe('€765,418')
    expect(byId.revenue!.text).toBe('€1,848,520')
    expect(byId.fill_rate!.text).toBe('98.1%')
    expect(byId.unmet_demand!.text).toBe('630 units')
    expect(byId.unmet_demand!.tone).toBe('bad')
  })
  it('sums the penalties', () => {
    expect(byId.penalties!.value).toBeCloseTo(5020.484848484849 + 480 + 2520, 9)
  })
  it('lists each partner with its costs and peaks', () => {
    const rows = partnerKpis(plan.kpis)
    expect(rows.map((r) => r.partner)).toEqual(['maker', 'wholesale', 'haul', 'shops'])
    const maker = rows[0]!
    expect(maker.revenue! - maker.costs!).toBeCloseTo(maker.profit!, 6)
    expect(maker.peak_funding_gap_period).toBe(1)
  })
})
