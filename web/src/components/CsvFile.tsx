// Choosing a CSV file to send (sales history, a forecast): read in the browser, its rows and
// columns shown before it is sent; and a refused file's rows, each with the API's reasons.
import { useId, useState } from 'react'

import type { Refusal } from '../lib/refusals'
import { csvShape } from '../lib/refusals'
import { formatNumber } from '../lib/format'

export interface PickedFile { name: string; text: string; rows: number; columns: string[] }

export function CsvFileInput({ label, onPick, hint, disabled }: { label: string; onPick: (f: PickedFile | null) => void; hint?: string; disabled?: boolean }) {
  const id = useId()
  const [picked, setPicked] = useState<PickedFile | null>(null)
  const [error, setError] = useState<string | null>(null)
  const read = async (file: File | undefined) => {
    setError(null)
    if (!file) {
      setPicked(null)
      onPick(null)
      return
    }
    try {
      const text = await file.text()
      const shape = csvShape(text)
      const f = { name: file.name, text, ...shape }
      setPicked(f)
      onPick(f)
    } catch (e) {
      setError(`The file cannot be read: ${e instanceof Error ? e.message : String(e)}`)
      setPicked(null)
      onPick(null)
    }
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="file" accept=".csv,text/csv" disabled={disabled} aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => void read(e.target.files?.[0])} />
      {hint && <p className="hint" id={`${id}-hint`}>{hint}</p>}
      {picked && (
        <p className="small" data-testid="picked-file">
          <strong>{picked.name}</strong>: {formatNumber(picked.rows)} data row{picked.rows === 1 ? '' : 's'};
          columns {picked.columns.map((c, i) => <code key={i}>{c}{i < picked.columns.length - 1 ? ', ' : ''}</code>)}
        </p>
      )}
      {error && <p className="action-error" role="alert">{error}</p>}
    </div>
  )
}

/** A refused file: nothing was stored; every refused row with each reason, then the problems of
 *  the whole file. */
export function RefusedRows({ refusal, fileName }: { refusal: Refusal; fileName?: string }) {
  const { rows, general, truncated } = refusal
  return (
    <div className="refusal" role="alert" data-testid="refused">
      <p><strong>Refused{fileName ? `: ${fileName}` : ''}.</strong> Nothing was stored.
        {rows.length > 0 && ` ${formatNumber(rows.length)} row${rows.length === 1 ? '' : 's'} refused:`}</p>
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="data-table compact" data-testid="refused-rows">
            <caption className="visually-hidden">Refused rows and why</caption>
            <thead>
              <tr><th scope="col" className="num">Row</th><th scope="col" className="num">Line</th><th scope="col">In the file</th><th scope="col">Why</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.row} data-row={r.row}>
                  <td className="num">{r.row}</td>
                  <td className="num">{r.line ?? '—'}</td>
                  <td><code>{r.text ?? '—'}</code></td>
                  <td>{r.reasons.map((x, i) => <div key={i}>{x.column && <code>{x.column}</code>}{x.column ? ': ' : ''}{x.reason}</div>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {truncated.length > 0 && (
        <p className="hint">The service names at most 10 rows per problem; more rows have: {truncated.map((t) => `${t.reason} (${t.column})`).join('; ')}.</p>
      )}
      {general.length > 0 && (
        <ul className="field-problems" data-testid="refused-file">
          {general.map((g, i) => <li key={i}>{g.column && <><code>{g.column}</code>: </>}{g.reason}</li>)}
        </ul>
      )}
      <p className="hint">Rows are counted from the first row after the header (blank lines are skipped); lines are the file's own.</p>
    </div>
  )
}
