// A plan's funding per partner (GET /plans/{id}/funding; api/routes/funding.py): cash before and
// after financing against the minimum, each instrument's balance and cost over time, the
// borrowing base (availability) and headroom, the peak need and its period, DSO/DIO/DPO and the
// cash conversion cycle; and the finance review of the plan (api/routes/reviews.py): approve or
// reject with a comment, the workbook to forward; for staff, its funding at risk (AtRiskPanel). A partner user sees its own funding only;
// another partner's is "Not found", as the API answers.
import { useQuery } from '@tanstack/react-query'
import { useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { useMemo } from 'react'

import { fundingQuery } from '../../api/finance'
import { planQuery } from '../../api/queries'
import { roleOf } from '../../api/session'
import type { PartnerFunding, PlanFunding } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { KpiGrid } from '../../components/Kpi'
import { PageHeader, Section } from '../../components/Page'
import { isNotFound, Loaded, NotFound } from '../../components/States'
import { barsAndLinesOption, linesOption } from '../../lib/chartOptions'
import { formatMoney, formatPercent, formatPeriod, humanize } from '../../lib/format'
import { fundingCash, fundingTiles, instrumentSeries, type PartnerFundingLike } from '../../lib/funding'
import { useSession } from '../../session'
import { parseId } from '../scenarios/ScenarioView'
import { AtRiskPanel } from './AtRiskPanel'
import { ReviewPanel } from './ReviewPanel'

export function FundingView() {
  const { planId: raw } = useParams({ from: '/authed/plans/$planId/funding' })
  const planId = parseId(raw)
  if (planId === null) return <NotFound what={`plan ${raw}`} />
  return <FundingPage planId={planId} />
}

function FundingPage({ planId }: { planId: number }) {
  const role = roleOf(useSession())
  const staff = role !== 'partner'
  const funding = useQuery(fundingQuery(planId))
  const plan = useQuery({ ...planQuery(planId), enabled: staff })
  if (isNotFound(funding)) return <NotFound detail={funding.error.detail} />
  const p = plan.data
  return (
    <>
      <PageHeader title={`Funding of plan ${planId}`}
        subtitle={p ? `${p.scenario_name} v${p.version}` : undefined}
        crumbs={staff ? [{ label: 'Plans', to: '/plans' }, { label: `Plan ${planId}`, to: '/plans/$planId', params: { planId: String(planId) } }, { label: 'Funding' }]
          : [{ label: `Funding of plan ${planId}` }]}
        actions={staff ? <a className="button secondary" href={`/plans/${planId}/xlsx`} download>Download workbook</a> : undefined} />
      {staff && <ReviewPanel planId={planId} canDecide={role === 'finance'} />}
      {staff && <AtRiskPanel planId={planId} />}
      <Loaded query={funding} label="Loading the funding">{(f) => <FundingBody funding={f} />}</Loaded>
    </>
  )
}

function FundingBody({ funding }: { funding: PlanFunding }) {
  const search = useSearch({ from: '/authed/plans/$planId/funding' })
  const navigate = useNavigate({ from: '/plans/$planId/funding' })
  const partners = funding.partners
  const requested = search.partner
  const current = partners.find((p) => p.partner === requested) ?? (requested ? null : partners[0])
  const summary = funding.summary as Record<string, any> | null
  if (!partners.length) {
    return <div className="panel"><p>This plan has no funding: its scenario defines no finance instruments.</p></div>
  }
  return (
    <>
      {summary && (
        <Section title="The chain" id="chain">
          <dl className="facts" data-testid="funding-summary">
            <div><dt>Funding</dt><dd>{humanize(String(summary.status ?? ''))}{summary.mode ? ` (${summary.mode === 'joint' ? 'chosen with the plan' : 'sized after the plan'})` : ''}</dd></div>
            <div><dt>Financing cost</dt><dd>{formatMoney(summary.total?.financing_cost, summary.currency)}</dd></div>
            <div><dt>Net of deposit interest and discounts</dt><dd>{formatMoney(summary.total?.net_financing_cost, summary.currency)}</dd></div>
            <div><dt>Ending debt</dt><dd>{formatMoney(summary.total?.ending_debt, summary.currency)}</dd></div>
            <div><dt>Peak shortfall</dt><dd>{formatMoney(summary.total?.peak_shortfall, summary.currency)}</dd></div>
          </dl>
          {summary.diagnosis?.message && <p className="notice" role="note">{String(summary.diagnosis.message)}</p>}
        </Section>
      )}
      <div className="toolbar partner-tabs" role="group" aria-label="Partner">
        {partners.map((p) => (
          <button key={p.partner} type="button" className={p.partner === current?.partner ? 'primary' : 'secondary'}
            aria-pressed={p.partner === current?.partner}
            onClick={() => void navigate({ search: { partner: p.partner } })}>{p.partner}</button>
        ))}
      </div>
      {current ? <PartnerFundingView key={current.partner} f={current} /> : (
        <NotFound level={2} detail={`funding of partner ${requested} not found`} />
      )}
    </>
  )
}

interface MixRow { name: string; type: string; drawn: number; repaid: number; peak_balance: number; ending_balance: number; interest: number; fees: number; min_headroom: number | null }

function PartnerFundingView({ f }: { f: PartnerFunding }) {
  const fl = f as unknown as PartnerFundingLike
  const cash = useMemo(() => fundingCash(fl), [fl])
  const instruments = useMemo(() => instrumentSeries(fl), [fl])
  const labels = cash.axis.periods.map((t, i) => (cash.axis.dates[i] ? formatPeriod(cash.axis.dates[i]) : `Period ${t}`))
  const when = (period: number | null) => (period === null ? '—' : labels[cash.axis.periods.indexOf(period)] ?? `period ${period}`)
  const money = (v: number) => formatMoney(v, f.currency)
  const mix: MixRow[] = Object.entries((f.kpis.instruments ?? {}) as Record<string, Omit<MixRow, 'name'>>).map(([name, m]) => ({ name, ...m }))
  const based = instruments.filter((i) => i.availability)
  const mixColumns: Column<MixRow>[] = [
    { id: 'name', header: 'Instrument', value: (m) => m.name },
    { id: 'type', header: 'Kind', value: (m) => humanize(m.type) },
    { id: 'drawn', header: 'Drawn', value: (m) => m.drawn, numeric: true, cell: (m) => money(m.drawn) },
    { id: 'repaid', header: 'Repaid', value: (m) => m.repaid, numeric: true, cell: (m) => money(m.repaid) },
    { id: 'peak', header: 'Peak balance', value: (m) => m.peak_balance, numeric: true, cell: (m) => money(m.peak_balance) },
    { id: 'end', header: 'Ending balance', value: (m) => m.ending_balance, numeric: true, cell: (m) => money(m.ending_balance) },
    { id: 'cost', header: 'Interest + fees', value: (m) => m.interest + m.fees, numeric: true, cell: (m) => money(m.interest + m.fees) },
    { id: 'headroom', header: 'Lowest headroom', value: (m) => m.min_headroom, numeric: true, cell: (m) => (m.min_headroom === null ? '—' : money(m.min_headroom)) },
  ]
  return (
    <div data-testid={`funding-${f.partner}`}>
      <Section title={`${f.partner}: funding`} id="partner-funding">
        <KpiGrid label={`Funding of ${f.partner}`} items={fundingTiles(fl, when)} />
        {f.diagnosis && <p className="notice" role="note">{String((f.diagnosis as Record<string, unknown>).message ?? JSON.stringify(f.diagnosis))}</p>}
      </Section>
      <Section title="Cash before and after financing" id="funding-cash">
        <Chart title={`Cash of ${f.partner}`} testId="chart-funding-cash"
          summary={`Cash from operations alone and after financing, against the minimum cash, per period in ${f.currency}.`}
          option={linesOption(labels, [['Before financing', cash.beforeFinancing], ['After financing (closing cash)', cash.closing], ['Minimum cash', cash.minimum]],
            `Cash [${f.currency}]`, money, { step: true, dashed: ['Minimum cash'] })}
          table={<PeriodTable caption={`Cash of ${f.partner}`} labels={labels} format={(v) => formatMoney(v, f.currency)}
            series={[['Before financing', cash.beforeFinancing], ['After financing', cash.closing], ['Minimum cash', cash.minimum], ['Debt outstanding', cash.debt]]} />} />
      </Section>
      {instruments.length > 0 ? (
        <>
          <Section title="Instruments" id="instruments">
            <div className="chart-grid two">
              <Chart title="Balance by instrument" testId="chart-balances" summary={`Each instrument's closing balance per period in ${f.currency}, stacked.`}
                option={barsAndLinesOption(labels, instruments.map((i) => [i.name, i.balance]), [], `Balance [${f.currency}]`, money)}
                table={<PeriodTable caption="Balances" labels={labels} format={(v) => formatMoney(v, f.currency)} series={instruments.map((i) => [i.name, i.balance])} />} />
              <Chart title="Cost by instrument" testId="chart-costs" summary={`Interest and fees charged by each instrument per period in ${f.currency}, stacked.`}
                option={barsAndLinesOption(labels, instruments.map((i) => [i.name, i.cost]), [], `Interest + fees [${f.currency}]`, money)}
                table={<PeriodTable caption="Costs" labels={labels} format={(v) => formatMoney(v, f.currency, 2)} series={instruments.map((i) => [i.name, i.cost])} />} />
            </div>
            <DataTable caption="Over the horizon" columns={mixColumns} rows={mix} rowKey={(m) => m.name} testId="instrument-mix" />
          </Section>
          {based.length > 0 && (
            <Section title="Borrowing base and headroom" id="borrowing-base">
              <div className="chart-grid two">
                {based.map((i) => (
                  <Chart key={i.name} title={`${i.name} (${humanize(i.type)})`} testId={`chart-base-${i.name}`} height={260}
                    summary={`Balance of ${i.name} against what is available to draw (its borrowing base or limit), and the headroom left, per period.`}
                    option={barsAndLinesOption(labels, [['Balance', i.balance]], [['Available', i.availability!, 'dashed'], ['Headroom', i.headroom ?? []]], f.currency, money, false)}
                    table={<PeriodTable caption={`${i.name}`} labels={labels} format={(v) => formatMoney(v, f.currency)}
                      series={[['Balance', i.balance], ['Available', i.availability!], ['Headroom', i.headroom ?? []]]} />} />
                ))}
              </div>
            </Section>
          )}
        </>
      ) : <div className="panel"><p className="muted">{f.partner} has no finance instruments in this scenario: its cash is its own.</p></div>}
      {typeof f.kpis.effective_annual_rate === 'number' && (
        <p className="hint">Rates: {formatPercent(f.kpis.effective_annual_rate, 2)} a year effective, on {f.periods_per_year} periods a year.</p>
      )}
    </div>
  )
}

interface PRow { period: string; [k: string]: string | number | null }

function PeriodTable({ caption, labels, series, format }: { caption: string; labels: string[]; series: [string, (number | null)[]][]; format: (v: number | null) => string }) {
  const rows: PRow[] = labels.map((period, i) => Object.fromEntries([['period', period], ...series.map(([n, v]) => [n, v[i] ?? null])]) as PRow)
  const columns: Column<PRow>[] = [
    { id: 'period', header: 'Period', value: (r) => r.period, sortable: false },
    ...series.map(([n]): Column<PRow> => ({ id: n, header: n, numeric: true, sortable: false, value: (r) => r[n] as number | null, cell: (r) => format(r[n] as number | null) })),
  ]
  return <DataTable caption={caption} hideCaption columns={columns} rows={rows} rowKey={(r) => r.period} />
}
