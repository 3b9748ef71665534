import { describe, expect, it } from 'vitest'

import { parsePairs } from './trace'

describe('parsePairs', () => {
  it('reads the trace text of inputs and weights', () => {
    expect(parsePairs('shops=396, wholesale=463, statistical=424.2404589')).toEqual([['shops', 396], ['wholesale', 463], ['statistical', 424.2404589]])
    expect(parsePairs('shops=0.457, wholesale=0.209, statistical=0.333')).toEqual([['shops', 0.457], ['wholesale', 0.209], ['statistical', 0.333]])
    expect(parsePairs('shops=1')).toEqual([['shops', 1]])
    expect(parsePairs('a=1e+03, b=-2.5')).toEqual([['a', 1000], ['b', -2.5]])
  })
  it('gives null for anything else, to be shown as it is', () => {
    for (const t of [null, undefined, '', '—', 'shops', 'shops=x', 'shops=1, wholesale', 'a=nan', { a: 1 }, 3]) expect(parsePairs(t)).toBeNull()
  })
})
