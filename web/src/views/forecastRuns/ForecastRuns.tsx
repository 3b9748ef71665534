// Statistical forecast runs (api/routes/forecast_runs.py): start one over the shared history
// (POST /forecast-runs: a background job; its page shows the progress), and every run so far.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { cpfrKeys, runListQuery } from '../../api/cpfr'
import { roleOf } from '../../api/session'
import { createRun } from '../../client/sdk.gen'
import type { ForecastRunOptions, ForecastRunPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { useSession } from '../../session'
import { StatusBadge } from '../plans/StatusBadge'

const PAGE = 50

export function runOptionsText(p: Record<string, unknown>): string {
  const parts = [`${String(p.horizon ?? '?')} ${p.freq === 'W' ? 'weeks' : 'months'}`]
  parts.push(p.fast ? 'fast (no model competition)' : `model competition, ${String(p.n_windows ?? 3)} backtest windows`)
  if (!p.fast && p.reselect) parts.push('every series competes again')
  if (Array.isArray(p.partner_ids)) parts.push(`history of ${p.partner_ids.join(', ')}`)
  return parts.join(' · ')
}

const columns: Column<ForecastRunPublic>[] = [
  { id: 'id', header: 'Run', value: (r) => r.id, numeric: true,
    cell: (r) => <Link to="/forecast-runs/$runId" params={{ runId: String(r.id) }}>Run {r.id}</Link> },
  { id: 'status', header: 'Status', value: (r) => r.status, cell: (r) => <StatusBadge status={r.status} /> },
  { id: 'options', header: 'Options', value: (r) => runOptionsText(r.params) },
  { id: 'created', header: 'Asked for', value: (r) => r.created_at, cell: (r) => formatDateTime(r.created_at) },
  { id: 'finished', header: 'Finished', value: (r) => r.finished_at ?? '', cell: (r) => formatDateTime(r.finished_at) },
]

export function ForecastRuns() {
  const { page = 1 } = useSearch({ from: '/authed/forecast-runs' })
  const navigate = useNavigate({ from: '/forecast-runs' })
  const role = roleOf(useSession())
  const list = useQuery({ ...runListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Statistical forecasts" subtitle="Forecasts of every series of the shared history, chosen per series on a backtest; the consensus uses the latest." />
      {(role === 'planner' || role === 'admin') && <Section title="Start a forecast run" id="start"><StartRun /></Section>}
      <Section title="Runs" id="runs">
        <Loaded query={list} label="Loading forecast runs">
          {(d) => (
            <>
              <DataTable caption={`${d.total} run${d.total === 1 ? '' : 's'}`} columns={columns} rows={d.items}
                rowKey={(r) => String(r.id)} empty="No forecast runs yet." testId="run-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: { page: p } })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function StartRun() {
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const [horizon, setHorizon] = useState('12')
  const [freq, setFreq] = useState<'M' | 'W'>('M')
  const [fast, setFast] = useState(true)
  const [reselect, setReselect] = useState(false)
  const [localError, setLocalError] = useState<string | null>(null)
  const start = useMutation({
    mutationFn: (body: ForecastRunOptions) => data(createRun({ body })),
    onSuccess: async (run) => {
      queryClient.setQueryData(cpfrKeys.run(run.id), run)
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.runs })
      await navigate({ to: '/forecast-runs/$runId', params: { runId: String(run.id) } })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const h = Number(horizon)
    if (!Number.isInteger(h) || h < 1) return setLocalError('The horizon is a whole number of periods, 1 or more.')
    setLocalError(null)
    start.mutate(fast ? { horizon: h, freq, fast } : { horizon: h, freq, fast, reselect })
  }
  return (
    <form className="form-row" onSubmit={submit}>
      <div className="field">
        <label htmlFor="run-horizon">Horizon [periods]</label>
        <input id="run-horizon" inputMode="numeric" className="num-input" value={horizon} onChange={(e) => setHorizon(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="run-freq">Bucket</label>
        <select id="run-freq" value={freq} onChange={(e) => setFreq(e.target.value as 'M' | 'W')}>
          <option value="M">months</option><option value="W">weeks</option>
        </select>
      </div>
      <fieldset>
        <legend>Method</legend>
        <label className="radio"><input type="radio" name="fast" checked={fast} onChange={() => setFast(true)} /> Fast: one method per series class</label>
        <label className="radio"><input type="radio" name="fast" checked={!fast} onChange={() => setFast(false)} /> Model competition on a backtest (slower)</label>
        {!fast && (
          <label className="checkbox">
            <input type="checkbox" checked={reselect} onChange={(e) => setReselect(e.target.checked)} /> Every series competes
            again (otherwise a series whose history is unchanged keeps the last run&apos;s choice)
          </label>
        )}
      </fieldset>
      <button type="submit" className="primary" disabled={start.isPending}>{start.isPending ? 'Starting…' : 'Start forecast run'}</button>
      {localError && <p className="action-error" role="alert">{localError}</p>}
      <ActionError error={start.error} />
    </form>
  )
}
