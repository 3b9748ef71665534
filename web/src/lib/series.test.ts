import { describe, expect, it } from 'vitest'

import { countBy, forecastBand, pivot } from './series'

describe('pivot', () => {
  it('aligns series on one sorted date axis, null where a series has no value, sums duplicates', () => {
    const rows = [
      { id: 'b', ds: '2027-02-01', v: 2 }, { id: 'a', ds: '2027-01-01', v: 1 },
      { id: 'a', ds: '2027-02-01', v: '3' }, { id: 'a', ds: '2027-02-01', v: 4 }, { id: 'b', ds: '2027-03-01', v: null },
    ]
    const p = pivot(rows, (r) => r.id, (r) => r.ds, (r) => r.v)
    expect(p.dates).toEqual(['2027-01-01', '2027-02-01', '2027-03-01'])
    expect([...p.series.entries()]).toEqual([['a', [1, 7, null]], ['b', [null, 2, null]]])
  })
})

describe('forecastBand', () => {
  it('puts history and forecast on one axis, the band as base and height, the median continuing the history', () => {
    const b = forecastBand(
      [{ date: '2026-11-01', quantity: 100 }, { date: '2026-12-01', quantity: 110 }],
      [{ ds: '2027-01-01', p10: 90, p50: 120, p90: 150 }, { ds: '2027-02-01', p10: 95, p50: 125, p90: 160 }],
    )
    expect(b.dates).toEqual(['2026-11-01', '2026-12-01', '2027-01-01', '2027-02-01'])
    expect(b.firstForecast).toBe(2)
    expect(b.history).toEqual([100, 110, null, null])
    expect(b.p50).toEqual([null, 110, 120, 125])
    expect(b.bandBase).toEqual([null, null, 90, 95])
    expect(b.bandHeight).toEqual([null, null, 60, 65])
    // base + height is P90 wherever there is a band
    b.bandBase.forEach((base, i) => { if (base !== null) expect(base + b.bandHeight[i]!).toBe(b.p90[i]) })
  })
  it('draws no band without quantiles (a partner forecast: values only)', () => {
    const b = forecastBand([], [{ ds: '2027-01-01', value: 80 }])
    expect(b.p50).toEqual([80])
    expect(b.bandBase).toEqual([null])
    expect(b.firstForecast).toBe(0)
  })
})

describe('countBy', () => {
  it('counts, most frequent first', () => {
    expect(countBy(['weighted', 'accepted:shops', 'weighted'], (x) => x)).toEqual([['weighted', 2], ['accepted:shops', 1]])
  })
})
