// A partner's funding of a plan (GET /plans/{id}/funding: PartnerFunding) as charts and KPI
// tiles: cash before and after financing against the minimum, each instrument's balance and
// cost per period, the borrowing base (availability) and headroom of each instrument that has
// one, the peak need and its period, DSO/DIO/DPO and the cash conversion cycle. Pure functions.
import { formatMoney, formatNumber, formatPercent } from './format'

type Row = Record<string, unknown>
export interface PartnerFundingLike {
  partner: string
  status: string
  mode?: string | null
  currency: string
  kpis: Record<string, unknown>
  tables: Record<string, Row[]>
  diagnosis?: Record<string, unknown> | null
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

export interface FundingAxis { periods: number[]; dates: (string | null)[] }

/** The periods of the partner's cash table, in order, with their dates where the table has them. */
export function fundingAxis(f: PartnerFundingLike): FundingAxis {
  const rows = [...(f.tables.cash ?? [])].sort((a, b) => Number(a.period) - Number(b.period))
  return { periods: rows.map((r) => Number(r.period)), dates: rows.map((r) => (typeof r.date === 'string' ? r.date : null)) }
}

export interface FundingCash {
  axis: FundingAxis
  beforeFinancing: (number | null)[]
  closing: (number | null)[]
  minimum: (number | null)[]
  debt: (number | null)[]
  shortfall: (number | null)[]
}

/** Cash before financing (operations only) and after it (closing cash), against the minimum. */
export function fundingCash(f: PartnerFundingLike): FundingCash {
  const axis = fundingAxis(f)
  const by = new Map((f.tables.cash ?? []).map((r) => [Number(r.period), r]))
  const col = (c: string) => axis.periods.map((t) => num(by.get(t)?.[c]))
  return { axis, beforeFinancing: col('cash_before_financing'), closing: col('closing_cash'), minimum: col('min_cash'),
    debt: col('debt_outstanding'), shortfall: col('shortfall') }
}

export interface InstrumentSeries {
  name: string
  type: string
  balance: number[]
  /** Interest and fees charged in each period. */
  cost: number[]
  /** Borrowing base or limit available in each period (null: the instrument has none). */
  availability: (number | null)[] | null
  headroom: (number | null)[] | null
  limit: (number | null)[] | null
  totalCost: number
  peakBalance: number
}

/** Each instrument of the partner per period, on the cash table's periods. */
export function instrumentSeries(f: PartnerFundingLike): InstrumentSeries[] {
  const axis = fundingAxis(f)
  const index = new Map(axis.periods.map((t, i) => [t, i]))
  const out = new Map<string, InstrumentSeries>()
  for (const r of f.tables.instruments ?? []) {
    const name = String(r.instrument)
    let s = out.get(name)
    if (!s) {
      const n = axis.periods.length
      s = { name, type: String(r.type ?? ''), balance: new Array(n).fill(0), cost: new Array(n).fill(0),
        availability: new Array(n).fill(null), headroom: new Array(n).fill(null), limit: new Array(n).fill(null), totalCost: 0, peakBalance: 0 }
      out.set(name, s)
    }
    const i = index.get(Number(r.period))
    if (i === undefined) continue
    s.balance[i] = num(r.closing_balance) ?? 0
    s.cost[i] = (num(r.interest) ?? 0) + (num(r.fees) ?? 0)
    s.availability![i] = num(r.availability)
    s.headroom![i] = num(r.headroom)
    s.limit![i] = num(r.limit)
  }
  for (const s of out.values()) {
    s.totalCost = s.cost.reduce((a, b) => a + b, 0)
    s.peakBalance = Math.max(0, ...s.balance)
    if (s.availability!.every((v) => v === null)) s.availability = null
    if (s.headroom!.every((v) => v === null)) s.headroom = null
    if (s.limit!.every((v) => v === null)) s.limit = null
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name))
}

export interface FundingTile { id: string; label: string; value: number | null; text: string; note?: string; tone?: 'good' | 'bad' }

/** The partner's funding KPIs as tiles; `when(period)` names a period (its month). */
export function fundingTiles(f: PartnerFundingLike, when: (period: number | null) => string): FundingTile[] {
  const k = f.kpis
  const money = (x: unknown) => formatMoney(num(x), f.currency)
  const days = (x: unknown) => (num(x) === null ? '—' : `${formatNumber(num(x), 1)} days`)
  const period = (x: unknown) => (num(x) === null ? null : Number(x))
  const funded = k.funded === true || f.status === 'optimal' || f.status === 'feasible'
  const tiles: FundingTile[] = [
    { id: 'status', label: 'Funding', value: null, text: funded ? 'Funded' : f.status === 'infeasible' ? 'Cannot be funded' : f.status,
      tone: funded ? 'good' : 'bad', note: f.mode === 'joint' ? 'chosen with the plan' : f.mode === 'sized' ? 'sized after the plan' : undefined },
    { id: 'peak_funding_need', label: 'Peak funding need', value: num(k.peak_funding_need), text: money(k.peak_funding_need),
      note: num(k.peak_funding_need) ? `in ${when(period(k.peak_funding_need_period))}` : 'none' },
    { id: 'peak_debt', label: 'Peak debt', value: num(k.peak_debt), text: money(k.peak_debt),
      note: num(k.peak_debt) ? `in ${when(period(k.peak_debt_period))}` : undefined },
    { id: 'financing_cost', label: 'Financing cost', value: num(k.financing_cost), text: money(k.financing_cost),
      note: `net of deposit interest ${money(k.net_financing_cost)}` },
    { id: 'effective_annual_rate', label: 'Effective annual rate', value: num(k.effective_annual_rate), text: formatPercent(num(k.effective_annual_rate), 2) },
    { id: 'min_cash_headroom', label: 'Lowest headroom over minimum cash', value: num(k.min_cash_headroom), text: money(k.min_cash_headroom),
      tone: (num(k.min_cash_headroom) ?? 0) < -1e-6 ? 'bad' : undefined },
    { id: 'days_sales_outstanding', label: 'DSO', value: num(k.days_sales_outstanding), text: days(k.days_sales_outstanding), note: 'days sales outstanding' },
    { id: 'days_inventory_outstanding', label: 'DIO', value: num(k.days_inventory_outstanding), text: days(k.days_inventory_outstanding), note: 'days inventory outstanding' },
    { id: 'days_payables_outstanding', label: 'DPO', value: num(k.days_payables_outstanding), text: days(k.days_payables_outstanding), note: 'days payables outstanding' },
    { id: 'cash_conversion_cycle_days', label: 'Cash conversion cycle', value: num(k.cash_conversion_cycle_days), text: days(k.cash_conversion_cycle_days), note: 'DSO + DIO − DPO' },
  ]
  if ((num(k.peak_shortfall) ?? 0) > 1e-6) {
    tiles.splice(1, 0, { id: 'peak_shortfall', label: 'Peak shortfall (unfunded)', value: num(k.peak_shortfall), text: money(k.peak_shortfall),
      note: `in ${when(period(k.peak_shortfall_period))}`, tone: 'bad' })
  }
  return tiles
}
