// One consensus version (GET /consensus/{version}): a series' consensus with its P10–P90 band
// over the history, every row, and, for staff, the trace (how each value was reached); planners
// turn it into a new scenario version (POST /scenarios/{id}/from-consensus with If-Match).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, useMemo, useState } from 'react'

import { consensusQuery, currentHistoryQuery } from '../../api/cpfr'
import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { latestVersionQuery, scenarioListQuery } from '../../api/queries'
import { roleOf } from '../../api/session'
import { addVersionFromConsensus } from '../../client/sdk.gen'
import type { ConsensusDetail, ConsensusRow, FromConsensus } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { forecastOption } from '../../lib/chartOptions'
import { formatDate, formatDateTime, formatNumber, formatPercent, formatPeriod } from '../../lib/format'
import { countBy, forecastBand } from '../../lib/series'
import { parsePairs } from '../../lib/trace'
import { useSession } from '../../session'
import { parseId } from '../scenarios/ScenarioView'

export function ConsensusView() {
  const { version: raw } = useParams({ from: '/authed/consensus/$version' })
  const version = parseId(raw)
  if (version === null) return <NotFound what={`consensus version ${raw}`} />
  return <ConsensusPage version={version} />
}

function ConsensusPage({ version }: { version: number }) {
  const cv = useQuery(consensusQuery(version))
  if (isNotFound(cv)) return <NotFound detail={cv.error.detail} />
  return (
    <>
      <PageHeader title={`Consensus v${version}`} crumbs={[{ label: 'Consensus', to: '/consensus' }, { label: `v${version}` }]}
        subtitle={cv.data ? `rule ${cv.data.rule} · ${formatNumber(cv.data.rows)} series-periods · built by ${cv.data.created_by}, ${formatDateTime(cv.data.created_at)}` : undefined} />
      <Loaded query={cv} label="Loading the consensus">{(c) => <ConsensusBody cv={c} />}</Loaded>
    </>
  )
}

const rowColumns: Column<ConsensusRow>[] = [
  { id: 'series', header: 'Series', value: (r) => r.unique_id },
  { id: 'ds', header: 'Period', value: (r) => r.ds, cell: (r) => formatDate(r.ds) },
  { id: 'p10', header: 'P10 [units]', value: (r) => r.p10, numeric: true, cell: (r) => formatNumber(r.p10) },
  { id: 'p50', header: 'Consensus [units]', value: (r) => r.p50, numeric: true, cell: (r) => formatNumber(r.p50) },
  { id: 'p90', header: 'P90 [units]', value: (r) => r.p90, numeric: true, cell: (r) => formatNumber(r.p90) },
  { id: 'basis', header: 'Basis', value: (r) => r.basis },
]

type TraceRow = Record<string, unknown>
const show = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v))
const traceColumns: Column<TraceRow>[] = [
  { id: 'series', header: 'Series', value: (r) => show(r.unique_id) },
  { id: 'ds', header: 'Period', value: (r) => show(r.ds), cell: (r) => formatDate(String(r.ds ?? '')) },
  { id: 'value', header: 'Value [units]', value: (r) => Number(r.value), numeric: true, cell: (r) => formatNumber(Number(r.value)) },
  { id: 'basis', header: 'Basis', value: (r) => show(r.basis) },
  { id: 'rule_value', header: 'Rule alone [units]', value: (r) => Number(r.rule_value), numeric: true, cell: (r) => formatNumber(r.rule_value as number | null) },
  { id: 'values', header: 'Inputs [units]', value: (r) => show(r.values), cell: (r) => <Pairs text={r.values} format={(v) => formatNumber(v)} />, sortable: false },
  { id: 'weights', header: 'Weights', value: (r) => show(r.weights), cell: (r) => <Pairs text={r.weights} format={(v) => formatPercent(v)} />, sortable: false },
  { id: 'author', header: 'Override by', value: (r) => show(r.author) },
  { id: 'reason', header: 'Reason', value: (r) => show(r.reason) },
  { id: 'exception', header: 'Exception', value: (r) => show(r.exception_id),
    cell: (r) => (typeof r.exception_id === 'string' && r.exception_id ? <Link to="/exceptions/$exceptionId" params={{ exceptionId: r.exception_id }}>{r.exception_id}</Link> : '—') },
]

/** A trace's "source=value, ..." as one line per source, the value formatted (else the raw text). */
function Pairs({ text, format }: { text: unknown; format: (v: number) => string }) {
  const pairs = parsePairs(text)
  if (!pairs) return <code className="val">{show(text)}</code>
  return (
    <ul className="pairs">
      {pairs.map(([k, v]) => <li key={k}><span>{k}</span> <span className="num">{format(v)}</span></li>)}
    </ul>
  )
}

function ConsensusBody({ cv }: { cv: ConsensusDetail }) {
  const role = roleOf(useSession())
  const search = useSearch({ from: '/authed/consensus/$version' })
  const navigate = useNavigate({ from: '/consensus/$version' })
  const seriesIds = useMemo(() => [...new Set(cv.items.map((r) => r.unique_id))].sort(), [cv.items])
  const series = search.series && seriesIds.includes(search.series) ? search.series : seriesIds[0]
  const bases = useMemo(() => countBy(cv.items, (r) => r.basis), [cv.items])
  return (
    <>
      <Section title="How it was built" id="inputs">
        <dl className="facts">
          <div><dt>Rule</dt><dd>{cv.rule}</dd></div>
          <div><dt>Statistical run</dt><dd>{cv.forecast_run_id ? (role === 'partner' ? `run ${cv.forecast_run_id}`
            : <Link to="/forecast-runs/$runId" params={{ runId: String(cv.forecast_run_id) }}>run {cv.forecast_run_id}</Link>) : '—'}</dd></div>
          <div><dt>Partner forecasts used</dt><dd>{Object.entries((cv.inputs.submissions ?? {}) as Record<string, unknown>)
            .map(([p, v]) => `${p} v${String(v)}`).join(', ') || '—'}</dd></div>
          <div><dt>Resolutions used</dt><dd>{((cv.inputs.resolutions ?? []) as unknown[]).length}</dd></div>
          <div><dt>Basis of the values</dt><dd data-testid="consensus-bases">{bases.map(([b, n]) => `${b} ${n}`).join(', ') || '—'}</dd></div>
        </dl>
        {cv.notes.length > 0 && <ul className="notes">{cv.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>}
      </Section>
      {series && (
        <Section title="Consensus over the history" id="chart" actions={seriesIds.length > 1 ? (
          <div className="toolbar">
            <label htmlFor="cons-series">Series</label>
            <select id="cons-series" value={series} onChange={(e) => void navigate({ search: { series: e.target.value } })}>
              {seriesIds.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
        ) : undefined}>
          <SeriesChart series={series} rows={cv.items.filter((r) => r.unique_id === series)} />
        </Section>
      )}
      {(role === 'planner' || role === 'admin') && <Section title="Use it in a scenario" id="to-scenario"><ToScenario cv={cv} /></Section>}
      <Section title="Rows" id="rows">
        <DataTable caption={`${formatNumber(cv.items.length)} series-periods`} columns={rowColumns} rows={cv.items}
          rowKey={(r) => `${r.unique_id}|${r.ds}`} testId="consensus-rows" />
      </Section>
      {cv.trace && (
        <Section title="Trace" id="trace">
          <p className="hint">How each value was reached: the rule's own value, the inputs and their weights, and any override with its author and reason.</p>
          <DataTable caption={`Trace: ${formatNumber(cv.trace.length)} rows`} columns={traceColumns} rows={cv.trace as TraceRow[]} testId="consensus-trace" />
        </Section>
      )}
    </>
  )
}

function SeriesChart({ series, rows }: { series: string; rows: ConsensusRow[] }) {
  const history = useQuery({ ...currentHistoryQuery(series), retry: false })
  const band = useMemo(() => forecastBand(history.data ?? [], rows), [history.data, rows])
  const labels = band.dates.map((d) => formatPeriod(d))
  return (
    <Chart title={`Consensus of ${series}`} testId="chart-consensus"
      summary={`History (${history.data?.length ?? 0} periods) and the consensus (${rows.length} periods) of ${series}, with its P10–P90 band where the statistical forecast gives one.`}
      option={forecastOption(labels, band)} />
  )
}

function ToScenario({ cv }: { cv: ConsensusDetail }) {
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const scenarios = useQuery(scenarioListQuery(200, 0))
  const [scenarioId, setScenarioId] = useState<number | null>(null)
  const [quantile, setQuantile] = useState<FromConsensus['quantile']>('p50')
  const [serviceLevel, setServiceLevel] = useState('')
  const [comment, setComment] = useState('')
  const latest = useQuery({ ...latestVersionQuery(scenarioId ?? 0), enabled: scenarioId !== null })
  const save = useMutation({
    mutationFn: () => {
      const level = Number(serviceLevel) / 100
      return data(addVersionFromConsensus({
        path: { scenario_id: scenarioId! },
        headers: { 'If-Match': latest.data!.etag },
        body: { consensus_version: cv.version, quantile, ...(serviceLevel.trim() ? { service_level: level } : {}), comment: comment.trim() },
      }))
    },
    onSuccess: async (v) => {
      await queryClient.invalidateQueries({ queryKey: ['scenarios'] })
      await navigate({ to: '/scenarios/$scenarioId', params: { scenarioId: String(v.scenario_id) }, search: { version: v.version, compare: v.version - 1 } })
    },
    onError: (e) => {
      if (e instanceof ApiError && e.status === 412) void latest.refetch()
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (scenarioId !== null && latest.data) save.mutate()
  }
  const stale = save.error instanceof ApiError && save.error.status === 412
  return (
    <form onSubmit={submit} data-testid="to-scenario">
      <p className="hint">The scenario's demand is filled from this consensus as a new version (every demand series needs a value in each period).</p>
      <div className="form-row">
        <div className="field">
          <label htmlFor="ts-scenario">Scenario</label>
          <select id="ts-scenario" value={scenarioId ?? ''} onChange={(e) => { setScenarioId(e.target.value ? Number(e.target.value) : null); save.reset() }} required>
            <option value="">choose…</option>
            {(scenarios.data?.items ?? []).map((s) => <option key={s.id} value={s.id}>{s.name} (latest v{s.latest_version})</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="ts-quantile">Demand from</label>
          <select id="ts-quantile" value={quantile} onChange={(e) => setQuantile(e.target.value as FromConsensus['quantile'])}>
            <option value="p50">the consensus (P50)</option><option value="p10">P10</option><option value="p90">P90</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="ts-service">Safety stock for service level [%]</label>
          <input id="ts-service" inputMode="decimal" className="num-input" value={serviceLevel} placeholder="keep targets" onChange={(e) => setServiceLevel(e.target.value)} />
        </div>
        <div className="field grow">
          <label htmlFor="ts-comment">What changed</label>
          <input id="ts-comment" value={comment} onChange={(e) => setComment(e.target.value)} placeholder={`demand from consensus v${cv.version}`} />
        </div>
      </div>
      {latest.data && <p className="hint">Based on v{latest.data.version} by {latest.data.author}, {formatDateTime(latest.data.created_at)}; if someone saves a newer version first, this one is refused.</p>}
      <div className="actions">
        <button type="submit" className="primary" disabled={scenarioId === null || !latest.data || save.isPending}>{save.isPending ? 'Saving…' : 'Save as a new scenario version'}</button>
      </div>
      {stale ? (
        <div className="action-error" role="alert" data-testid="stale-edit">Someone saved a newer version of this scenario meanwhile; nothing was overwritten. The form now builds on the newest version: check it and save again.</div>
      ) : <ActionError error={save.error} />}
    </form>
  )
}

