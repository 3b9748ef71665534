import { describe, expect, it } from 'vitest'

import {
  formatCompact,
  formatDate,
  formatDateTime,
  formatDuration,
  formatMoney,
  formatNumber,
  formatPercent,
  formatPeriod,
  humanize,
  MISSING,
  parseApiDate,
  periodStart,
} from './format'

describe('formatNumber', () => {
  it('groups thousands and rounds', () => {
    expect(formatNumber(1234567.8)).toBe('1,234,568')
    expect(formatNumber(1234.5678, 2)).toBe('1,234.57')
    expect(formatNumber(0)).toBe('0')
  })
  it('never shows minus zero', () => {
    expect(formatNumber(-0)).toBe('0')
    expect(formatNumber(-0.0004, 2)).toBe('0.00')
    expect(formatNumber(-0.4)).toBe('0')
    expect(formatNumber(-0.6)).toBe('-1')
  })
  it('shows missing values as a dash, not zero', () => {
    expect(formatNumber(null)).toBe(MISSING)
    expect(formatNumber(undefined)).toBe(MISSING)
    expect(formatNumber(Number.NaN)).toBe(MISSING)
  })
})

describe('formatMoney', () => {
  it('writes the currency symbol with thousands separators', () => {
    expect(formatMoney(1848520, 'EUR')).toBe('€1,848,520')
    expect(formatMoney(765417.8439, 'EUR')).toBe('€765,418')
    expect(formatMoney(-68851.03, 'EUR')).toBe('-€68,851')
    expect(formatMoney(19.2598, 'USD', 2)).toBe('$19.26')
  })
  it('falls back to the code for an unknown currency and to a number without one', () => {
    expect(formatMoney(1500, 'XYZ1')).toBe('1,500 XYZ1')
    expect(formatMoney(1500, undefined)).toBe('1,500')
    expect(formatMoney(null, 'EUR')).toBe(MISSING)
  })
})

describe('formatPercent and formatCompact', () => {
  it('percent of a share', () => {
    expect(formatPercent(0.9806169806)).toBe('98.1%')
    expect(formatPercent(1)).toBe('100.0%')
    expect(formatPercent(0.5, 0)).toBe('50%')
  })
  it('compact axis labels', () => {
    expect(formatCompact(1250000)).toBe('1.25M')
    expect(formatCompact(35000)).toBe('35K')
    expect(formatCompact(-68851)).toBe('-68.9K')
    expect(formatCompact(0)).toBe('0')
  })
})

describe('dates', () => {
  it('reads dates and naive timestamps as UTC', () => {
    expect(parseApiDate('2027-01-01')?.toISOString()).toBe('2027-01-01T00:00:00.000Z')
    expect(parseApiDate('2026-12-03T14:05:09.123456')?.toISOString()).toBe('2026-12-03T14:05:09.123Z')
    expect(parseApiDate('2026-12-03T14:05:09+01:00')?.toISOString()).toBe('2026-12-03T13:05:09.000Z')
    expect(parseApiDate('not a date')).toBeNull()
    expect(parseApiDate(null)).toBeNull()
  })
  it('formats calendar dates, periods and moments', () => {
    expect(formatDate('2027-01-01')).toBe('1 Jan 2027')
    expect(formatDate('2027-12-31')).toBe('31 Dec 2027')
    expect(formatPeriod('2027-03-01')).toBe('Mar 2027')
    expect(formatPeriod('2027-03-08', 'weekly')).toBe('8 Mar 2027')
    expect(formatDateTime('2026-12-03T04:05:09')).toBe('3 Dec 2026, 04:05 UTC')
    expect(formatDate(undefined)).toBe(MISSING)
  })
})

describe('formatDuration and humanize', () => {
  it('durations', () => {
    expect(formatDuration(0.4213)).toBe('0.42 s')
    expect(formatDuration(42)).toBe('42 s')
    expect(formatDuration(75)).toBe('1 min 15 s')
    expect(formatDuration(3725)).toBe('1 h 2 min')
  })
  it('labels from keys', () => {
    expect(humanize('funding_gap_cost')).toBe('Funding gap cost')
    expect(humanize('')).toBe('')
  })
})

describe('periodStart', () => {
  it('counts monthly and weekly buckets from the start', () => {
    expect(periodStart('2027-01-01', 'monthly', 0)).toBe('2027-01-01')
    expect(periodStart('2027-01-01', 'monthly', 13)).toBe('2028-02-01')
    expect(periodStart('2027-01-04', 'weekly', 2)).toBe('2027-01-18')
    expect(periodStart(null, 'monthly', 1)).toBeNull()
  })
})
