import { describe, expect, it } from 'vitest'

import { acceptableSources, exceptionListParams, facetChoices, measureText, stateChoices } from './exceptions'

describe('the exceptions inbox', () => {
  it('sends each set filter as the API query parameter, open/resolved as resolved=false/true', () => {
    expect(exceptionListParams({})).toEqual({})
    expect(exceptionListParams({ partner: 'wholesale', state: 'open' })).toEqual({ partner: 'wholesale', resolved: false })
    expect(exceptionListParams({ severity: 'high', rule: 'wholesaler-vs-retailer', state: 'resolved' }))
      .toEqual({ severity: 'high', rule: 'wholesaler-vs-retailer', resolved: true })
    expect(exceptionListParams({ severity: 'urgent', rule: '' })).toEqual({})
  })
  it('labels each filter choice with its count and keeps the selected one', () => {
    const rules = [{ value: 'forecast-error', count: 1 }, { value: 'wholesaler-vs-retailer', count: 2 }]
    expect(facetChoices(rules).map((c) => c.label)).toEqual(['forecast-error (1)', 'wholesaler-vs-retailer (2)'])
    expect(facetChoices(rules, 'gone').at(-1)).toEqual({ value: 'gone', label: 'gone (0)' })
    expect(facetChoices(undefined)).toEqual([])
    expect(stateChoices({ open: 3, resolved: 1 }).map((c) => c.label)).toEqual(['open (3)', 'resolved (1)'])
    expect(stateChoices(undefined).map((c) => c.label)).toEqual(['open', 'resolved'])
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
