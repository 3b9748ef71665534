// Invoice money and forms. Expected values are worked by hand from the rules of docs/invoices.md
// (amounts in the currency's decimals, minor units as integers), not from the code under test.
// Checked to fail: toMinor reading "12.5" as 125 (the fraction not padded to the decimals) fails
// 'minor units'; formatAmount through Number() fails the 19-digit case (…567.89 becomes …568.00);
// invoiceRefusal keeping the "row 5 (line 6): " prefix fails 'a refused upload'; plainDecimal
// dropping every comma (as first written) fails on '1,5'.
import { describe, expect, it } from 'vitest'

import type { EventPublic } from '../client/types.gen'
import {
  buyerSteps, decimalsOf, formatAmount, fromMinor, invoiceBody, invoiceListParams, invoiceRefusal, openAfter,
  paymentsOf, plainDecimal, problemsByField, sentLineIndex, settlementBody, toFormPaths, toMinor,
} from './invoices'

describe('minor units', () => {
  it('reads decimals and converts both ways exactly', () => {
    expect(decimalsOf('3502.00')).toBe(2)
    expect(decimalsOf('8')).toBe(0)
    expect(decimalsOf('1.250')).toBe(3)
    expect(toMinor('12.5', 2)).toBe(1250n)
    expect(toMinor('12', 2)).toBe(1200n)
    expect(toMinor('0.05', 2)).toBe(5n)
    expect(toMinor('8', 0)).toBe(8n)
    expect(toMinor('1.2345', 3)).toBeNull() // more decimals than KWD has
    expect(toMinor('-1', 2)).toBeNull()
    expect(toMinor('1e3', 2)).toBeNull()
    expect(toMinor('', 2)).toBeNull()
    // 10^12 KWD less a fils: 10^15 − 1 minor units, beyond a float's exact integers once summed
    expect(toMinor('999999999999.999', 3)).toBe(999_999_999_999_999n)
    expect(fromMinor(1250n, 2)).toBe('12.50')
    expect(fromMinor(5n, 2)).toBe('0.05')
    expect(fromMinor(0n, 2)).toBe('0.00')
    expect(fromMinor(-5n, 2)).toBe('-0.05')
    expect(fromMinor(8n, 0)).toBe('8')
    expect(fromMinor(9_007_199_254_740_993n, 3)).toBe('9007199254740.993') // 2^53 + 1: a float would say …992
  })

  it('what stays open after a payment', () => {
    // 4,000.00 invoiced, 1,500.10 paid: 2,499.90 open by hand
    expect(openAfter('2499.90', '2499.9')).toEqual({ open: '0.00' })
    expect(openAfter('4000.00', '1500.10')).toEqual({ open: '2499.90' })
    expect(openAfter('100', '150')).toEqual({ open: '-50' }) // JPY: the API answers 409, the form shows it before
    expect(openAfter('10.00', '1.005')).toEqual({ problem: 'at most 2 decimals' })
    expect(openAfter('10.00', 'ten')).toEqual({ problem: 'not an amount' })
  })
})

describe('formatAmount', () => {
  it('shows every decimal of the currency and groups thousands', () => {
    expect(formatAmount('3502.00', 'EUR')).toBe('€3,502.00')
    expect(formatAmount('0.50', 'USD')).toBe('$0.50')
    expect(formatAmount('8', 'JPY')).toBe('¥8')
    expect(formatAmount('1234.500', 'KWD')).toMatch(/^KWD\s1,234\.500$/)
    expect(formatAmount('999999999999.999', 'KWD')).toMatch(/^KWD\s999,999,999,999\.999$/)
    // the decimal text itself is formatted: 19 significant digits, more than a float holds
    expect(formatAmount('12345678901234567.89', 'EUR')).toBe('€12,345,678,901,234,567.89')
    expect(formatAmount(null, 'EUR')).toBe('—')
  })
})

const event = (seq: number, kind: string, payload: Record<string, unknown>): EventPublic => ({
  id: seq, seq, kind, actor: 'buyer-user', actor_partner_id: 'shops', at: `2027-01-0${seq}T10:00:00Z`, payload, prev_hash: '0', hash: String(seq),
})

describe('paymentsOf', () => {
  it('lists the settlement events in the invoice decimals', () => {
    const events = [
      event(1, 'recorded', { total_minor: 400000 }),
      event(2, 'confirmed', { status: 'confirmed' }),
      event(3, 'settlement', { amount_minor: 150010, paid_on: '2027-02-01', reference: 'T-1', settled_minor: 150010, status: 'confirmed' }),
      event(4, 'settlement', { amount_minor: 249990, paid_on: '2027-02-15', reference: '', settled_minor: 400000, status: 'settled' }),
    ]
    const p = paymentsOf(events, '4000.00')
    expect(p.map((x) => [x.seq, x.amount, x.paidOn, x.reference, x.paidSoFar, x.status])).toEqual([
      [3, '1500.10', '2027-02-01', 'T-1', '1500.10', 'confirmed'],
      [4, '2499.90', '2027-02-15', '', '4000.00', 'settled'],
    ])
    expect(paymentsOf(events.slice(0, 2), '4000.00')).toEqual([])
  })
})

describe('the invoice form', () => {
  const draft = {
    number: '  INV-7 ', buyer_id: ' shops ', issue_date: '2027-01-31', due_date: '2027-03-02', currency: 'eur',
    lines: [
      { product: 'widget', quantity: '1,000', unit_price: ' 35.005 ' },
      { product: '', quantity: '', unit_price: '' },
      { product: 'gadget', quantity: 'x', unit_price: '50' },
    ],
  }

  it('sends the typed decimals as strings, drops empty lines', () => {
    expect(invoiceBody(draft)).toEqual({
      number: 'INV-7', buyer_id: 'shops', issue_date: '2027-01-31', due_date: '2027-03-02', currency: 'EUR',
      lines: [{ product: 'widget', quantity: '1000', unit_price: '35.005' }, { product: 'gadget', quantity: 'x', unit_price: '50' }],
    })
    expect(sentLineIndex(draft)).toEqual([0, 2])
  })

  it("puts each of the API's problems on the form's field", () => {
    // the API names the body's line 1: that is the form's line 2 (line 1 was empty, not sent)
    const api = [
      { field: 'body.lines.1.quantity', msg: 'Input should be a valid decimal' },
      { field: 'body.buyer_id', msg: "unknown partner 'shop'" },
      { field: 'body.lines', msg: 'the total is 0' },
      { field: 'body.extra', msg: 'Extra inputs are not permitted' },
    ]
    const inputs = new Set(['number', 'buyer_id', 'lines.0.quantity', 'lines.2.quantity', 'lines.2.product'])
    const { byField, rest } = problemsByField(toFormPaths(api, sentLineIndex(draft)), (p) => inputs.has(p))
    expect([...byField.entries()]).toEqual([['lines.2.quantity', ['Input should be a valid decimal']], ['buyer_id', ["unknown partner 'shop'"]]])
    expect(rest).toEqual([{ field: 'lines', msg: 'the total is 0' }, { field: 'extra', msg: 'Extra inputs are not permitted' }])
  })

  it('a payment body', () => {
    expect(settlementBody(' 1,500.10 ', '2027-02-01', ' T-1 ')).toEqual({ amount: '1500.10', paid_on: '2027-02-01', reference: 'T-1' })
  })

  it('drops only separators that group thousands', () => {
    expect(plainDecimal('1,234,567.5')).toBe('1234567.5')
    expect(plainDecimal('12')).toBe('12')
    expect(plainDecimal('1,5')).toBe('1,5') // a decimal comma: left for the API to refuse, not read as 15
    expect(plainDecimal('12,34.5')).toBe('12,34.5')
  })
})

describe('a refused upload', () => {
  it('groups the cells by row, with the row text and line of the file', () => {
    const csv = 'number,buyer_id,issue_date,due_date,currency,product,quantity,unit_price\n'
      + 'U-1,shops,2027-01-01,2027-02-01,EUR,widget,10,5\n'
      + 'U-1,maker,2027-01-01,2027-02-01,EUR,gadget,-1,5\n'
      + '\n'
      + 'U-2,shops,2027-01-01,2026-12-01,EUR,widget,1,1\n'
    const refusal = invoiceRefusal([
      { field: 'body.rows.2.buyer_id', msg: "row 2 (line 3): maker differs from row 1 of invoice 'U-1' (shops)" },
      { field: 'body.rows.2.quantity', msg: 'row 2 (line 3): Input should be greater than 0' },
      { field: 'body.rows.3.due_date', msg: 'row 3 (line 4): 2026-12-01 is before the issue date 2027-01-01' },
      { field: 'body', msg: '... and 4 more problems' },
    ], csv)
    expect(refusal.rows.map((r) => [r.row, r.line, r.text, r.reasons])).toEqual([
      [2, 3, 'U-1,maker,2027-01-01,2027-02-01,EUR,gadget,-1,5', [
        { column: 'buyer_id', reason: "maker differs from row 1 of invoice 'U-1' (shops)" },
        { column: 'quantity', reason: 'Input should be greater than 0' }]],
      // the blank line is skipped, as the API's reader does: row 3 is line 5
      [3, 5, 'U-2,shops,2027-01-01,2026-12-01,EUR,widget,1,1', [{ column: 'due_date', reason: '2026-12-01 is before the issue date 2027-01-01' }]],
    ])
    expect(refusal.general).toEqual([{ column: '', reason: '... and 4 more problems' }])
    expect(invoiceRefusal([{ field: 'body.unit_price', msg: 'required column missing' }]).general)
      .toEqual([{ column: 'unit_price', reason: 'required column missing' }])
  })
})

describe('the list filters', () => {
  it("are GET /invoices's query", () => {
    expect(invoiceListParams({ side: 'sales', buyer: 'shops', seller: 'ignored', status: 'confirmed' }, 'wholesale'))
      .toEqual({ seller_id: 'wholesale', buyer_id: 'shops', status: 'confirmed' })
    expect(invoiceListParams({ side: 'purchases', seller: 'maker', due_before: '2027-03-01' }, 'wholesale'))
      .toEqual({ buyer_id: 'wholesale', seller_id: 'maker', due_before: '2027-03-01' })
    expect(invoiceListParams({ seller: 'maker', buyer: 'shops', status: 'paid' }, null)).toEqual({ seller_id: 'maker', buyer_id: 'shops' })
    expect(invoiceListParams({}, 'wholesale')).toEqual({})
  })

  it("the buyer's steps follow the API's transitions", () => {
    expect(buyerSteps('recorded')).toEqual({ confirm: true, dispute: true, pay: false })
    expect(buyerSteps('confirmed')).toEqual({ confirm: false, dispute: false, pay: true })
    expect(buyerSteps('disputed')).toEqual({ confirm: false, dispute: false, pay: false })
    expect(buyerSteps('settled')).toEqual({ confirm: false, dispute: false, pay: false })
  })
})
