// No plan exists: what the engine found must move (its elastic relaxation or HiGHS's IIS).
import { type Column, DataTable } from '../../components/DataTable'
import { formatNumber, humanize } from '../../lib/format'

interface Relaxation { constraint: string; violation: number }
interface Bound { variable: string; lower: number | null; upper: number | null }

const relaxColumns: Column<Relaxation>[] = [
  { id: 'constraint', header: 'Limit or target', value: (r) => r.constraint, cell: (r) => <code>{r.constraint}</code> },
  { id: 'violation', header: 'Must move by', value: (r) => r.violation, numeric: true, cell: (r) => formatNumber(r.violation, 2) },
]

export function Diagnosis({ diagnosis }: { diagnosis: Record<string, unknown> | null | undefined }) {
  if (!diagnosis) return <p>The solver found no plan and gave no diagnosis; see the solver log below.</p>
  const families = (diagnosis.families ?? {}) as Record<string, number>
  const relaxation = (Array.isArray(diagnosis.relaxation) ? diagnosis.relaxation : []) as Relaxation[]
  const constraints = (Array.isArray(diagnosis.constraints) ? diagnosis.constraints : []) as string[]
  const bounds = (Array.isArray(diagnosis.bounds) ? diagnosis.bounds : []) as Bound[]
  return (
    <div className="diagnosis" data-testid="diagnosis">
      <p><strong>{String(diagnosis.note ?? 'No plan exists with these limits.')}</strong></p>
      <p className="muted">Method: {String(diagnosis.method ?? '—')}</p>
      {Object.keys(families).length > 0 && (
        <ul className="chips" aria-label="Limits involved, by kind">
          {Object.entries(families).map(([f, n]) => <li key={f}>{humanize(f)}: {n}</li>)}
        </ul>
      )}
      {relaxation.length > 0 ? (
        <DataTable caption="The least total movement that makes a plan exist" columns={relaxColumns} rows={relaxation}
          rowKey={(r) => r.constraint} />
      ) : constraints.length > 0 && (
        <>
          <h3>Constraints in conflict</h3>
          <ul className="mono-list">{constraints.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
        </>
      )}
      {bounds.length > 0 && (
        <DataTable caption="Variable bounds in conflict" columns={[
          { id: 'v', header: 'Variable', value: (b) => b.variable, cell: (b) => <code>{b.variable}</code> },
          { id: 'l', header: 'Lower', value: (b) => b.lower, numeric: true, cell: (b) => formatNumber(b.lower, 2) },
          { id: 'u', header: 'Upper', value: (b) => b.upper, numeric: true, cell: (b) => formatNumber(b.upper, 2) },
        ]} rows={bounds} rowKey={(b) => b.variable} />
      )}
    </div>
  )
}
