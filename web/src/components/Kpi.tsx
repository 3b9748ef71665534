// KPI tiles: a label, the formatted figure, and the raw value in data-value (what the API
// returned, for tests and tooling).
import type { ReactNode } from 'react'

export interface KpiItem { id: string; label: string; value: number | null | undefined; text: string; note?: ReactNode; tone?: 'good' | 'bad' }

export function KpiGrid({ items, label }: { items: KpiItem[]; label: string }) {
  return (
    <dl className="kpis" aria-label={label}>
      {items.map((k) => (
        <div key={k.id} className={`kpi${k.tone ? ` kpi-${k.tone}` : ''}`} data-kpi={k.id} data-value={k.value ?? ''}>
          <dt>{k.label}</dt>
          <dd>
            <span className="kpi-value">{k.text}</span>
            {k.note && <span className="kpi-note">{k.note}</span>}
          </dd>
        </div>
      ))}
    </dl>
  )
}
