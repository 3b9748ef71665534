// Financing and funding-at-risk logic. Expected values are worked by hand from docs/financing.md
// (the 3,700.00 EUR example: A = 3,330.00, D = 33.30, F = 7.40, net 3,289.30) and from the fan's
// definition, not from the code under test.
// Checked to fail: sumAmounts through Number() fails the 2^53 + 1 case; orderedChecks ranking
// soft failures before hard ones fails 'failed hard rules first'; cashFan not sorting periods
// fails the reordered case; balanceRows reading the API's currency → account map the other way
// round fails 'ledger balances'.
import { describe, expect, it } from 'vitest'

import type { CheckPublic, ItemPublic } from '../client/types.gen'
import {
  advanceTotals, atRiskBody, atRiskPartners, balanceRows, cashFan, creditExplained, emptyAtRisk, emptyProgramme,
  failedChecks, itemTotals, orderedChecks, programmeBody, sumAmounts,
} from './financing'

const item = (over: Partial<ItemPublic>): ItemPublic => ({
  invoice_id: 1, buyer_id: 'R1', due_date: '2026-03-01', status: 'advanced', face: '0.00', advance: '0.00', discount: '0.00',
  fee: '0.00', net: '0.00', repaid: '0.00', interest: '0.00', outstanding: '0.00', ...over,
})

describe('amounts', () => {
  it('sums decimal strings exactly', () => {
    expect(sumAmounts(['3330.00', '33.30', '-0.05'])).toBe('3363.25')
    expect(sumAmounts([])).toBe('0')
    expect(sumAmounts(['8', '2'])).toBe('10')
    // 2^53 + 1 cents: a float would lose the last cent
    expect(sumAmounts(['90071992547409.92', '0.01'])).toBe('90071992547409.93')
    expect(() => sumAmounts(['1e3'])).toThrow()
  })

  it("a request's totals: the docs' example and a second invoice", () => {
    // 3,700.00 EUR at α 0.9, 6 % actual/360, fee 0.2 %, 60 days (docs/financing.md), and 1,000.00
    // at the same terms: A = 900.00, D = round(900 × 0.06 × 60 / 360) = 9.00, F = 2.00, net 889.00
    const t = itemTotals([
      item({ face: '3700.00', advance: '3330.00', discount: '33.30', fee: '7.40', net: '3289.30', outstanding: '3330.00' }),
      item({ invoice_id: 2, face: '1000.00', advance: '900.00', discount: '9.00', fee: '2.00', net: '889.00', outstanding: '900.00' }),
    ])
    expect(t).toMatchObject({ face: '4700.00', advance: '4230.00', discount: '42.30', fee: '9.40', net: '4178.30', outstanding: '4230.00' })
  })

  it("a supplier's advances: outstanding and repaid per currency", () => {
    const rows = advanceTotals([
      { currency: 'EUR', advance: '3330.00', outstanding: '0.00', status: 'repaid' },
      { currency: 'EUR', advance: '900.00', outstanding: '400.00', status: 'advanced' },
      { currency: 'JPY', advance: '8000', outstanding: '8000', status: 'advanced' },
    ])
    expect(rows).toEqual([
      { currency: 'EUR', advanced: '4230.00', outstanding: '400.00', repaid: '3830.00', count: 2 },
      { currency: 'JPY', advanced: '8000', outstanding: '8000', repaid: '0', count: 1 },
    ])
  })

  it('ledger balances: currency → account → balance, as the API keys them', () => {
    expect(balanceRows({ EUR: { supplier: '3289.30', financier: '-3330.00', income: '40.70' } })).toEqual([
      { currency: 'EUR', account: 'financier', balance: '-3330.00' },
      { currency: 'EUR', account: 'income', balance: '40.70' },
      { currency: 'EUR', account: 'supplier', balance: '3289.30' },
    ])
    // and they sum to zero, as the ledger's entries do
    expect(sumAmounts(balanceRows({ EUR: { supplier: '3289.30', financier: '-3330.00', income: '40.70' } }).map((r) => r.balance))).toBe('0.00')
  })
})

describe('rules', () => {
  const c = (rule: string, passed: boolean, hard: boolean, invoice_id: number | null = null): CheckPublic => ({ rule, passed, hard, invoice_id, reason: rule })
  it('failed hard rules first, then soft, then the passed, in the rules order', () => {
    const checks = [c('age', true, false, 1), c('auto_ceiling', false, false), c('supplier_limit', false, true),
      c('confirmed', true, true, 2), c('confirmed', true, true, 1), c('days_to_due', false, false, 1)]
    expect(orderedChecks(checks).map((x) => `${x.rule}${x.invoice_id ?? ''}`)).toEqual(
      ['supplier_limit', 'days_to_due1', 'auto_ceiling', 'confirmed1', 'confirmed2', 'age1'])
    expect(failedChecks(checks).map((x) => x.rule)).toEqual(['supplier_limit', 'days_to_due', 'auto_ceiling'])
  })

  it("the credit limit's basis and steps, from a decision or a limit answer", () => {
    const decision = { amount_minor: 25468, basis: 'the credit rule', rule: { amount_minor: 25468, steps: ['μ = 200.00', 'limit = 254.68'], factors: {} }, override: null }
    expect(creditExplained(decision)).toEqual({ basis: 'the credit rule', steps: ['μ = 200.00', 'limit = 254.68'], override: null })
    expect(creditExplained({ amount_minor: 25468, steps: ['a'], factors: {} }).steps).toEqual(['a'])
    expect(creditExplained(null)).toEqual({ basis: '', steps: [], override: null })
  })
})

describe('forms', () => {
  it('a programme from terms: blanks left to the API, decimals as typed', () => {
    const body = programmeBody({ ...emptyProgramme(), name: ' Spring ', currency: 'eur', programme_limit: '1,000,000.00', fee_rate: '0.002', min_days_to_due: '5' })
    expect(body).toEqual({ name: 'Spring', kind: 'factoring', currency: 'EUR', advance_rate: '0.9', rate: '0.06', day_count: 'actual/360',
      fee_rate: '0.002', min_days_to_due: 5, programme_limit: '1000000.00' })
  })

  it("a programme from a scenario's instrument: no terms beside it", () => {
    const body = programmeBody({ ...emptyProgramme(), name: 'RF', source: 'scenario', scenario_id: '3', partner: 'retailer', instrument_id: 'rf1', auto_decision_ceiling: '5000' })
    expect(body).toEqual({ name: 'RF', min_days_to_due: 0, auto_decision_ceiling: '5000', from_scenario: { scenario_id: 3, partner: 'retailer', instrument_id: 'rf1' } })
  })

  it('funding at risk: numbers as numbers, blanks left out, the rest as typed for the API', () => {
    expect(atRiskBody(emptyAtRisk())).toEqual({ scenarios: 200, seed: 0, correlation: 0, cv: 0.2 })
    expect(atRiskBody({ ...emptyAtRisk(), source: 'consensus', consensus_version: '4', frozen_periods: '2', scenarios: 'lots' }))
      .toEqual({ scenarios: 'lots', seed: 0, correlation: 0, frozen_periods: 2, consensus_version: 4 })
  })
})

describe('funding at risk', () => {
  it("a partner's table keeps the API's figures, missing ones as null", () => {
    expect(atRiskPartners([{ partner: 'dc', peak_need_p50: 10, peak_need_p90: 20, peak_need_p95: 25, point_peak_need: 12,
      probability_lines_not_enough: 0.1, expected_financing_cost: 1.5, point_financing_cost: null }])).toEqual([{ partner: 'dc',
      peak_need_p50: 10, peak_need_p90: 20, peak_need_p95: 25, point_peak_need: 12, probability_lines_not_enough: 0.1,
      expected_financing_cost: 1.5, point_financing_cost: null }])
  })

  it('the fan: quantiles per period in order, the stacked bands summing back to them', () => {
    const row = (period: number, q: [number, number, number, number, number], partner = 'dc') => ({
      partner, period, date: `2026-0${period + 1}-01`, cash_before_financing_p5: q[0], cash_before_financing_p10: q[1],
      cash_before_financing_p50: q[2], cash_before_financing_p90: q[3], cash_before_financing_p95: q[4],
    })
    const fan = cashFan([row(1, [-50, -30, 0, 40, 70]), row(0, [-10, -5, 5, 15, 20]), row(0, [0, 0, 0, 0, 0], 'plant')], 'dc')
    expect(fan.dates).toEqual(['2026-01-01', '2026-02-01'])
    expect(fan.p5).toEqual([-10, -50])
    expect(fan.p50).toEqual([5, 0])
    // base P5, then widths P10−P5, P90−P10, P95−P90 (by hand: period 1: −50, 20, 70, 30)
    expect(fan.bands).toEqual({ base: [-10, -50], low: [5, 20], mid: [20, 70], high: [5, 30] })
    const top = fan.bands.base.map((b, i) => b! + fan.bands.low[i]! + fan.bands.mid[i]! + fan.bands.high[i]!)
    expect(top).toEqual(fan.p95)
  })
})
