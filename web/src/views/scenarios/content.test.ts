import { describe, expect, it } from 'vitest'

import { summarize } from './content'

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
