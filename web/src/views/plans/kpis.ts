// The plan's KPIs as shown on its page (kpis.chain and kpis.partners of GET /plans/{id}).
import type { KpiItem } from '../../components/Kpi'
import { formatMoney, formatNumber, formatPercent } from '../../lib/format'

type Obj = Record<string, unknown>
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)
const sumValues = (x: unknown): number | null => {
  if (!x || typeof x !== 'object') return null
  return Object.values(x as Obj).reduce<number>((a, b) => a + (num(b) ?? 0), 0)
}

/** The chain's headline KPIs, in the order a planner reads them. */
export function chainKpis(kpis: Obj, currency: string | null): KpiItem[] {
  const chain = (kpis.chain ?? {}) as Obj
  const money = (id: string, label: string, value: number | null, tone?: 'good' | 'bad'): KpiItem =>
    ({ id, label, value, text: formatMoney(value, currency), ...(tone ? { tone } : {}) })
  const profit = num(chain.profit)
  const gap = num(chain.total_funding_gap)
  const unmet = num(chain.unmet_demand)
  return [
    money('revenue', 'Revenue', num(chain.revenue)),
    money('total_cost', 'Total cost', num(chain.total_cost)),
    money('penalties', 'Penalties', sumValues(chain.penalties)),
    money('profit', 'Profit', profit, profit !== null && profit < 0 ? 'bad' : undefined),
    { id: 'fill_rate', label: 'Fill rate', value: num(chain.fill_rate), text: formatPercent(num(chain.fill_rate)) },
    { id: 'unmet_demand', label: 'Unmet demand', value: unmet, text: `${formatNumber(unmet)} units`, ...(unmet ? { tone: 'bad' as const } : {}) },
    money('average_inventory_value', 'Average inventory value', num(chain.average_inventory_value)),
    money('total_funding_gap', 'Funding gap (sum over periods)', gap, gap ? 'bad' : undefined),
  ]
}

export interface PartnerKpiRow {
  partner: string; role: string; revenue: number | null; costs: number | null; profit: number | null
  closing_cash: number | null; peak_funding_gap: number | null; peak_funding_gap_period: number | null
  peak_working_capital: number | null; peak_working_capital_period: number | null
}

export function partnerKpis(kpis: Obj): PartnerKpiRow[] {
  const partners = (kpis.partners ?? {}) as Record<string, Obj>
  return Object.entries(partners).map(([partner, k]) => ({
    partner,
    role: typeof k.role === 'string' ? k.role : '',
    revenue: num(k.revenue),
    costs: sumValues(k.costs),
    profit: num(k.profit),
    closing_cash: num(k.closing_cash),
    peak_funding_gap: num(k.peak_funding_gap),
    peak_funding_gap_period: num(k.peak_funding_gap_period),
    peak_working_capital: num(k.peak_working_capital),
    peak_working_capital_period: num(k.peak_working_capital_period),
  }))
}
