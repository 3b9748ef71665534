// One plan (GET /plans/{id}): live progress while it is solved, then its result: KPIs, charts,
// binding limits with shadow prices, or the infeasibility diagnosis; its tables and workbook.
import { useQuery } from '@tanstack/react-query'
import { Link, useParams } from '@tanstack/react-router'
import { useMemo } from 'react'

import { planQuery, planRunning, versionQuery } from '../../api/queries'
import type { PlanPublic, PlanResult } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { KpiGrid } from '../../components/Kpi'
import { PageHeader, Section } from '../../components/Page'
import { isNotFound, Loaded, NotFound } from '../../components/States'
import { formatDateTime, formatDuration, formatMoney, formatNumber, formatPeriod, humanize, periodStart } from '../../lib/format'
import { type BindingLimit, bindingByFamily, type FamilySummary, rankBindingLimits } from '../../lib/planCharts'
import { parseId, optionsText } from '../scenarios/ScenarioView'
import { summarize } from '../scenarios/content'
import { Diagnosis } from './Diagnosis'
import { chainKpis, partnerKpis, type PartnerKpiRow } from './kpis'
import { CashCharts, InventoryCharts, ProductionCharts, ServiceChart } from './PlanCharts'
import { PlanProgress } from './PlanProgress'
import { PlanTables } from './PlanTables'
import { StatusBadge } from './StatusBadge'

export function PlanView() {
  const { planId: raw } = useParams({ from: '/authed/plans/$planId' })
  const planId = parseId(raw)
  if (planId === null) return <NotFound what={`plan ${raw}`} />
  return <PlanPage planId={planId} />
}

function PlanPage({ planId }: { planId: number }) {
  const plan = useQuery(planQuery(planId))
  const p = plan.data
  if (isNotFound(plan)) return <NotFound detail={plan.error.detail} />
  return (
    <>
      <PageHeader
        title={`Plan ${planId}`}
        subtitle={p ? <>{p.scenario_name} v{p.version} · {optionsText(p.options)} · <StatusBadge status={p.status} /></> : undefined}
        crumbs={[
          { label: 'Plans', to: '/plans' },
          ...(p ? [{ label: `${p.scenario_name} v${p.version}`, to: '/scenarios/$scenarioId', params: { scenarioId: String(p.scenario_id) } }] : []),
          { label: `Plan ${planId}` },
        ]}
        actions={p?.status === 'done' ? <>
          {p.result?.funding_summary && <Link className="button primary" to="/plans/$planId/funding" params={{ planId: String(planId) }} search={{}}>Funding and review</Link>}
          <a className="button secondary" href={`/plans/${planId}/xlsx`} download>Download workbook</a>
        </> : undefined}
      />
      <Loaded query={plan} label="Loading the plan">
        {(data) => <PlanBody plan={data} />}
      </Loaded>
    </>
  )
}

function PlanBody({ plan }: { plan: PlanPublic }) {
  if (planRunning(plan.status)) return <PlanProgress plan={plan} />
  if (plan.status === 'failed') {
    return (
      <div className="panel state-error" role="alert">
        <h2>The solve failed</h2>
        <p>{plan.job?.error ?? 'No reason was recorded.'}</p>
        {plan.job && plan.job.errors.length > 1 && (
          <ul>{plan.job.errors.map((e, i) => <li key={i}>Attempt {String(e.attempt ?? i + 1)}: {String(e.error ?? '')}</li>)}</ul>
        )}
        {plan.job?.log_excerpt && <pre className="log">{plan.job.log_excerpt}</pre>}
      </div>
    )
  }
  if (plan.status === 'cancelled') {
    return <div className="panel notice" role="status"><h2>Cancelled</h2><p>The solve was cancelled{plan.job?.finished_at ? ` at ${formatDateTime(plan.job.finished_at)}` : ''}. Run the plan again from its scenario.</p></div>
  }
  if (!plan.result) return <div className="panel"><p>The plan is done but has no stored result.</p></div>
  return <PlanResultView plan={plan} result={plan.result} />
}

const SOLVED = new Set(['optimal', 'feasible', 'time_limit'])

function PlanResultView({ plan, result }: { plan: PlanPublic; result: PlanResult }) {
  const version = useQuery(versionQuery(plan.scenario_id, plan.version))
  const summary = useMemo(() => (version.data ? summarize(version.data.content) : null), [version.data])
  const currency = summary?.currency ?? null
  const freq = summary?.freq ?? 'monthly'
  const solved = SOLVED.has(result.status) && Object.keys(result.kpis).length > 0
  const partnerNames = useMemo(() => Object.fromEntries((summary?.partners ?? []).map((x) => [x.id, x.name])), [summary])
  const when = (period: number | null) => (period === null ? '—' : formatPeriod(periodStart(summary?.start, freq, period), freq))
  const props = { planId: plan.id, currency, freq, tables: result.tables, partnerNames }
  return (
    <>
      <Section title="Result" id="result">
        <dl className="facts">
          <div><dt>Solver status</dt><dd data-testid="result-status">{humanize(result.status)}</dd></div>
          <div><dt>Objective ({humanize(result.objective_sense || 'objective')})</dt><dd data-testid="objective">{formatMoney(result.objective, currency)}</dd></div>
          {result.mip_gap !== null && result.mip_gap !== undefined && <div><dt>MIP gap</dt><dd>{formatNumber(result.mip_gap * 100, 3)}%</dd></div>}
          <div><dt>Solved in</dt><dd>{formatDuration(Object.values(result.timings).reduce((a, b) => a + b, 0))} (HiGHS {formatDuration(result.timings.highs)})</dd></div>
          <div><dt>Finished</dt><dd>{formatDateTime(plan.finished_at)}</dd></div>
        </dl>
        {solved && <KpiGrid label="Chain KPIs" items={chainKpis(result.kpis, currency)} />}
        {result.status === 'time_limit' && <p className="notice" role="note">The solver stopped at its time limit: this plan may not be optimal.</p>}
      </Section>

      {!solved && (
        <Section title="No plan exists" id="diagnosis">
          <Diagnosis diagnosis={result.diagnosis} />
          {result.solver_log_tail && <details><summary>Solver log (end)</summary><pre className="log">{result.solver_log_tail}</pre></details>}
        </Section>
      )}

      {solved && (
        <>
          <Section title="Partners" id="partners">
            <DataTable caption="KPIs per partner" hideCaption columns={partnerColumns(currency, partnerNames, when)} rows={partnerKpis(result.kpis)}
              rowKey={(r) => r.partner} testId="partner-kpis" />
          </Section>
          <ProductionCharts {...props} />
          <InventoryCharts {...props} />
          <ServiceChart {...props} />
          <CashCharts {...props} />
          <BindingLimits limits={result.binding_limits as unknown as BindingLimit[]} currency={currency} />
        </>
      )}

      {result.warnings.length > 0 && (
        <Section title="Warnings" id="warnings">
          <ul>{result.warnings.map((w, i) => <li key={i}><code>{String(w.path ?? '')}</code> {String(w.message ?? '')}</li>)}</ul>
        </Section>
      )}

      <PlanTables planId={plan.id} tables={result.tables} currency={currency} />
      <p className="muted small">Scenario: <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(plan.scenario_id) }} search={{ version: plan.version }}>{plan.scenario_name} v{plan.version}</Link></p>
    </>
  )
}

function partnerColumns(currency: string | null, names: Record<string, string>, when: (period: number | null) => string): Column<PartnerKpiRow>[] {
  const money = (v: number | null) => formatMoney(v, currency)
  return [
    { id: 'partner', header: 'Partner', value: (r) => r.partner,
      cell: (r) => (names[r.partner] ? <>{names[r.partner]} <span className="muted">({r.partner})</span></> : r.partner) },
    { id: 'role', header: 'Role', value: (r) => r.role },
    { id: 'revenue', header: 'Revenue', value: (r) => r.revenue, numeric: true, cell: (r) => money(r.revenue) },
    { id: 'costs', header: 'Costs', value: (r) => r.costs, numeric: true, cell: (r) => money(r.costs) },
    { id: 'profit', header: 'Profit', value: (r) => r.profit, numeric: true, cell: (r) => money(r.profit) },
    { id: 'closing_cash', header: 'Closing cash', value: (r) => r.closing_cash, numeric: true, cell: (r) => money(r.closing_cash) },
    { id: 'peak_gap', header: 'Peak funding gap', value: (r) => r.peak_funding_gap, numeric: true,
      cell: (r) => (r.peak_funding_gap ? <>{money(r.peak_funding_gap)} <span className="muted">({when(r.peak_funding_gap_period)})</span></> : money(0)) },
    { id: 'peak_wc', header: 'Peak working capital', value: (r) => r.peak_working_capital, numeric: true,
      cell: (r) => <>{money(r.peak_working_capital)} <span className="muted">({when(r.peak_working_capital_period)})</span></> },
  ]
}

const familyColumns: Column<FamilySummary>[] = [
  { id: 'family', header: 'Kind of limit', value: (f) => humanize(f.family) },
  { id: 'count', header: 'Binding', value: (f) => f.count, numeric: true },
  { id: 'max', header: 'Largest shadow price', value: (f) => f.maxShadowPrice, numeric: true, cell: (f) => formatNumber(f.maxShadowPrice, 2) },
]

function BindingLimits({ limits, currency }: { limits: BindingLimit[]; currency: string | null }) {
  const ranked = useMemo(() => rankBindingLimits(limits), [limits])
  const families = useMemo(() => bindingByFamily(limits), [limits])
  return (
    <Section title="Binding limits" id="binding">
      {limits.length === 0 ? <p className="muted">No capacity limit binds: every capacity has slack.</p> : (
        <>
          <p className="hint">A shadow price is what one more unit of the limit would add to the objective ({currency ?? 'currency'} per unit of the limit).</p>
          <div className="split">
            <DataTable caption="By kind" columns={familyColumns} rows={families} rowKey={(f) => f.family} />
            <DataTable caption={`${limits.length} binding limits, most valuable first`} testId="binding-limits" columns={[
              { id: 'constraint', header: 'Constraint', value: (l) => l.constraint, cell: (l) => <code>{l.constraint}</code> },
              { id: 'family', header: 'Kind', value: (l) => humanize(l.family) },
              { id: 'price', header: `Shadow price [${currency ?? 'currency'}/unit]`, value: (l) => l.shadow_price, numeric: true, cell: (l) => formatNumber(l.shadow_price, 2) },
            ]} rows={ranked} rowKey={(l) => l.constraint} />
          </div>
        </>
      )}
    </Section>
  )
}
