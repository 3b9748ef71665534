// Invoices between partners (api/routes/invoices.py, docs/invoices.md) as the workbench shows
// and sends them. Money stays exact: the API gives amounts as decimal strings with exactly the
// currency's decimals ("3502.00" EUR, "8" JPY, "1.250" KWD), so a string's own decimals are its
// currency's, and sums are done in integers of the minor unit (BigInt), never in floats.
import type { FieldProblem } from '../api/errors'
import { fieldLabel } from '../api/errors'
import type { EventPublic, InvoiceCreate, SettlementCreate } from '../client/types.gen'
import { LOCALE } from './format'
import type { Refusal, RefusedRow, RowReason } from './refusals'
import { csvRecords } from './refusals'

export const INVOICE_STATUSES = ['recorded', 'confirmed', 'disputed', 'settled'] as const
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number]

const DECIMAL = /^(\d+)(?:\.(\d+))?$/

/** Decimals of an API amount ("3502.00" → 2, "8" → 0): its currency's minor-unit exponent. */
export function decimalsOf(amount: string): number {
  const m = DECIMAL.exec(amount.trim())
  return m?.[2]?.length ?? 0
}

/** A decimal text in minor units of a currency with `decimals` decimals ("12.5", 2 → 1250n);
 *  null when it is not a plain non-negative decimal or has more decimals than the currency. */
export function toMinor(text: string, decimals: number): bigint | null {
  const m = DECIMAL.exec(text.trim())
  if (!m) return null
  const frac = m[2] ?? ''
  if (frac.length > decimals) return null
  return BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0')
}

/** Minor units as a decimal text with `decimals` decimals (1250n, 2 → "12.50"; -5n, 2 → "-0.05"). */
export function fromMinor(minor: bigint, decimals: number): string {
  const sign = minor < 0n ? '-' : ''
  const abs = minor < 0n ? -minor : minor
  if (decimals === 0) return `${sign}${abs}`
  const scale = 10n ** BigInt(decimals)
  return `${sign}${abs / scale}.${(abs % scale).toString().padStart(decimals, '0')}`
}

const formats = new Map<string, Intl.NumberFormat>()

/** An API amount in its currency, every digit kept ("1234567.50", "EUR" → "€1,234,567.50";
 *  "8", "JPY" → "¥8"; an unknown code after the number). Intl formats the decimal string
 *  itself: no float in between, whatever the number of digits. */
export function formatAmount(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined || !DECIMAL.test(amount.replace(/^-/, ''))) return amount ?? '—'
  const d = decimalsOf(amount.replace(/^-/, ''))
  const key = `${currency}:${d}`
  let f = formats.get(key)
  if (!f) {
    try {
      f = new Intl.NumberFormat(LOCALE, { style: 'currency', currency, minimumFractionDigits: d, maximumFractionDigits: d })
    } catch {
      f = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: d, maximumFractionDigits: d })
    }
    formats.set(key, f)
  }
  const text = f.format(amount as Intl.StringNumericLiteral)
  return f.resolvedOptions().style === 'currency' ? text : `${text} ${currency}`
}

/** A payment of an invoice, from its `settlement` event. */
export interface Payment { seq: number; at: string; paidOn: string; amount: string; reference: string; paidSoFar: string; status: string; actor: string | null }

/** The payments of an invoice from its events (oldest first), amounts in the total's decimals. */
export function paymentsOf(events: EventPublic[], total: string): Payment[] {
  const d = decimalsOf(total)
  return events.filter((e) => e.kind === 'settlement').map((e) => {
    const p = e.payload as { amount_minor?: number; paid_on?: string; reference?: string; settled_minor?: number; status?: string }
    return {
      seq: e.seq, at: e.at, paidOn: p.paid_on ?? '', reference: p.reference ?? '', status: p.status ?? '', actor: e.actor,
      amount: fromMinor(BigInt(p.amount_minor ?? 0), d), paidSoFar: fromMinor(BigInt(p.settled_minor ?? 0), d),
    }
  })
}

/** What would be open after paying `amount` of `open` (both in the invoice's decimals), or why
 *  the amount cannot be read; the API decides (422 for decimals, 409 above what is open). */
export function openAfter(open: string, amount: string): { open: string } | { problem: string } {
  const d = decimalsOf(open)
  const o = toMinor(open, d)
  const a = toMinor(amount, d)
  if (o === null) return { problem: 'unknown open amount' }
  if (a === null) return { problem: /^\s*\d+(\.\d+)?\s*$/.test(amount) ? `at most ${d} decimals` : 'not an amount' }
  return { open: fromMinor(o - a, d) }
}

// ------------------------------------------------------------------------------ the form

export interface LineDraft { product: string; quantity: string; unit_price: string }
export interface InvoiceDraft { number: string; buyer_id: string; issue_date: string; due_date: string; currency: string; lines: LineDraft[] }

export const emptyLine = (): LineDraft => ({ product: '', quantity: '', unit_price: '' })

/** A typed amount as a plain decimal: thousands separators dropped only where they group
 *  thousands ("1,500.10" → "1500.10"); anything else is left as typed for the API to refuse
 *  ("1,5" is not read as 15). */
export function plainDecimal(text: string): string {
  const t = text.trim()
  return /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(t) ? t.replace(/,/g, '') : t
}

/** The body of POST /invoices from the form: texts trimmed, the currency upper-cased, quantities
 *  and prices sent as the decimal strings typed (every digit kept; the API checks them), lines
 *  left wholly empty dropped. */
export function invoiceBody(d: InvoiceDraft): InvoiceCreate {
  return {
    number: d.number.trim(),
    buyer_id: d.buyer_id.trim(),
    issue_date: d.issue_date,
    due_date: d.due_date,
    currency: d.currency.trim().toUpperCase(),
    lines: d.lines
      .filter((l) => l.product.trim() || l.quantity.trim() || l.unit_price.trim())
      .map((l) => ({ product: l.product.trim(), quantity: plainDecimal(l.quantity), unit_price: plainDecimal(l.unit_price) })),
  }
}

/** The body of POST /invoices/{id}/settlements from the form (the amount as a decimal string). */
export function settlementBody(amount: string, paidOn: string, reference: string): SettlementCreate {
  return { amount: plainDecimal(amount), paid_on: paidOn, reference: reference.trim() }
}

/** The API's 422 problems by form field ("lines.0.quantity" → its messages); `rest` holds those
 *  no field of the form shows (the invoice as a whole, unknown fields). `fields` tells the paths
 *  the form has inputs for (after `toFormPaths`). */
export function problemsByField(problems: FieldProblem[], fields: (path: string) => boolean): { byField: Map<string, string[]>; rest: FieldProblem[] } {
  const byField = new Map<string, string[]>()
  const rest: FieldProblem[] = []
  for (const p of problems) {
    const path = fieldLabel(p.field)
    if (fields(path)) byField.set(path, [...(byField.get(path) ?? []), p.msg])
    else rest.push({ field: path, msg: p.msg })
  }
  return { byField, rest }
}

/** Form line index of each body line (the lines `invoiceBody` keeps, in order). */
export function sentLineIndex(d: InvoiceDraft): number[] {
  return d.lines.flatMap((l, i) => (l.product.trim() || l.quantity.trim() || l.unit_price.trim() ? [i] : []))
}

/** Problems of the body's lines renamed to the form's lines ("lines.1.quantity" of the body is
 *  "lines.2.quantity" of the form when the form's line 1 was empty). */
export function toFormPaths(problems: FieldProblem[], sent: number[]): FieldProblem[] {
  return problems.map((p) => {
    const m = /^(body\.)?lines\.(\d+)(\..*)?$/.exec(p.field)
    if (!m) return p
    const form = sent[Number(m[2])]
    return form === undefined ? p : { field: `lines.${form}${m[3] ?? ''}`, msg: p.msg }
  })
}

// ------------------------------------------------------------------------------ uploads

const ROW_PREFIX = /^row \d+ \(line \d+\): /

/** A refused invoice upload (POST /invoices/upload's 422: one entry per bad cell,
 *  `body.rows.<row>.<column>` or `body.rows.<row>`, "row 5 (line 6): ..."; a missing or unknown
 *  column is `body.<column>`) as rows with their reasons and the file's own text. */
export function invoiceRefusal(problems: FieldProblem[], csvText?: string | null): Refusal {
  const records = csvText ? csvRecords(csvText) : null
  const byRow = new Map<number, RowReason[]>()
  const general: RowReason[] = []
  for (const p of problems) {
    const path = fieldLabel(p.field)
    const m = /^rows\.(\d+)(?:\.(.+))?$/.exec(path)
    if (!m) {
      general.push({ column: path === 'body' ? '' : path, reason: p.msg })
      continue
    }
    const row = Number(m[1])
    byRow.set(row, [...(byRow.get(row) ?? []), { column: m[2] ?? '', reason: p.msg.replace(ROW_PREFIX, '') }])
  }
  const rows = [...byRow.entries()].sort((a, b) => a[0] - b[0]).map(([row, reasons]): RefusedRow => {
    const rec = records?.[row]
    return { row, line: rec?.line ?? null, text: rec?.text ?? null, reasons }
  })
  return { rows, general, truncated: [] }
}

// ------------------------------------------------------------------------------ the list

export type InvoiceSide = 'sales' | 'purchases'
export interface InvoiceFilter { side?: InvoiceSide; status?: string; seller?: string; buyer?: string; due_before?: string }
export interface InvoiceListParams { status?: InvoiceStatus; seller_id?: string; buyer_id?: string; due_before?: string }

/** GET /invoices's query for a filter. A partner's sales are those it sells (seller_id = itself,
 *  the buyer filter narrowing them), its purchases those it buys; staff filter on both parties.
 *  A status the API does not know is dropped rather than sent. */
export function invoiceListParams(f: InvoiceFilter, partner: string | null): InvoiceListParams {
  const out: InvoiceListParams = {}
  if (f.status && (INVOICE_STATUSES as readonly string[]).includes(f.status)) out.status = f.status as InvoiceStatus
  if (partner && f.side === 'sales') {
    out.seller_id = partner
    if (f.buyer) out.buyer_id = f.buyer
  } else if (partner && f.side === 'purchases') {
    out.buyer_id = partner
    if (f.seller) out.seller_id = f.seller
  } else {
    if (f.seller) out.seller_id = f.seller
    if (f.buyer) out.buyer_id = f.buyer
  }
  if (f.due_before) out.due_before = f.due_before
  return out
}

/** What a buyer may do with an invoice in `status` (api.invoices.TRANSITIONS). */
export function buyerSteps(status: string): { confirm: boolean; dispute: boolean; pay: boolean } {
  return { confirm: status === 'recorded', dispute: status === 'recorded', pay: status === 'confirmed' }
}

/** A hash shortened for a table ("5a48dc2d…"). */
export const shortHash = (h: string) => (h.length > 12 ? `${h.slice(0, 10)}…` : h)
