// A plan's funding at risk (docs/finance.md, "Funding at risk"; api/routes/at_risk.py), for
// staff: the options (demand scenarios, seed, a coefficient of variation or a consensus
// version's quantiles, correlation between periods, frozen periods) start a job
// (POST /plans/{id}/at-risk); its progress is polled (GET .../at-risk/{run}); when done, each
// partner's peak funding need P50/P90/P95 beside the point plan's, the probability the committed
// lines are not enough, the expected financing cost, and a fan of its cash before financing.
// These are statistics over the scenarios (floats from the API), not ledger amounts.
import { useMutation, useQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { atRiskQuery } from '../../api/financing'
import { createAtRisk } from '../../client/sdk.gen'
import type { AtRiskOptions, AtRiskPublic } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { FieldError, invalidProps } from '../../components/FieldError'
import { JobProgress } from '../../components/JobProgress'
import { Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { fanOption, periodLabels } from '../../lib/chartOptions'
import { atRiskBody, type AtRiskDraft, atRiskPartners, type AtRiskPartnerRow, cashFan, emptyAtRisk } from '../../lib/financing'
import { formatMoney, formatPercent } from '../../lib/format'
import { problemsByField } from '../../lib/invoices'

export function AtRiskPanel({ planId }: { planId: number }) {
  const [runId, setRunId] = useState<number | null>(null)
  return (
    <Section title="Funding at risk" id="at-risk">
      <p className="hint">How large may each partner's funding need get when demand differs from the forecast? Demand scenarios are drawn around
        the plan's forecast; the plan's decisions of the frozen periods are kept and sales, stock, receivables and cash follow each scenario.</p>
      <AtRiskForm planId={planId} onStarted={setRunId} />
      {runId !== null && <AtRiskRun planId={planId} runId={runId} />}
    </Section>
  )
}

const FIELDS: [keyof AtRiskDraft, string, string][] = [
  ['scenarios', 'Demand scenarios', 'scenarios'], ['seed', 'Seed', 'seed'],
  ['correlation', 'Correlation between periods (0–1)', 'correlation'], ['frozen_periods', 'Frozen periods (blank: all)', 'frozen_periods'],
]

function AtRiskForm({ planId, onStarted }: { planId: number; onStarted: (id: number) => void }) {
  const [d, setD] = useState<AtRiskDraft>(emptyAtRisk())
  const start = useMutation({
    mutationFn: () => data(createAtRisk({ path: { plan_id: planId }, body: atRiskBody(d) as unknown as AtRiskOptions })),
    onSuccess: (run) => onStarted(run.id),
  })
  const err = start.error instanceof ApiError ? start.error : null
  const known = new Set(['scenarios', 'seed', 'correlation', 'frozen_periods', 'cv', 'consensus_version'])
  const { byField, rest } = err?.status === 422 ? problemsByField(err.fields, (f) => known.has(f)) : { byField: new Map<string, string[]>(), rest: [] }
  const input = (k: keyof AtRiskDraft, label: string, api: string) => (
    <div className="field" key={k}>
      <label htmlFor={`risk-${k}`}>{label}</label>
      <input id={`risk-${k}`} inputMode="decimal" value={d[k]} maxLength={24} onChange={(e) => setD({ ...d, [k]: e.target.value })}
        {...invalidProps(`risk-${k}`, byField.get(api))} />
      <FieldError id={`risk-${k}`} problems={byField.get(api)} />
    </div>
  )
  const submit = (e: FormEvent) => { e.preventDefault(); start.mutate() }
  return (
    <form onSubmit={submit} data-testid="at-risk-form" noValidate>
      <div className="form-row">
        {FIELDS.map(([k, label, api]) => input(k, label, api))}
        <fieldset>
          <legend>Demand uncertainty</legend>
          <label><input type="radio" name="risk-source" checked={d.source === 'cv'} onChange={() => setD({ ...d, source: 'cv' })} /> coefficient of variation</label>{' '}
          <label><input type="radio" name="risk-source" checked={d.source === 'consensus'} onChange={() => setD({ ...d, source: 'consensus' })} /> a consensus version's P10/P50/P90</label>
        </fieldset>
        {d.source === 'cv' ? input('cv', 'Coefficient of variation', 'cv') : input('consensus_version', 'Consensus version', 'consensus_version')}
      </div>
      <div className="actions"><button type="submit" className="primary" disabled={start.isPending}>{start.isPending ? 'Starting…' : 'Compute funding at risk'}</button></div>
      {err && err.status !== 422 && <ActionError error={err} />}
      {rest.length > 0 && <ActionError error={new ApiError(422, rest.map((r) => `${r.field}: ${r.msg}`).join('; '))} />}
    </form>
  )
}

function AtRiskRun({ planId, runId }: { planId: number; runId: number }) {
  const run = useQuery(atRiskQuery(planId, runId))
  return (
    <Loaded query={run} label="Reading the run">
      {(r) => (r.status === 'queued' || r.status === 'running'
        ? <JobProgress job={r.job} status={r.status} createdAt={r.created_at} working="Simulating demand scenarios" what="funding-at-risk run" testId="at-risk-progress" />
        : r.status === 'done' ? <AtRiskResult run={r} />
          : <p className="notice" role="alert" data-testid="at-risk-failed">The run {r.status}{r.job?.error ? `: ${r.job.error}` : '.'}</p>)}
    </Loaded>
  )
}

const partnerColumns = (currency: string | null): Column<AtRiskPartnerRow>[] => {
  const money = (k: keyof AtRiskPartnerRow, header: string): Column<AtRiskPartnerRow> =>
    ({ id: k, header, value: (r) => r[k] as number | null, numeric: true, cell: (r) => formatMoney(r[k] as number | null, currency) })
  return [
    { id: 'partner', header: 'Partner', value: (r) => r.partner },
    money('point_peak_need', 'Peak need, point plan'),
    money('peak_need_p50', 'Peak need P50'), money('peak_need_p90', 'P90'), money('peak_need_p95', 'P95'),
    { id: 'short', header: 'P(lines not enough)', value: (r) => r.probability_lines_not_enough, numeric: true, cell: (r) => formatPercent(r.probability_lines_not_enough) },
    money('expected_financing_cost', 'Expected financing cost'), money('point_financing_cost', 'Financing cost, point plan'),
  ]
}

function AtRiskResult({ run }: { run: AtRiskPublic }) {
  const rows = atRiskPartners(run.partners)
  const settings = (run.settings ?? {}) as Record<string, unknown>
  const freq = typeof settings.freq === 'string' ? settings.freq : undefined
  return (
    <div data-testid="at-risk-result">
      <p className="muted" data-testid="at-risk-summary">Run {run.id}: {String(settings.scenarios ?? run.params.scenarios ?? '')} scenarios, seed {String(settings.seed ?? run.params.seed ?? '')}
        {settings.frozen_periods !== undefined ? `, ${String(settings.frozen_periods)} of ${String(settings.periods ?? '?')} periods frozen` : ''}. P90: in 9 scenarios of 10 the peak need is at most this.</p>
      <DataTable caption={`Peak funding need per partner [${run.currency ?? ''}]`} columns={partnerColumns(run.currency)} rows={rows}
        rowKey={(r) => r.partner} testId="at-risk-partners" />
      {rows.map((r) => {
        const fan = cashFan(run.periods, r.partner)
        const labels = periodLabels(fan.dates, freq)
        const f = (v: number) => formatMoney(v, run.currency)
        return (
          <Chart key={r.partner} title={`${r.partner}: cash before financing over the scenarios`} testId={`at-risk-fan-${r.partner}`}
            summary={`The P5 to P95 fan of ${r.partner}'s cash before financing per period, with its median.`}
            option={fanOption(labels, { ...fan.bands, p50: fan.p50 }, `Cash [${run.currency ?? ''}]`, f, fan)}
            table={<DataTable caption={`${r.partner}: cash before financing quantiles`} columns={[
              { id: 'period', header: 'Period', value: ({ i }: { i: number }) => labels[i] ?? '' },
              ...(['p5', 'p10', 'p50', 'p90', 'p95'] as const).map((q): Column<{ i: number }> =>
                ({ id: q, header: q.toUpperCase(), value: ({ i }) => fan[q][i] ?? null, numeric: true, cell: ({ i }) => formatMoney(fan[q][i] ?? null, run.currency) })),
            ]} rows={fan.dates.map((_, i) => ({ i }))} rowKey={({ i }) => String(i)} />} />
        )
      })}
    </div>
  )
}
