// Time series for charts of the collaboration's data (forecasts, history, consensus, funding):
// pure transforms from API rows to aligned arrays (one date axis, null where a series has no
// value), so every chart of the same data reads the same numbers.

export interface Aligned {
  /** ISO dates (or period labels), sorted. */
  dates: string[]
  /** name -> one value per date (null: no value). */
  series: Map<string, (number | null)[]>
}

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null
  const n = typeof v === 'number' ? v : Number(v)
  return Number.isFinite(n) ? n : null
}

/** Rows of (series, date, value) as one aligned series per name; values of the same series and
 *  date are summed. Dates sort as text (ISO dates sort in time order). */
export function pivot<R>(rows: R[], name: (r: R) => string, date: (r: R) => string, value: (r: R) => unknown): Aligned {
  const dates = [...new Set(rows.map(date))].sort()
  const index = new Map(dates.map((d, i) => [d, i]))
  const series = new Map<string, (number | null)[]>()
  for (const r of rows) {
    const n = name(r)
    let arr = series.get(n)
    if (!arr) {
      arr = new Array<number | null>(dates.length).fill(null)
      series.set(n, arr)
    }
    const v = num(value(r))
    if (v === null) continue
    const i = index.get(date(r))!
    arr[i] = (arr[i] ?? 0) + v
  }
  return { dates, series: new Map([...series.entries()].sort((a, b) => a[0].localeCompare(b[0]))) }
}

export interface HistoryPoint { date: string; quantity: number }
export interface QuantileRow { ds: string; p10?: number | null; p50?: number | null; p90?: number | null; value?: number | null }

export interface ForecastBand {
  dates: string[]
  history: (number | null)[]
  p50: (number | null)[]
  /** The band's invisible base (p10) and its height (p90 - p10), for a stacked area. */
  bandBase: (number | null)[]
  bandHeight: (number | null)[]
  p10: (number | null)[]
  p90: (number | null)[]
  /** Index of the first forecast date (the history ends before it). */
  firstForecast: number
}

/** A series' history and its forecast on one date axis: the P10–P90 band as a base and a height
 *  (for a stacked area), the median as a line; the last history point is repeated at the start
 *  of the forecast line so that the two lines meet. */
export function forecastBand(history: HistoryPoint[], forecast: QuantileRow[]): ForecastBand {
  const h = new Map(history.map((p) => [p.date, p.quantity]))
  const f = new Map(forecast.map((r) => [r.ds, r]))
  const dates = [...new Set([...h.keys(), ...f.keys()])].sort()
  const firstForecast = dates.findIndex((d) => f.has(d))
  const out: ForecastBand = { dates, history: [], p50: [], bandBase: [], bandHeight: [], p10: [], p90: [], firstForecast }
  for (const d of dates) {
    const r = f.get(d)
    const p50 = r ? num(r.p50 ?? r.value) : null
    const p10 = r ? num(r.p10) : null
    const p90 = r ? num(r.p90) : null
    out.history.push(h.has(d) ? num(h.get(d)) : null)
    out.p50.push(p50)
    out.p10.push(p10)
    out.p90.push(p90)
    out.bandBase.push(p10 !== null && p90 !== null ? p10 : null)
    out.bandHeight.push(p10 !== null && p90 !== null ? Math.max(0, p90 - p10) : null)
  }
  // the median line starts at the last observed value, so the forecast continues the history
  if (firstForecast > 0) {
    const lastHist = out.history[firstForecast - 1]
    if (lastHist !== null && lastHist !== undefined && out.p50[firstForecast - 1] === null) out.p50[firstForecast - 1] = lastHist
  }
  return out
}

/** How many rows have each value of a key, most frequent first (e.g. a consensus' bases). */
export function countBy<R>(rows: R[], key: (r: R) => string): [string, number][] {
  const m = new Map<string, number>()
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + 1)
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
}
