// A refused upload as a person reads it: every refused row with each of its reasons, from the
// API's 422 (api/history.py check_history: one problem per column and kind, naming the rows,
// e.g. `{"field": "body.date", "msg": "unparseable or missing date (rows 3, 5)"}`), with the row's
// own text from the file the user picked. Problems that name no row (a missing column, the key
// columns of the shared history) apply to the whole file.
import type { FieldProblem } from '../api/errors'
import { fieldLabel } from '../api/errors'

export interface RowReason { column: string; reason: string }
export interface RefusedRow {
  /** Data row number as the API counts it: 1 is the first row after the header. */
  row: number
  /** Line in the file (1 is the header) when it is known. */
  line: number | null
  /** The row as it is in the file. */
  text: string | null
  reasons: RowReason[]
}
export interface Refusal {
  rows: RefusedRow[]
  /** Problems of the whole file (no row named). */
  general: RowReason[]
  /** Reasons whose row list the API cut short (it names at most 10 rows per problem). */
  truncated: RowReason[]
}

const ROWS = /^(.*?)\s*\(rows? ([\d,\s]+?)( \.\.\.)?\)$/

/** The reason and the rows of one problem message ("negative quantity (rows 4, 9)"). */
export function parseRowsMessage(msg: string): { reason: string; rows: number[]; truncated: boolean } | null {
  const m = ROWS.exec(msg.trim())
  if (!m) return null
  const rows = m[2]!.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 1)
  if (!rows.length) return null
  return { reason: m[1]!, rows, truncated: !!m[3] }
}

export interface CsvRecord { text: string; line: number }

/** The records of a CSV text with their first line numbers (quoted fields may hold newlines;
 *  blank lines are skipped, as the API's reader skips them). Record 0 is the header. */
export function csvRecords(text: string): CsvRecord[] {
  const body = text.replace(/^\uFEFF/, '')
  const out: CsvRecord[] = []
  let start = 0
  let line = 1
  let startLine = 1
  let quoted = false
  for (let i = 0; i <= body.length; i++) {
    const c = body[i]
    if (c === '"') quoted = !quoted
    const end = i === body.length || (!quoted && (c === '\n' || c === '\r'))
    if (!end) {
      if (c === '\n') line++
      continue
    }
    const record = body.slice(start, i)
    if (record.trim() !== '') out.push({ text: record, line: startLine })
    if (c === '\r' && body[i + 1] === '\n') i++
    line++
    start = i + 1
    startLine = line
  }
  return out
}

/** Every refused row of an upload with its reasons (sorted by row), and the file's own problems. */
export function refusedRows(fields: FieldProblem[], csvText?: string | null): Refusal {
  const records = csvText ? csvRecords(csvText) : null
  const byRow = new Map<number, RowReason[]>()
  const general: RowReason[] = []
  const truncated: RowReason[] = []
  for (const f of fields) {
    const column = fieldLabel(f.field).replace(/^body$/, '')
    const parsed = parseRowsMessage(f.msg)
    if (!parsed) {
      general.push({ column, reason: f.msg })
      continue
    }
    for (const r of parsed.rows) {
      const list = byRow.get(r) ?? []
      list.push({ column, reason: parsed.reason })
      byRow.set(r, list)
    }
    if (parsed.truncated) truncated.push({ column, reason: parsed.reason })
  }
  const rows = [...byRow.entries()].sort((a, b) => a[0] - b[0]).map(([row, reasons]): RefusedRow => {
    const rec = records?.[row]
    return { row, line: rec?.line ?? null, text: rec?.text ?? null, reasons }
  })
  return { rows, general, truncated }
}

/** Data rows and columns of a CSV text (for showing what is about to be sent). */
export function csvShape(text: string): { rows: number; columns: string[] } {
  const records = csvRecords(text)
  const header = records[0]?.text ?? ''
  return { rows: Math.max(0, records.length - 1), columns: header ? splitCsvLine(header) : [] }
}

/** The fields of one CSV record (double quotes, "" inside quotes). */
export function splitCsvLine(record: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < record.length; i++) {
    const c = record[i]!
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') { cur += '"'; i++ } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === ',') { out.push(cur); cur = '' } else cur += c
  }
  out.push(cur)
  return out
}
