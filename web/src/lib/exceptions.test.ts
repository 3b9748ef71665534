import { describe, expect, it } from 'vitest'

import { acceptableSources, exceptionFacets, filterExceptions, sortExceptions } from './exceptions'

const ex = (id: string, rule: string, severity: string, partners: string[], resolved = false, ds: string | null = '2027-01-01') =>
  ({ id, rule, severity, partners, resolved, sources: 'shops vs statistical', unique_id: 'widget/store-north', ds })

const LIST = [
  ex('EX-1', 'retailer-vs-statistical', 'low', ['shops']),
  ex('EX-2', 'wholesaler-vs-retailer', 'high', ['shops', 'wholesale'], true),
  ex('EX-3', 'forecast-error', 'medium', [], false, null),
  ex('EX-4', 'wholesaler-vs-retailer', 'high', ['shops', 'wholesale']),
]

describe('the exceptions inbox', () => {
  it('filters by rule, severity, partner and state together', () => {
    expect(filterExceptions(LIST, { partner: 'wholesale' }).map((e) => e.id)).toEqual(['EX-2', 'EX-4'])
    expect(filterExceptions(LIST, { partner: 'wholesale', state: 'open' }).map((e) => e.id)).toEqual(['EX-4'])
    expect(filterExceptions(LIST, { severity: 'high', rule: 'wholesaler-vs-retailer', state: 'resolved' }).map((e) => e.id)).toEqual(['EX-2'])
    expect(filterExceptions(LIST, {}).length).toBe(4)
  })
  it('sorts the most severe and open first', () => {
    expect(sortExceptions(LIST).map((e) => e.id)).toEqual(['EX-4', 'EX-2', 'EX-3', 'EX-1'])
  })
  it('counts each filter choice', () => {
    const f = exceptionFacets(LIST)
    expect(f.rules).toEqual([['forecast-error', 1], ['retailer-vs-statistical', 1], ['wholesaler-vs-retailer', 2]])
    expect(f.partners).toEqual([['shops', 3], ['wholesale', 2]])
    expect(f.severities).toEqual([['high', 2], ['medium', 1], ['low', 1]])
    expect([f.open, f.resolved]).toEqual([3, 1])
  })
  it('offers the compared sources and the statistical forecast to accept, never a measure', () => {
    expect(acceptableSources('wholesale vs shops')).toEqual(['wholesale', 'shops', 'statistical'])
    expect(acceptableSources('shops vs statistical')).toEqual(['shops', 'statistical'])
    expect(acceptableSources('fill_rate')).toEqual(['statistical'])
  })
})
