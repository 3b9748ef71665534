// The what-if levers planners move most, as a form over the edited JSON: each partner's opening
// and minimum cash, and all demand scaled by a percentage. Every change rewrites the draft,
// which stays the one source of the new version (and shows in the review of changes).
import { useEffect, useState } from 'react'

import { scaleDemand, setPartnerField, summarize } from './content'

export function QuickEdits({ content, onChange }: { content: Record<string, unknown>; onChange: (c: Record<string, unknown>) => void }) {
  const summary = summarize(content)
  const [percent, setPercent] = useState('5')
  const pct = Number(percent)
  const validPct = percent.trim() !== '' && Number.isFinite(pct) && pct > -100 && pct <= 1000
  const currency = summary.currency ?? 'currency'
  return (
    <div className="quick-edits">
      <table className="data-table compact">
        <caption>Cash of each partner [{currency}]</caption>
        <thead>
          <tr><th scope="col">Partner</th><th scope="col" className="num">Opening cash</th><th scope="col" className="num">Minimum cash</th></tr>
        </thead>
        <tbody>
          {summary.partners.map((p) => (
            <tr key={p.id}>
              <th scope="row">{p.name} <span className="muted">({p.id})</span></th>
              {(['opening_cash', 'min_cash'] as const).map((field) => (
                <td key={field} className="num">
                  <NumberField value={p[field]} label={`${field === 'opening_cash' ? 'Opening' : 'Minimum'} cash of ${p.name} [${currency}]`}
                    onCommit={(v) => onChange(setPartnerField(content, p.id, field, v))} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="field inline">
        <label htmlFor="demand-scale">Scale all demand by [%]</label>
        <div className="toolbar">
          <input id="demand-scale" type="number" step="any" value={percent} onChange={(e) => setPercent(e.target.value)} size={6}
            aria-describedby="demand-scale-hint" />
          <button type="button" className="secondary" disabled={!validPct || pct === 0}
            onClick={() => onChange(scaleDemand(content, 1 + pct / 100))}>Apply to {summary.demandSeries} series</button>
        </div>
        <p id="demand-scale-hint" className="hint">Every period of every demand series, rounded to whole units; e.g. 5 for +5 %, −10 for −10 %.</p>
      </div>
    </div>
  )
}

/** A number input that edits freely and applies its value when left (or on Enter). */
function NumberField({ value, label, onCommit }: { value: number | null; label: string; onCommit: (v: number) => void }) {
  const [text, setText] = useState(value === null ? '' : String(value))
  useEffect(() => setText(value === null ? '' : String(value)), [value])
  const commit = () => {
    const v = Number(text)
    if (text.trim() !== '' && Number.isFinite(v) && v !== value) onCommit(v)
    else setText(value === null ? '' : String(value))
  }
  return (
    <input type="number" step="any" inputMode="decimal" className="num-input" aria-label={label} value={text}
      onChange={(e) => setText(e.target.value)} onBlur={commit}
      onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); commit() } }} />
  )
}
