import { describe, expect, it } from 'vitest'

import fixture from './fixtures/small_chain_funding.json'
import { fundingCash, fundingTiles, instrumentSeries, type PartnerFundingLike } from './funding'

// small_chain's plan as the job runner sized its funding (scripts/funding_fixture.py)
const [maker, shops] = fixture.partners as unknown as PartnerFundingLike[]
const k = maker!.kpis as Record<string, number>

describe('funding of the manufacturer (it draws on its instruments)', () => {
  it('cash before and after financing per period, on the dates of the plan', () => {
    const c = fundingCash(maker!)
    expect(c.axis.periods).toEqual([...Array(12).keys()])
    expect(c.axis.dates[0]).toBe('2027-01-01')
    // the peak need is the largest gap between the minimum and the cash before financing
    const need = c.minimum.map((m, i) => Math.max(0, m! - c.beforeFinancing[i]!))
    expect(Math.max(...need)).toBeCloseTo(k.peak_funding_need!, 6)
    expect(need.indexOf(Math.max(...need))).toBe(k.peak_funding_need_period)
    // after financing the cash never falls below the minimum (funded)
    c.closing.forEach((x, i) => expect(x!).toBeGreaterThanOrEqual(c.minimum[i]! - 1e-6))
    expect(c.closing[11]).toBeCloseTo(k.ending_cash!, 6)
  })
  it('each instrument: balance and cost per period add up to the KPIs; availability and headroom where there is a base', () => {
    const inst = instrumentSeries(maker!)
    expect(inst.map((i) => i.name)).toEqual(['abl', 'platform', 'rcf', 'scf'])
    const mix = maker!.kpis.instruments as Record<string, { peak_balance: number; interest: number; fees: number }>
    for (const i of inst) {
      expect(i.peakBalance).toBeCloseTo(mix[i.name]!.peak_balance, 6)
      expect(i.totalCost).toBeCloseTo(mix[i.name]!.interest + mix[i.name]!.fees, 6)
    }
    expect(inst.reduce((a, i) => a + i.totalCost, 0)).toBeCloseTo(k.interest! + k.fees!, 6)
    const abl = inst.find((i) => i.name === 'abl')!
    abl.balance.forEach((b, t) => expect(abl.headroom![t]!).toBeCloseTo(abl.availability![t]! - b, 6))
    expect(inst.find((i) => i.name === 'platform')!.availability).toBeNull()
  })
  it('tiles: peak need with its month, DSO/DIO/DPO and the cycle', () => {
    const tiles = fundingTiles(maker!, (p) => `period ${p}`)
    const t = Object.fromEntries(tiles.map((x) => [x.id, x]))
    expect(t.status!.text).toBe('Funded')
    expect(t.peak_funding_need!.text).toBe('€87,410')
    expect(t.peak_funding_need!.note).toBe('in period 1')
    expect(t.days_sales_outstanding!.text).toBe('60.8 days')
    expect(t.cash_conversion_cycle_days!.value).toBeCloseTo(k.days_sales_outstanding! + k.days_inventory_outstanding! - k.days_payables_outstanding!, 9)
    expect(t.peak_shortfall).toBeUndefined()
  })
})

describe('funding of the retailer (no instruments)', () => {
  it('has cash but no instrument series', () => {
    expect(instrumentSeries(shops!)).toEqual([])
    expect(fundingCash(shops!).closing).toHaveLength(12)
  })
})
