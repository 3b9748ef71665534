// Financing on confirmed invoices (docs/financing.md) and a plan's funding at risk
// (docs/finance.md): what the views show, from the API's answers. Amounts stay the API's decimal
// strings and are summed in BigInt minor units (lib/invoices.ts), never through floats.
import type { CheckPublic, ItemPublic, ProgrammeCreate, RequestPublic } from '../client/types.gen'
import { decimalsOf, fromMinor, plainDecimal, toMinor } from './invoices'

/** The rules of a request, in the order docs/financing.md lists them. */
export const RULES = ['confirmed', 'currency', 'buyer', 'not_past_due', 'not_financed', 'days_to_due', 'age',
  'supplier_limit', 'programme_limit', 'concentration', 'auto_ceiling'] as const

const RULE_TEXT: Record<string, string> = {
  confirmed: 'Confirmed by the buyer', currency: 'Programme currency', buyer: "Programme's buyer",
  not_past_due: 'Not past due', not_financed: 'Not financed elsewhere', days_to_due: 'Days to due date',
  age: 'Invoice age', supplier_limit: 'Supplier limit', programme_limit: 'Programme limit',
  concentration: 'Buyer concentration', auto_ceiling: 'Automatic decision ceiling',
}
export const ruleText = (rule: string) => RULE_TEXT[rule] ?? rule

/** A request's checks: the failed ones first (hard before soft), then the passed, each group in
 *  the rules' order and by invoice. */
export function orderedChecks(checks: CheckPublic[]): CheckPublic[] {
  const rank = (c: CheckPublic) => (c.passed ? 2 : c.hard ? 0 : 1)
  const pos = (r: string) => { const i = (RULES as readonly string[]).indexOf(r); return i < 0 ? RULES.length : i }
  return [...checks].sort((a, b) => rank(a) - rank(b) || pos(a.rule) - pos(b.rule) || (a.invoice_id ?? 0) - (b.invoice_id ?? 0))
}

/** The failed checks of a request (what finance reads in its inbox). */
export const failedChecks = (checks: CheckPublic[]) => orderedChecks(checks).filter((c) => !c.passed)

export type ItemMoney = 'face' | 'advance' | 'discount' | 'fee' | 'net' | 'repaid' | 'interest' | 'outstanding'

/** Sum of decimal strings of one currency, exact (the decimals of the longest one). */
export function sumAmounts(amounts: string[]): string {
  const d = Math.max(0, ...amounts.map(decimalsOf))
  let total = 0n
  for (const a of amounts) {
    const neg = a.startsWith('-')
    const m = toMinor(neg ? a.slice(1) : a, d)
    if (m === null) throw new Error(`not an amount: ${a}`)
    total += neg ? -m : m
  }
  return fromMinor(total, d)
}

/** A request's items summed per amount (the decision's totals: advance, discount, fee, net …). */
export function itemTotals(items: ItemPublic[]): Record<ItemMoney, string> {
  const keys: ItemMoney[] = ['face', 'advance', 'discount', 'fee', 'net', 'repaid', 'interest', 'outstanding']
  return Object.fromEntries(keys.map((k) => [k, sumAmounts(items.map((i) => i[k]))])) as Record<ItemMoney, string>
}

/** The credit limit behind a decision or a limit answer: its amount basis and the rule's steps. */
export interface CreditExplained { basis: string; steps: string[]; override: { comment: string; set_at: string } | null }

export function creditExplained(credit: RequestPublic['credit_limit'] | null | undefined): CreditExplained {
  const c = (credit ?? {}) as Record<string, any>
  const rule = (c.rule ?? c) as Record<string, any>
  const steps = Array.isArray(rule.steps) ? rule.steps.filter((s: unknown): s is string => typeof s === 'string') : []
  const o = c.override
  return {
    basis: typeof c.basis === 'string' ? c.basis : '',
    steps,
    override: o && typeof o === 'object' ? { comment: String(o.comment ?? ''), set_at: String(o.set_at ?? '') } : null,
  }
}

/** Outstanding and repaid per currency of a supplier's advances (its Financing page). */
export function advanceTotals(advances: { currency: string; advance: string; outstanding: string; status: string }[]):
  { currency: string; advanced: string; outstanding: string; repaid: string; count: number }[] {
  const by = new Map<string, { adv: string[]; out: string[]; n: number }>()
  for (const a of advances) {
    const g = by.get(a.currency) ?? { adv: [], out: [], n: 0 }
    g.adv.push(a.advance); g.out.push(a.outstanding); g.n += 1
    by.set(a.currency, g)
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, g]) => {
    const advanced = sumAmounts(g.adv)
    const outstanding = sumAmounts(g.out)
    return { currency, advanced, outstanding, repaid: sumAmounts([advanced, `-${outstanding}`]), count: g.n }
  })
}

/** Ledger balances (currency → account → amount, Σ received − Σ given) as rows. */
export function balanceRows(balances: Record<string, Record<string, string>>): { account: string; currency: string; balance: string }[] {
  const rows = Object.entries(balances).flatMap(([currency, accounts]) =>
    Object.entries(accounts).map(([account, balance]) => ({ account, currency, balance })))
  return rows.sort((a, b) => a.currency.localeCompare(b.currency) || a.account.localeCompare(b.account))
}

// ------------------------------------------------------------------------------ programmes

export interface ProgrammeDraft {
  name: string
  source: 'terms' | 'scenario'
  kind: 'factoring' | 'reverse_factoring' | 'receivables_line'
  currency: string
  buyer_id: string
  advance_rate: string
  rate: string
  day_count: 'actual/360' | 'actual/365'
  fee_rate: string
  max_invoice_age_days: string
  min_days_to_due: string
  buyer_concentration_limit: string
  programme_limit: string
  default_supplier_limit: string
  auto_decision_ceiling: string
  scenario_id: string
  scenario_version: string
  partner: string
  instrument_id: string
}

export const emptyProgramme = (): ProgrammeDraft => ({
  name: '', source: 'terms', kind: 'factoring', currency: 'EUR', buyer_id: '', advance_rate: '0.9', rate: '0.06',
  day_count: 'actual/360', fee_rate: '0', max_invoice_age_days: '', min_days_to_due: '0', buyer_concentration_limit: '',
  programme_limit: '', default_supplier_limit: '', auto_decision_ceiling: '', scenario_id: '', scenario_version: '',
  partner: '', instrument_id: '',
})

/** The body of POST /financing-programmes from the form: empty optional fields left out (the
 *  API's defaults), decimals sent as the strings typed (thousands separators dropped, lib/invoices plainDecimal), whole numbers as integers
 *  when they are (else as typed, for the API to name the field). From a scenario, only the
 *  eligibility and limits go beside `from_scenario` (the terms come from the instrument). */
export function programmeBody(d: ProgrammeDraft): ProgrammeCreate {
  const dec = (s: string) => (s.trim() ? plainDecimal(s.trim()) : undefined)
  const int = (s: string): number | undefined => {
    const t = s.trim()
    if (!t) return undefined
    return /^\d+$/.test(t) ? Number(t) : (t as unknown as number)
  }
  const body: Record<string, unknown> = {
    name: d.name.trim(),
    max_invoice_age_days: int(d.max_invoice_age_days),
    min_days_to_due: int(d.min_days_to_due),
    buyer_concentration_limit: dec(d.buyer_concentration_limit),
    programme_limit: dec(d.programme_limit),
    default_supplier_limit: dec(d.default_supplier_limit),
    auto_decision_ceiling: dec(d.auto_decision_ceiling),
  }
  if (d.source === 'scenario') {
    body.from_scenario = {
      scenario_id: int(d.scenario_id), partner: d.partner.trim(), instrument_id: d.instrument_id.trim(),
      ...(d.scenario_version.trim() ? { version: int(d.scenario_version) } : {}),
    }
  } else {
    Object.assign(body, {
      kind: d.kind, currency: d.currency.trim().toUpperCase(), buyer_id: d.buyer_id.trim() || undefined,
      advance_rate: dec(d.advance_rate), rate: dec(d.rate), day_count: d.day_count, fee_rate: dec(d.fee_rate),
    })
  }
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as unknown as ProgrammeCreate
}

// ------------------------------------------------------------------------------ funding at risk

export interface AtRiskPartnerRow {
  partner: string
  peak_need_p50: number | null
  peak_need_p90: number | null
  peak_need_p95: number | null
  point_peak_need: number | null
  probability_lines_not_enough: number | null
  expected_financing_cost: number | null
  point_financing_cost: number | null
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

/** The per-partner table of a finished run (its `partners` rows, as the API gives them). */
export function atRiskPartners(partners: Record<string, unknown>[] | null | undefined): AtRiskPartnerRow[] {
  return (partners ?? []).map((r) => ({
    partner: String(r.partner ?? ''),
    peak_need_p50: num(r.peak_need_p50), peak_need_p90: num(r.peak_need_p90), peak_need_p95: num(r.peak_need_p95),
    point_peak_need: num(r.point_peak_need),
    probability_lines_not_enough: num(r.probability_lines_not_enough),
    expected_financing_cost: num(r.expected_financing_cost), point_financing_cost: num(r.point_financing_cost),
  }))
}

export const FAN = [5, 10, 50, 90, 95] as const

/** One partner's fan of cash before financing, per period: the P5..P95 quantiles, and the
 *  stacked bands a chart draws (base P5, then P5→P10, P10→P90, P90→P95 widths; their running
 *  sums are the quantiles again). */
export function cashFan(periods: Record<string, unknown>[] | null | undefined, partner: string) {
  const rows = (periods ?? []).filter((r) => r.partner === partner)
    .sort((a, b) => Number(a.period) - Number(b.period))
  const q = (p: number) => rows.map((r) => num(r[`cash_before_financing_p${p}`]))
  const [p5, p10, p50, p90, p95] = FAN.map(q) as [(number | null)[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]]
  const width = (hi: (number | null)[], lo: (number | null)[]) => hi.map((h, i) => (h === null || lo[i] === null ? null : h - lo[i]!))
  return {
    dates: rows.map((r) => (typeof r.date === 'string' ? r.date : String(r.period))),
    p5, p10, p50, p90, p95,
    bands: { base: p5, low: width(p10, p5), mid: width(p90, p10), high: width(p95, p90) },
  }
}

/** Body of POST /plans/{id}/at-risk from the form: blanks left to the API's defaults. */
export interface AtRiskDraft { scenarios: string; seed: string; source: 'cv' | 'consensus'; cv: string; consensus_version: string; correlation: string; frozen_periods: string }

export const emptyAtRisk = (): AtRiskDraft => ({ scenarios: '200', seed: '0', source: 'cv', cv: '0.2', consensus_version: '', correlation: '0', frozen_periods: '' })

/** Numbers as numbers; anything else sent as typed, for the API to name the field (422). */
export function atRiskBody(d: AtRiskDraft): Record<string, number | string> {
  const n = (s: string): number | string | undefined => {
    const t = plainDecimal(s.trim())
    return t === '' ? undefined : /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t
  }
  const body: Record<string, number | string | undefined> = {
    scenarios: n(d.scenarios), seed: n(d.seed), correlation: n(d.correlation), frozen_periods: n(d.frozen_periods),
    ...(d.source === 'cv' ? { cv: n(d.cv) } : { consensus_version: n(d.consensus_version) }),
  }
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as Record<string, number | string>
}
