import { describe, expect, it } from 'vitest'

import { csvRecords, csvShape, parseRowsMessage, refusedRows, splitCsvLine } from './refusals'

// the API's own answer to this file (POST /uploads, api/history.py check_history)
const FILE = 'product,site,date,quantity\nwidget,store-north,2026-01-01,5\nwidget,store-north,2026-13-01,6\n\nwidget,store-north,2026-03-01,-7\nwidget,,2026-04-01,x\n'
const DETAIL = [
  { field: 'date', msg: 'unparseable or missing date (rows 2)' },
  { field: 'quantity', msg: 'not a number or missing (rows 4)' },
  { field: 'quantity', msg: 'negative quantity (rows 3)' },
  { field: 'site', msg: 'missing key value (rows 4)' },
]

describe('refusedRows', () => {
  it('lists every refused row once, with all its reasons and its text from the file', () => {
    const r = refusedRows(DETAIL, FILE)
    expect(r.rows).toEqual([
      { row: 2, line: 3, text: 'widget,store-north,2026-13-01,6', reasons: [{ column: 'date', reason: 'unparseable or missing date' }] },
      { row: 3, line: 5, text: 'widget,store-north,2026-03-01,-7', reasons: [{ column: 'quantity', reason: 'negative quantity' }] },
      { row: 4, line: 6, text: 'widget,,2026-04-01,x', reasons: [
        { column: 'quantity', reason: 'not a number or missing' }, { column: 'site', reason: 'missing key value' }] },
    ])
    expect(r.general).toEqual([])
    expect(r.truncated).toEqual([])
  })
  it('keeps problems of the whole file apart, and says when the API cut a row list short', () => {
    const r = refusedRows([
      { field: 'quantity', msg: 'column not found; the table has product, site, date' },
      { field: '', msg: 'no data rows: the table has a header only' },
      { field: 'date', msg: 'unparseable or missing date (rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ...)' },
    ], null)
    expect(r.general).toEqual([
      { column: 'quantity', reason: 'column not found; the table has product, site, date' },
      { column: '', reason: 'no data rows: the table has a header only' },
    ])
    expect(r.rows.map((x) => x.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(r.rows[0]!.text).toBeNull()
    expect(r.truncated).toEqual([{ column: 'date', reason: 'unparseable or missing date' }])
  })
})

describe('reading the file', () => {
  it('parses row lists', () => {
    expect(parseRowsMessage('negative value (rows 4, 9)')).toEqual({ reason: 'negative value', rows: [4, 9], truncated: false })
    expect(parseRowsMessage('not a key column of the shared history')).toBeNull()
  })
  it('splits records as the API reads them: quoted newlines kept, blank lines skipped, CRLF', () => {
    const text = '\uFEFFa,b\r\n1,"x\ny"\r\n\r\n2,z\r\n'
    expect(csvRecords(text)).toEqual([{ text: 'a,b', line: 1 }, { text: '1,"x\ny"', line: 2 }, { text: '2,z', line: 5 }])
    expect(csvShape(text)).toEqual({ rows: 2, columns: ['a', 'b'] })
    expect(splitCsvLine('a,"b,c","d""e"')).toEqual(['a', 'b,c', 'd"e'])
  })
})
