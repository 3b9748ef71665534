import { describe, expect, it } from 'vitest'

import { scaleDemand, setPartnerField, summarize } from './content'

describe('summarize', () => {
  it('reads the parts of a scenario a planner looks at first', () => {
    const s = summarize({
      name: 'small-chain', currency: 'EUR', time: { freq: 'monthly', periods: 3, start: '2027-01-01' },
      products: [{ id: 'a' }], sites: [{ id: 's' }, { id: 't' }], lanes: [],
      demand: [{ site: 's', product: 'a', quantity: [1, 2, 3] }, { site: 't', product: 'a', quantity: 10 }],
      partners: [{ id: 'maker', name: 'Acme', role: 'manufacturer', opening_cash: 60000, min_cash: 20000, payment_terms: { collection_lag: 2, payment_lag: 1 } }],
      finance: { partners: [{ partner: 'maker' }] },
    })
    expect(s.totalDemand).toBe(36)
    expect(s.periods).toBe(3)
    expect(s.hasFinance).toBe(true)
    expect(s.partners[0]).toEqual({ id: 'maker', name: 'Acme', role: 'manufacturer', opening_cash: 60000, min_cash: 20000, collection_lag: 2, payment_lag: 1 })
  })
  it('survives missing or odd fields', () => {
    const s = summarize({ demand: [{ quantity: 'x' }], finance: null })
    expect(s.currency).toBeNull()
    expect(s.totalDemand).toBeNull()
    expect(s.hasFinance).toBe(false)
    expect(summarize(null).partners).toEqual([])
  })
})

describe('quick edits', () => {
  it('scales every demand quantity, whole units, leaving the rest alone', () => {
    const c = { name: 'x', demand: [{ site: 's', quantity: [100, 105] }, { site: 't', quantity: 10 }, { site: 'u' }] }
    const scaled = scaleDemand(c, 1.05)
    expect(scaled.demand).toEqual([{ site: 's', quantity: [105, 110] }, { site: 't', quantity: 11 }, { site: 'u' }])
    expect(c.demand[0]!.quantity).toEqual([100, 105]) // not changed in place
    expect(scaled.name).toBe('x')
  })
  it("sets one partner's field", () => {
    const c = { partners: [{ id: 'a', min_cash: 1 }, { id: 'b', min_cash: 2 }] }
    expect(setPartnerField(c, 'b', 'min_cash', 5).partners).toEqual([{ id: 'a', min_cash: 1 }, { id: 'b', min_cash: 5 }])
  })
})
