// One forecast run (GET /forecast-runs/{id}): its progress while the job runs (polled; Cancel is
// POST /jobs/{id}/cancel), then the forecast of each series with its P10–P90 band over the
// history (GET .../forecasts, /history/lineage), the method chosen and its backtest accuracy.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { useMemo } from 'react'

import { data } from '../../api/client'
import { cpfrKeys, currentHistoryQuery, runAccuracyQuery, runActive, runForecastQuery, runQuery } from '../../api/cpfr'
import { cancel } from '../../client/sdk.gen'
import type { ForecastRunPublic } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { JobProgress } from '../../components/JobProgress'
import { PageHeader, Section } from '../../components/Page'
import { both, isNotFound, Loaded, NotFound } from '../../components/States'
import { forecastOption } from '../../lib/chartOptions'
import { formatDate, formatDateTime, formatNumber, formatPercent, formatPeriod } from '../../lib/format'
import { forecastBand } from '../../lib/series'
import { parseId } from '../scenarios/ScenarioView'
import { StatusBadge } from '../plans/StatusBadge'
import { runOptionsText } from './ForecastRuns'

const SELECTION_WORDS: Record<string, string> = {
  competition: 'competed', new: 'new series', options: 'other options than the last run', revised: 'history revised',
  class: 'class changed', schedule: 'competed again on schedule', drift: 'forecast drifted', failed: 'kept pool failed to fit',
}

/** What the run did with the last run's model selection (forecasting.selection), e.g.
 *  "kept for 140 of 150 series; 6 new series, 4 forecast drifted"; '' for the fast mode. */
export function selectionText(selection: unknown): string {
  if (!selection || typeof selection !== 'object') return ''
  const counts = selection as Record<string, number>
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  const others = Object.entries(counts).filter(([k, n]) => k !== 'reused' && k !== 'none' && n > 0)
  if (!counts.reused && others.every(([k]) => k === 'competition')) return '' // no earlier run to keep from
  const why = others.map(([k, n]) => `${n} ${SELECTION_WORDS[k] ?? k}`).join(', ')
  return `kept from the last run for ${counts.reused ?? 0} of ${total} series` + (why ? `; ${why}` : '')
}

export function ForecastRunView() {
  const { runId: raw } = useParams({ from: '/authed/forecast-runs/$runId' })
  const id = parseId(raw)
  if (id === null) return <NotFound what={`forecast run ${raw}`} />
  return <RunPage id={id} />
}

function RunPage({ id }: { id: number }) {
  const run = useQuery(runQuery(id))
  if (isNotFound(run)) return <NotFound detail={run.error.detail} />
  const r = run.data
  return (
    <>
      <PageHeader title={`Forecast run ${id}`} crumbs={[{ label: 'Statistical forecasts', to: '/forecast-runs' }, { label: `Run ${id}` }]}
        subtitle={r ? <>{runOptionsText(r.params)} · <StatusBadge status={r.status} /></> : undefined} />
      <Loaded query={run} label="Loading the run">{(x) => <RunBody run={x} />}</Loaded>
    </>
  )
}

function RunBody({ run }: { run: ForecastRunPublic }) {
  const queryClient = useQueryClient()
  const stop = useMutation({
    mutationFn: () => data(cancel({ path: { job_id: run.job!.id } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: cpfrKeys.run(run.id) }),
  })
  if (runActive(run)) {
    return <JobProgress job={run.job} status={run.status} createdAt={run.created_at} working="Forecasting" what="forecast run"
      onCancel={run.job ? () => stop.mutate() : undefined} cancelPending={stop.isPending} cancelError={stop.error} testId="run-progress" />
  }
  if (run.status === 'failed') {
    return (
      <div className="panel state-error" role="alert">
        <h2>The run failed</h2>
        <p>{run.job?.error ?? 'No reason was recorded.'}</p>
        {run.job?.log_excerpt && <pre className="log">{run.job.log_excerpt}</pre>}
      </div>
    )
  }
  if (run.status === 'cancelled') return <div className="panel notice" role="status"><h2>Cancelled</h2><p>The run was cancelled; start another from the list.</p></div>
  return <RunResult run={run} />
}

interface SeriesMethod { unique_id: string; series_class?: string; method?: string; winner?: string }

function RunResult({ run }: { run: ForecastRunPublic }) {
  const search = useSearch({ from: '/authed/forecast-runs/$runId' })
  const navigate = useNavigate({ from: '/forecast-runs/$runId' })
  const summary = (run.summary ?? {}) as Record<string, unknown>
  const methods = (Array.isArray(summary.series_methods) ? summary.series_methods : []) as SeriesMethod[]
  const seriesIds = useMemo(() => methods.map((m) => m.unique_id).sort(), [methods])
  const series = search.series && seriesIds.includes(search.series) ? search.series : seriesIds[0]
  const wins = (summary.wins ?? {}) as Record<string, number>
  return (
    <>
      <Section title="Result" id="result">
        <dl className="facts">
          <div><dt>Series</dt><dd data-testid="run-series">{formatNumber(Number(summary.series ?? seriesIds.length))}</dd></div>
          <div><dt>Forecast rows</dt><dd>{formatNumber(run.forecast_rows)}</dd></div>
          <div><dt>Chosen methods</dt><dd>{Object.entries(wins).map(([m, n]) => `${m} ${n}`).join(', ') || '—'}</dd></div>
          {typeof summary.mean_mase_selected === 'number' && <div><dt>Mean MASE (chosen / seasonal naive)</dt>
            <dd>{formatNumber(summary.mean_mase_selected, 3)} / {formatNumber(summary.mean_mase_seasonal_naive as number, 3)}</dd></div>}
          {selectionText(summary.selection) && <div><dt>Model selection</dt>
            <dd data-testid="run-selection">{selectionText(summary.selection)}</dd></div>}
          {typeof summary.share_beating_seasonal_naive === 'number' && <div><dt>Series beating seasonal naive</dt>
            <dd>{formatPercent(summary.share_beating_seasonal_naive)}</dd></div>}
          <div><dt>Finished</dt><dd>{formatDateTime(run.finished_at)}</dd></div>
        </dl>
        {Array.isArray(summary.cleaning) && summary.cleaning.length > 0 && (
          <details><summary>Cleaning notes ({summary.cleaning.length})</summary><ul>{(summary.cleaning as string[]).map((c, i) => <li key={i}>{c}</li>)}</ul></details>
        )}
      </Section>
      {series && (
        <Section title="Forecast over the history" id="forecast" actions={seriesIds.length > 1 ? (
          <div className="toolbar">
            <label htmlFor="run-series-select">Series</label>
            <select id="run-series-select" value={series} onChange={(e) => void navigate({ search: { series: e.target.value } })}>
              {seriesIds.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
        ) : undefined}>
          <SeriesForecast runId={run.id} series={series} method={methods.find((m) => m.unique_id === series)} />
        </Section>
      )}
    </>
  )
}

interface ForecastRow { ds: string; p10?: number | null; p50?: number | null; p90?: number | null; method?: string }
type AccuracyRow = Record<string, unknown>

const accuracyColumns: Column<AccuracyRow>[] = [
  { id: 'model', header: 'Model', value: (r) => String(r.model ?? '') },
  { id: 'selected', header: 'Chosen', value: (r) => (r.selected ? 1 : 0), cell: (r) => (r.selected ? 'yes' : '') },
  { id: 'mase', header: 'MASE', value: (r) => Number(r.mase), numeric: true, cell: (r) => formatNumber(r.mase as number | null, 3) },
  { id: 'wape', header: 'WAPE', value: (r) => Number(r.wape), numeric: true, cell: (r) => formatPercent(r.wape as number | null) },
  { id: 'bias', header: 'Bias', value: (r) => Number(r.bias), numeric: true, cell: (r) => formatNumber(r.bias as number | null, 3) },
]

function SeriesForecast({ runId, series, method }: { runId: number; series: string; method?: SeriesMethod }) {
  const history = useQuery(currentHistoryQuery(series))
  const forecast = useQuery(runForecastQuery(runId, series))
  const accuracy = useQuery(runAccuracyQuery(runId, series))
  const rows = (forecast.data?.items ?? []) as unknown as ForecastRow[]
  const band = useMemo(() => forecastBand(history.data ?? [], rows), [history.data, rows])
  const labels = band.dates.map((d) => formatPeriod(d))
  const first = rows[0]
  return (
    <Loaded query={both(history, forecast)} label="Loading the forecast">
      {() => (
        <>
          <p className="hint">Method: <strong>{method?.method ?? first?.method ?? '—'}</strong>{method?.series_class ? ` (${method.series_class} series)` : ''};
            {' '}{rows.length} periods from {formatDate(first?.ds)}; history of {band.history.filter((v) => v !== null).length} periods.</p>
          <Chart title={`Forecast of ${series}`} testId="chart-forecast"
            summary={`History and forecast of ${series} in units per period: the median (P50) dashed, the P10–P90 band shaded.`}
            option={forecastOption(labels, band)}
            table={<DataTable caption={`Forecast of ${series}`} hideCaption columns={[
              { id: 'ds', header: 'Period', value: (r: ForecastRow) => r.ds, cell: (r: ForecastRow) => formatPeriod(r.ds) },
              { id: 'p10', header: 'P10 [units]', value: (r: ForecastRow) => r.p10, numeric: true, cell: (r: ForecastRow) => formatNumber(r.p10) },
              { id: 'p50', header: 'P50 [units]', value: (r: ForecastRow) => r.p50, numeric: true, cell: (r: ForecastRow) => formatNumber(r.p50) },
              { id: 'p90', header: 'P90 [units]', value: (r: ForecastRow) => r.p90, numeric: true, cell: (r: ForecastRow) => formatNumber(r.p90) },
            ]} rows={rows} rowKey={(r) => r.ds} />} />
          {accuracy.data && accuracy.data.items.length > 0 && (
            <DataTable caption="Backtest accuracy of the candidate models" columns={accuracyColumns} rows={accuracy.data.items}
              rowKey={(r, i) => `${String(r.model)}-${i}`} testId="run-accuracy" />
          )}
        </>
      )}
    </Loaded>
  )
}
