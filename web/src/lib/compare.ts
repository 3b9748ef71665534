// Plans side by side (GET /compare/plans): the KPI table (one column per plan, the difference to
// the first plan, the baseline) and the same chart of each plan overlaid on one date axis.

export type Kind = 'money' | 'percent' | 'units'
export interface KpiRow { id: string; label: string; kind: Kind; values: (number | null)[]; diffs: (number | null)[] }

export interface PlanColumnLike {
  plan_id: number
  objective: number | null
  chain: Record<string, unknown>
  partners: Record<string, Record<string, unknown>>
  funding: Record<string, any> | null
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

const CHAIN: [string, string, Kind][] = [
  ['revenue', 'Revenue', 'money'], ['total_cost', 'Total cost', 'money'], ['profit', 'Profit', 'money'],
  ['fill_rate', 'Fill rate', 'percent'], ['unmet_demand', 'Unmet demand', 'units'], ['average_inventory_value', 'Average inventory value', 'money'],
]
const PARTNER: [string, string, Kind][] = [
  ['profit', 'profit', 'money'], ['closing_cash', 'closing cash', 'money'], ['peak_funding_gap', 'peak funding gap', 'money'],
]
const FUNDING: [string, string, Kind][] = [
  ['peak_funding_need', 'peak funding need', 'money'], ['financing_cost', 'financing cost', 'money'],
]

/** The KPI rows of a comparison: the objective, the chain's KPIs, the net financing cost, then
 *  per partner its profit, closing cash, funding gap and (where funded) need and cost. */
export function comparisonRows(plans: PlanColumnLike[]): KpiRow[] {
  const row = (id: string, label: string, kind: Kind, get: (p: PlanColumnLike) => unknown): KpiRow => {
    const values = plans.map((p) => num(get(p)))
    const base = values[0] ?? null
    return { id, label, kind, values, diffs: values.map((v, i) => (i === 0 || v === null || base === null ? null : v - base)) }
  }
  const rows: KpiRow[] = [row('objective', 'Objective', 'money', (p) => p.objective)]
  for (const [k, label, kind] of CHAIN) rows.push(row(`chain.${k}`, label, kind, (p) => p.chain[k]))
  if (plans.some((p) => p.funding)) rows.push(row('funding.net_financing_cost', 'Net financing cost', 'money', (p) => p.funding?.net_financing_cost))
  const partners = [...new Set(plans.flatMap((p) => Object.keys(p.partners)))].sort()
  for (const a of partners) {
    for (const [k, label, kind] of PARTNER) rows.push(row(`${a}.${k}`, `${a}: ${label}`, kind, (p) => p.partners[a]?.[k]))
    if (plans.some((p) => p.funding?.partners?.[a])) {
      for (const [k, label, kind] of FUNDING) rows.push(row(`${a}.funding.${k}`, `${a}: ${label}`, kind, (p) => p.funding?.partners?.[a]?.[k]))
    }
  }
  return rows
}

/** One series per plan on the union of their dates (null where a plan has no such period). */
export function overlay(items: { name: string; dates: string[]; values: (number | null)[] }[]): { dates: string[]; series: [string, (number | null)[]][] } {
  const dates = [...new Set(items.flatMap((x) => x.dates))].sort()
  const index = new Map(dates.map((d, i) => [d, i]))
  const series = items.map((x): [string, (number | null)[]] => {
    const out = new Array<number | null>(dates.length).fill(null)
    x.dates.forEach((d, i) => { out[index.get(d)!] = x.values[i] ?? null })
    return [x.name, out]
  })
  return { dates, series }
}
