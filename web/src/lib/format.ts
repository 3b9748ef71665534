// Number, money and date formatting for the whole app: one place, one locale, so a figure reads
// the same on every page (and an end-to-end test can format an API value the way the page does).
// Missing values (null, undefined, NaN) read as an em dash, never as 0.

export const LOCALE = 'en-US'
export const MISSING = '—'

type Num = number | null | undefined

const cache = new Map<string, Intl.NumberFormat>()
function numberFormat(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let f = cache.get(key)
  if (!f) {
    f = new Intl.NumberFormat(LOCALE, options)
    cache.set(key, f)
  }
  return f
}

function missing(x: Num): x is null | undefined {
  return x === null || x === undefined || Number.isNaN(x)
}

/** Normalise -0 (and values that round to it) so that no "-0" is ever shown. */
function noNegativeZero(x: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(x * scale) === 0 ? 0 : x
}

/** 1234567.8 → "1,234,568" (digits: decimals shown, default 0). */
export function formatNumber(x: Num, digits = 0): string {
  if (missing(x)) return MISSING
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞'
  return numberFormat(`n${digits}`, { minimumFractionDigits: digits, maximumFractionDigits: digits })
    .format(noNegativeZero(x, digits))
}

/** Amount of money in a currency (ISO 4217 code): 1848520 → "€1,848,520". An unknown code
 *  is written after the number ("1,848,520 XYZ"); no code gives a plain number. */
export function formatMoney(x: Num, currency?: string | null, digits = 0): string {
  if (missing(x)) return MISSING
  if (!currency) return formatNumber(x, digits)
  if (!Number.isFinite(x)) return `${formatNumber(x)} ${currency}`
  try {
    return numberFormat(`c${currency}${digits}`, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(noNegativeZero(x, digits))
  } catch {
    return `${formatNumber(x, digits)} ${currency}`
  }
}

/** A share: 0.98062 → "98.1%" (digits: decimals of the percentage). */
export function formatPercent(x: Num, digits = 1): string {
  if (missing(x)) return MISSING
  return numberFormat(`p${digits}`, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits })
    .format(noNegativeZero(x, digits + 2))
}

/** Short axis labels: 1250000 → "1.25M", 35000 → "35K", -68851 → "-68.9K". */
export function formatCompact(x: Num): string {
  if (missing(x)) return MISSING
  return numberFormat('compact', { notation: 'compact', maximumSignificantDigits: 3 }).format(noNegativeZero(x, 6))
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Parse the API's dates and timestamps. A timestamp without a zone is UTC (the API stores UTC). */
export function parseApiDate(value: string | null | undefined): Date | null {
  if (!value) return null
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value)
  const d = new Date(dateOnly ? `${value}T00:00:00Z` : zoned ? value : `${value}Z`)
  return Number.isNaN(d.getTime()) ? null : d
}

/** A calendar date: "2027-01-01" → "1 Jan 2027" (read as UTC: never shifted by the browser's zone). */
export function formatDate(value: string | null | undefined): string {
  const d = parseApiDate(value)
  if (!d) return MISSING
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`
}

/** A period's label on a chart axis: "2027-01-01" → "Jan 2027" (monthly), else the date. */
export function formatPeriod(value: string | null | undefined, freq: string = 'monthly'): string {
  const d = parseApiDate(value)
  if (!d) return MISSING
  if (freq === 'monthly') return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`
  return formatDate(value)
}

/** A moment: "2026-12-03T14:05:09.12" → "3 Dec 2026, 14:05 UTC". */
export function formatDateTime(value: string | null | undefined): string {
  const d = parseApiDate(value)
  if (!d) return MISSING
  const hh = String(d.getUTCHours()).padStart(2, '0')
  const mm = String(d.getUTCMinutes()).padStart(2, '0')
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hh}:${mm} UTC`
}

/** Seconds as people read them: 0.42 → "0.42 s", 75 → "1 min 15 s", 3725 → "1 h 2 min". */
export function formatDuration(seconds: Num): string {
  if (missing(seconds)) return MISSING
  if (seconds < 10) return `${formatNumber(seconds, 2)} s`
  if (seconds < 60) return `${formatNumber(seconds, 0)} s`
  const total = Math.round(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`
}

/** snake_case keys as labels: "funding_gap_cost" → "Funding gap cost". */
export function humanize(key: string): string {
  const words = key.replace(/_/g, ' ').trim()
  return words ? words[0]!.toUpperCase() + words.slice(1) : words
}

/** The date a period starts on: period 0 is the horizon's start; monthly or weekly buckets. */
export function periodStart(start: string | null | undefined, freq: string, period: number): string | null {
  const d = parseApiDate(start)
  if (!d || !Number.isInteger(period)) return null
  if (freq === 'weekly') d.setUTCDate(d.getUTCDate() + 7 * period)
  else d.setUTCMonth(d.getUTCMonth() + period)
  return d.toISOString().slice(0, 10)
}

/** A random key (e.g. an Idempotency-Key): 32 hex digits (crypto.getRandomValues works on plain
 *  http too, where crypto.randomUUID does not). */
export function randomKey(): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
