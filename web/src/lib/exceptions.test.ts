import { describe, expect, it } from 'vitest'

import { acceptableSources, exceptionFacets, filterExceptions, measureText, sortExceptions } from './exceptions'

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

describe('measureText', () => {
  it('reads each kind of rule in its units', () => {
    expect(measureText('error', 0.13153, 0.12)).toBe('13.2% (limit 12.0%)')
    expect(measureText('service', 0.8333, 0.9)).toBe('83.3% (limit 90.0%)')
    expect(measureText('tolerance', 94.2, 60)).toBe('94 units (limit 60 units)')
    expect(measureText('tolerance', 1234.5, 0.15)).toBe('1,235 units (limit 15%)')
    expect(measureText('tolerance', null, null)).toBe('— (limit —)')
    expect(measureText('other', 0.5, 2)).toBe('0.500 (limit 2.000)')
  })
})
