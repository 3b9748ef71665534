// Reading a scenario's content (the JSON of `jointplan schema`) for summaries, defensively: a
// version's content is whatever the API stored, so every field is optional here.

export interface PartnerInfo { id: string; name: string; role: string; opening_cash: number | null; min_cash: number | null; collection_lag: number | null; payment_lag: number | null }
export interface ScenarioSummary {
  name: string
  description: string
  currency: string | null
  objective: string
  freq: string
  periods: number | null
  start: string | null
  products: number
  sites: number
  lanes: number
  demandSeries: number
  totalDemand: number | null
  hasFinance: boolean
  partners: PartnerInfo[]
}

type Obj = Record<string, unknown>
const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {})
const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : [])
const str = (x: unknown, d = ''): string => (typeof x === 'string' ? x : x === null || x === undefined ? d : String(x))
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

/** Total of a demand quantity: a number per period, or one number for every period. */
function quantityTotal(q: unknown, periods: number | null): number | null {
  if (Array.isArray(q)) return q.reduce<number>((a, b) => a + (num(b) ?? 0), 0)
  const n = num(q)
  return n !== null && periods !== null ? n * periods : null
}

export function summarize(content: unknown): ScenarioSummary {
  const c = obj(content)
  const time = obj(c.time)
  const periods = num(time.periods)
  const demand = list(c.demand)
  const totals = demand.map((d) => quantityTotal(obj(d).quantity, periods))
  const finance = c.finance
  return {
    name: str(c.name),
    description: str(c.description).trim(),
    currency: typeof c.currency === 'string' && c.currency ? c.currency : null,
    objective: str(c.objective, 'maximize_profit'),
    freq: str(time.freq, 'monthly'),
    periods,
    start: typeof time.start === 'string' ? time.start : null,
    products: list(c.products).length,
    sites: list(c.sites).length,
    lanes: list(c.lanes).length,
    demandSeries: demand.length,
    totalDemand: totals.some((t) => t === null) ? null : totals.reduce<number>((a, b) => a + (b ?? 0), 0),
    hasFinance: !!finance && typeof finance === 'object' && list(obj(finance).partners).length > 0,
    partners: list(c.partners).map((p) => {
      const o = obj(p)
      const terms = obj(o.payment_terms)
      return {
        id: str(o.id), name: str(o.name, str(o.id)), role: str(o.role),
        opening_cash: num(o.opening_cash), min_cash: num(o.min_cash),
        collection_lag: num(terms.collection_lag), payment_lag: num(terms.payment_lag),
      }
    }),
  }
}

/** A copy of the content with every demand quantity multiplied by `factor` (rounded to whole
 *  units, as demand is entered); a quantity given as one number for all periods stays one number. */
export function scaleDemand(content: Record<string, unknown>, factor: number): Record<string, unknown> {
  const scale = (q: unknown): unknown => {
    if (Array.isArray(q)) return q.map(scale)
    return typeof q === 'number' ? Math.round(q * factor) : q
  }
  return {
    ...content,
    demand: list(content.demand).map((d) => {
      const o = obj(d)
      return 'quantity' in o ? { ...o, quantity: scale(o.quantity) } : d
    }),
  }
}

/** A copy of the content with one partner's field set (opening_cash, min_cash, ...). */
export function setPartnerField(content: Record<string, unknown>, partnerId: string, field: string, value: number): Record<string, unknown> {
  return {
    ...content,
    partners: list(content.partners).map((p) => (obj(p).id === partnerId ? { ...obj(p), [field]: value } : p)),
  }
}
