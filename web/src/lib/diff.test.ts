import { describe, expect, it } from 'vitest'

import { diffContent, showValue } from './diff'

describe('diffContent (as the API diffs versions)', () => {
  it('reports changed, added and removed fields by path', () => {
    const a = { name: 'x', time: { periods: 12, freq: 'monthly' }, note: 'old' }
    const b = { name: 'x', time: { periods: 13, freq: 'monthly' }, extra: 1 }
    expect(diffContent(a, b)).toEqual([
      { path: 'extra', op: 'added', old: null, new: 1 },
      { path: 'note', op: 'removed', old: 'old', new: null },
      { path: 'time.periods', op: 'changed', old: 12, new: 13 },
    ])
  })
  it('matches list items by id', () => {
    const a = { partners: [{ id: 'maker', min_cash: 20000 }, { id: 'shops', min_cash: 10000 }] }
    const b = { partners: [{ id: 'shops', min_cash: 12000 }, { id: 'maker', min_cash: 20000 }, { id: 'new', min_cash: 0 }] }
    expect(diffContent(a, b)).toEqual([
      { path: 'partners[shops].min_cash', op: 'changed', old: 10000, new: 12000 },
      { path: 'partners[new]', op: 'added', old: null, new: { id: 'new', min_cash: 0 } },
    ])
  })
  it('compares scalar lists whole and object lists item by item', () => {
    expect(diffContent({ d: [1, 2, 3] }, { d: [1, 2, 4] })).toEqual([{ path: 'd', op: 'changed', old: [1, 2, 3], new: [1, 2, 4] }])
    expect(diffContent({ d: [{ q: 1 }, { q: 2 }] }, { d: [{ q: 1 }, { q: 5 }] }))
      .toEqual([{ path: 'd[1].q', op: 'changed', old: 2, new: 5 }])
    expect(diffContent({ d: [{ q: 1 }] }, { d: [{ q: 1 }, { q: 2 }] }))
      .toEqual([{ path: 'd', op: 'changed', old: [{ q: 1 }], new: [{ q: 1 }, { q: 2 }] }])
  })
  it('finds nothing between equal contents, whatever the key order', () => {
    expect(diffContent({ a: { x: 1, y: [1, { z: 2 }] } }, { a: { y: [1, { z: 2 }], x: 1 } })).toEqual([])
    expect(diffContent(1, 2)).toEqual([{ path: '(scenario)', op: 'changed', old: 1, new: 2 }])
  })
})

describe('showValue', () => {
  it('shortens long values', () => {
    expect(showValue(null)).toBe('—')
    expect(showValue('text')).toBe('text')
    expect(showValue({ a: 1 })).toBe('{"a":1}')
    expect(showValue('x'.repeat(200), 10)).toBe('xxxxxxxxx…')
  })
})
