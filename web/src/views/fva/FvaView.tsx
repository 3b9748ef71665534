// Forecast value added (GET /fva): how much each partner's forecasts improved on the statistical
// forecast on the history (WAPE of the statistical forecast minus the partner's), as a chart per
// partner and per series; a partner user sees its own only.
import { useQuery } from '@tanstack/react-query'
import { useNavigate, useSearch } from '@tanstack/react-router'
import { useMemo } from 'react'

import { fvaQuery } from '../../api/cpfr'
import { roleOf } from '../../api/session'
import type { FvaReport, PartnerFva, SeriesFva } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { barsOption } from '../../lib/chartOptions'
import { formatNumber, formatPercent } from '../../lib/format'
import { fvaChart } from '../../lib/fva'
import { useSession } from '../../session'

export interface FvaSearch { freq?: 'W' | 'M'; lag?: number }

const pct = (v: number | null | undefined) => formatPercent(v ?? null)
/** A gain with its sign ("+1.2%", "+8.6"); none on what rounds to zero or is missing. */
const signed = (text: string) => (/^[1-9]|^0[.,]\d*[1-9]/.test(text) ? `+${text}` : text)
const signedPct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : signed(formatPercent(v)))

const partnerColumns: Column<PartnerFva>[] = [
  { id: 'partner', header: 'Partner', value: (r) => r.partner },
  { id: 'n', header: 'Scored series-periods', value: (r) => r.n, numeric: true, cell: (r) => formatNumber(r.n) },
  { id: 'wape_s', header: 'WAPE statistical', value: (r) => r.wape_statistical, numeric: true, cell: (r) => pct(r.wape_statistical) },
  { id: 'wape_p', header: 'WAPE partner', value: (r) => r.wape_partner, numeric: true, cell: (r) => pct(r.wape_partner) },
  { id: 'fva', header: 'Value added (WAPE points)', value: (r) => r.fva_wape, numeric: true, cell: (r) => signedPct(r.fva_wape) },
  { id: 'fva_mae', header: 'Value added [units, MAE]', value: (r) => r.fva_mae, numeric: true, cell: (r) => signed(formatNumber(r.fva_mae, 1)) },
  { id: 'improved', header: 'Series improved', value: (r) => r.share_improved, numeric: true,
    cell: (r) => `${r.series_improved} of ${r.series} (${formatPercent(r.share_improved, 0)})` },
]

const seriesColumns: Column<SeriesFva>[] = [
  { id: 'partner', header: 'Partner', value: (r) => r.partner },
  { id: 'series', header: 'Series', value: (r) => r.unique_id },
  { id: 'n', header: 'Periods', value: (r) => r.n, numeric: true },
  { id: 'wape_s', header: 'WAPE statistical', value: (r) => r.wape_statistical, numeric: true, cell: (r) => pct(r.wape_statistical) },
  { id: 'wape_p', header: 'WAPE partner', value: (r) => r.wape_partner, numeric: true, cell: (r) => pct(r.wape_partner) },
  { id: 'fva', header: 'Value added (WAPE points)', value: (r) => r.fva_wape, numeric: true, cell: (r) => signedPct(r.fva_wape) },
  { id: 'improved', header: 'Improved', value: (r) => (r.improved ? 1 : 0), cell: (r) => (r.improved ? 'yes' : 'no') },
]

export function FvaView() {
  const search = useSearch({ from: '/authed/fva' })
  const navigate = useNavigate({ from: '/fva' })
  const partner = roleOf(useSession()) === 'partner'
  const freq = search.freq ?? 'M'
  const query = useQuery(fvaQuery(freq, search.lag ?? null))
  return (
    <>
      <PageHeader title="Forecast value added" subtitle={partner
        ? 'How much your forecasts improved on the statistical forecast, on the history that came in since.'
        : "How much each partner's forecasts improved on the statistical forecast, on the history that came in since."} />
      <Section title="Per partner" id="fva" actions={
        <div className="toolbar">
          <label htmlFor="fva-freq">Bucket</label>
          <select id="fva-freq" value={freq} onChange={(e) => void navigate({ search: (s) => ({ ...s, freq: e.target.value as 'W' | 'M' }) })}>
            <option value="M">months</option><option value="W">weeks</option>
          </select>
          <label htmlFor="fva-lag">Made ahead by</label>
          <select id="fva-lag" value={search.lag ?? ''} onChange={(e) => void navigate({ search: (s) => ({ ...s, lag: e.target.value ? Number(e.target.value) : undefined }) })}>
            <option value="">the latest before each period</option>
            {[1, 2, 3, 6, 12].map((l) => <option key={l} value={l}>{l} {freq === 'M' ? 'month' : 'week'}{l === 1 ? '' : 's'}</option>)}
          </select>
        </div>
      }>
        <Loaded query={query} label="Scoring the forecasts">{(r) => <FvaBody report={r} />}</Loaded>
      </Section>
    </>
  )
}

function FvaBody({ report }: { report: FvaReport }) {
  const chart = useMemo(() => fvaChart(report.by_partner), [report.by_partner])
  return (
    <>
      {report.notes.length > 0 && (
        <div className="notice" role="note" data-testid="fva-notes"><ul>{report.notes.map((n, i) => <li key={i}>{n}</li>)}</ul></div>
      )}
      {report.by_partner.length > 0 ? (
        <>
          <Chart title="Forecast error: statistical against each partner" testId="chart-fva"
            summary={chart.summary}
            option={barsOption(chart.partners, chart.series, 'WAPE', (v) => formatPercent(v), (v) => formatPercent(v, 0))} />
          <DataTable caption="Per partner" columns={partnerColumns} rows={report.by_partner} rowKey={(r) => r.partner} testId="fva-partners" />
          <DataTable caption="Per series" columns={seriesColumns} rows={report.by_series} rowKey={(r) => `${r.partner}|${r.unique_id}`} testId="fva-series" />
        </>
      ) : <p className="muted">No forecast could be scored yet.</p>}
    </>
  )
}
