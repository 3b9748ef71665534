// Two or more plans side by side (GET /compare/plans; api/routes/compare.py): their KPIs and
// funding with each plan's difference to the first (the baseline), and the same charts overlaid:
// the fill rate and lost sales per period, and each partner's closing cash.
import { useQueries, useQuery } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useMemo, useState } from 'react'

import { compareQuery } from '../../api/finance'
import { planListQuery, planTableQuery, versionQuery } from '../../api/queries'
import { summarize } from '../scenarios/content'
import type { Comparison, TablePage } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { linesOption } from '../../lib/chartOptions'
import { comparisonRows, type KpiRow, overlay } from '../../lib/compare'
import { formatMoney, formatNumber, formatPercent, formatPeriod } from '../../lib/format'
import { cashByPartner, type CashRow, type SalesRow, serviceByPeriod } from '../../lib/planCharts'
import { optionsText } from '../scenarios/ScenarioView'
import { StatusBadge } from '../plans/StatusBadge'

export const MAX_COMPARE = 10

/** "3,7" → [3, 7]: positive ids, each once, at most MAX_COMPARE. */
export function parsePlanIds(raw: unknown): number[] {
  if (typeof raw !== 'string' && typeof raw !== 'number') return []
  const ids = String(raw).split(',').map((s) => Number(s.trim())).filter((n) => Number.isSafeInteger(n) && n >= 1 && n <= 2 ** 31 - 1)
  return [...new Set(ids)].slice(0, MAX_COMPARE)
}

export function CompareView() {
  const { plans: raw } = useSearch({ from: '/authed/compare' })
  const ids = useMemo(() => parsePlanIds(raw), [raw])
  const navigate = useNavigate({ from: '/compare' })
  const setIds = (next: number[]) => void navigate({ search: { plans: next.length ? next.join(',') : undefined } })
  return (
    <>
      <PageHeader title="Compare plans" subtitle="Two or more plans side by side: the first is the baseline each difference is measured from." />
      <Section title="Plans" id="pick"><Picker ids={ids} onChange={setIds} /></Section>
      {ids.length >= 2 ? <Compared ids={ids} /> : <div className="panel"><p className="muted">Choose at least two plans (from the list above, or tick them in the plan list).</p></div>}
    </>
  )
}

function Picker({ ids, onChange }: { ids: number[]; onChange: (ids: number[]) => void }) {
  const done = useQuery(planListQuery({ status: 'done', limit: 50, offset: 0 }))
  const [choice, setChoice] = useState('')
  const add = (e: FormEvent) => {
    e.preventDefault()
    const id = Number(choice)
    if (id && !ids.includes(id) && ids.length < MAX_COMPARE) onChange([...ids, id])
    setChoice('')
  }
  return (
    <form className="toolbar" onSubmit={add}>
      <ul className="chips" aria-label="Plans compared">
        {ids.map((id, i) => (
          <li key={id}>
            <Link to="/plans/$planId" params={{ planId: String(id) }}>Plan {id}</Link>{i === 0 ? ' (baseline)' : ''}{' '}
            <button type="button" className="link-button" aria-label={`Remove plan ${id}`} onClick={() => onChange(ids.filter((x) => x !== id))}>×</button>
          </li>
        ))}
      </ul>
      <label htmlFor="add-plan">Add a plan</label>
      <select id="add-plan" value={choice} onChange={(e) => setChoice(e.target.value)}>
        <option value="">choose a finished plan…</option>
        {(done.data?.items ?? []).filter((p) => !ids.includes(p.id)).map((p) => <option key={p.id} value={p.id}>Plan {p.id} · scenario {p.scenario_id} v{p.version}</option>)}
      </select>
      <button type="submit" className="secondary" disabled={!choice || ids.length >= MAX_COMPARE}>Add</button>
    </form>
  )
}

function Compared({ ids }: { ids: number[] }) {
  const cmp = useQuery(compareQuery(ids))
  return <Loaded query={cmp} label="Comparing the plans">{(c) => <ComparisonBody cmp={c} />}</Loaded>
}

function ComparisonBody({ cmp }: { cmp: Comparison }) {
  const plans = cmp.plans
  const rows = useMemo(() => comparisonRows(plans), [plans])
  // the baseline's currency (the scenario's); every amount of a plan is in its scenario's currency
  const base = useQuery(versionQuery(plans[0]!.scenario_id, plans[0]!.version))
  const currency = base.data ? summarize(base.data.content).currency : null
  const show = (r: KpiRow, v: number | null, signed = false): string => {
    if (v === null) return '—'
    const s = r.kind === 'money' ? formatMoney(v, currency) : r.kind === 'percent' ? formatPercent(v) : `${formatNumber(v)} units`
    return signed && v > 0 && s !== show(r, 0) ? `+${s}` : s // (a gain that rounds to nothing has no sign)
  }
  const columns: Column<KpiRow>[] = [
    { id: 'kpi', header: 'KPI', value: (r) => r.label, sortable: false },
    ...plans.flatMap((p, i): Column<KpiRow>[] => [
      { id: `p${p.plan_id}`, header: `Plan ${p.plan_id}${i === 0 ? ' (baseline)' : ''}`, numeric: true, sortable: false,
        value: (r) => r.values[i] ?? null, cell: (r) => show(r, r.values[i] ?? null) },
      ...(i === 0 ? [] : [{ id: `d${p.plan_id}`, header: `Plan ${p.plan_id} − baseline`, numeric: true, sortable: false,
        value: (r: KpiRow) => r.diffs[i] ?? null, cell: (r: KpiRow) => <span className={diffClass(r, r.diffs[i] ?? null)}>{show(r, r.diffs[i] ?? null, true)}</span> }]),
    ]),
  ]
  return (
    <>
      <Section title="The plans" id="plans">
        <div className="table-wrap">
          <table className="data-table" data-testid="compare-plans">
            <caption className="visually-hidden">The plans compared</caption>
            <thead><tr><th scope="col">Plan</th><th scope="col">Scenario</th><th scope="col">Options</th><th scope="col">Status</th><th scope="col">Solver</th></tr></thead>
            <tbody>
              {plans.map((p) => (
                <tr key={p.plan_id}>
                  <td><Link to="/plans/$planId" params={{ planId: String(p.plan_id) }}>Plan {p.plan_id}</Link></td>
                  <td>{p.scenario_name} v{p.version}</td>
                  <td>{optionsText(p.options)}</td>
                  <td><StatusBadge status={p.status} /></td>
                  <td>{p.plan_status ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="KPIs" id="kpis">
        <DataTable caption="KPIs side by side" hideCaption columns={columns} rows={rows} rowKey={(r) => r.id} testId="compare-kpis" virtualizeAbove={1000} />
      </Section>
      <OverlaidCharts planIds={plans.filter((p) => p.status === 'done').map((p) => p.plan_id)} currency={currency} />
    </>
  )
}

/** Green where the difference is good for the chain (more profit or fill rate; less cost, unmet
 *  demand or funding), red where it is bad. */
function diffClass(r: KpiRow, d: number | null): string | undefined {
  if (d === null || Math.abs(d) < 1e-9) return undefined
  const lowerIsBetter = /cost|unmet|gap|need|inventory/i.test(r.label)
  return (d > 0) !== lowerIsBetter ? 'diff-good' : 'diff-bad'
}

function OverlaidCharts({ planIds, currency }: { planIds: number[]; currency: string | null }) {
  const sales = useQueries({ queries: planIds.map((id) => planTableQuery(id, 'sales')) })
  const cash = useQueries({ queries: planIds.map((id) => planTableQuery(id, 'cash')) })
  const ready = sales.every((q) => q.data) && cash.every((q) => q.data)
  // a few dozen rows per plan: recomputed on each render
  const services = ready ? sales.map((q) => serviceByPeriod((q.data as TablePage).items as unknown as SalesRow[])) : []
  const cashes = ready ? cash.map((q) => cashByPartner((q.data as TablePage).items as unknown as CashRow[])) : []
  const partners = [...new Set(cashes.flatMap((c) => c.map((x) => x.partner)))].sort()
  const [partner, setPartner] = useState<string | null>(null)
  const current = partner ?? partners[0] ?? null
  if (planIds.length < 2) return null
  const failed = [...sales, ...cash].find((q) => q.isError)
  if (failed) return <div className="panel state-error" role="alert">The plans' tables could not be read: {String((failed.error as Error).message)}</div>
  if (!ready) return <div className="panel"><p className="muted" role="status">Loading the plans' tables…</p></div>
  const name = (i: number) => `Plan ${planIds[i]}`
  const fill = overlay(services.map((s, i) => ({ name: name(i), dates: s.axis.dates, values: s.fillRate })))
  const lost = overlay(services.map((s, i) => ({ name: name(i), dates: s.axis.dates, values: s.lostSales })))
  const closing = overlay(cashes.map((c, i) => {
    const mine = c.find((x) => x.partner === current)
    return { name: name(i), dates: mine?.axis.dates ?? [], values: mine?.closing ?? [] }
  }))
  return (
    <Section title="The same charts, overlaid" id="charts" actions={partners.length > 1 ? (
      <div className="toolbar">
        <label htmlFor="cmp-partner">Partner (cash)</label>
        <select id="cmp-partner" value={current ?? ''} onChange={(e) => setPartner(e.target.value)}>
          {partners.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </div>
    ) : undefined}>
      <div className="chart-grid two">
        <Chart title="Fill rate per period" testId="chart-compare-fill" summary="Each plan's share of demand served on time, per period."
          option={linesOption(fill.dates.map((d) => formatPeriod(d)), fill.series, 'Fill rate', (v) => formatPercent(v), { axis: (v) => formatPercent(v, 0) })} />
        <Chart title="Lost sales per period" testId="chart-compare-lost" summary="Each plan's demand lost, per period, in units."
          option={linesOption(lost.dates.map((d) => formatPeriod(d)), lost.series, 'Lost sales [units]', (v) => `${formatNumber(v)} units`)} />
        {current && (
          <Chart title={`Closing cash of ${current}`} testId="chart-compare-cash" summary={`Each plan's closing cash of ${current} per period, in ${currency ?? 'the currency'}.`}
            option={linesOption(closing.dates.map((d) => formatPeriod(d)), closing.series, `Cash [${currency ?? 'currency'}]`, (v) => formatMoney(v, currency), { step: true })}
            table={<DataTable caption={`Closing cash of ${current}`} hideCaption rows={closing.dates.map((d, i) => ({ d, i }))} rowKey={(r) => r.d}
              columns={[{ id: 'period', header: 'Period', value: (r) => r.d, cell: (r) => formatPeriod(r.d), sortable: false },
                ...closing.series.map(([n, vals]): Column<{ d: string; i: number }> => ({ id: n, header: n, numeric: true, sortable: false,
                  value: (r) => vals[r.i] ?? null, cell: (r) => formatMoney(vals[r.i] ?? null, currency) }))]} />} />
        )}
      </div>
    </Section>
  )
}
