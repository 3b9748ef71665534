import { describe, expect, it } from 'vitest'

import { rowsFromColumns } from './columnar'
import plan from './fixtures/small_chain_plan.json'

describe('rowsFromColumns', () => {
  it('turns column arrays back into the rows they were made from', () => {
    const tables = (plan as unknown as { tables: Record<string, Record<string, unknown>[]> }).tables
    for (const rows of Object.values(tables)) {
      const columns = Object.keys(rows[0]!)
      const data = columns.map((c) => rows.map((r) => r[c]))
      expect(rowsFromColumns(columns, data)).toEqual(rows)
    }
  })

  it('keeps nulls and reads an empty table', () => {
    expect(rowsFromColumns(['a', 'b'], [[1, null], ['x', 'y']])).toEqual([{ a: 1, b: 'x' }, { a: null, b: 'y' }])
    expect(rowsFromColumns(['a'], [[]])).toEqual([])
    expect(rowsFromColumns([], [])).toEqual([])
  })

  it('refuses arrays that do not match the columns', () => {
    expect(() => rowsFromColumns(['a', 'b'], [[1]])).toThrow(/2 columns but 1/)
    expect(() => rowsFromColumns(['a', 'b'], [[1, 2], [3]])).toThrow(/column b has 1 values/)
  })
})
