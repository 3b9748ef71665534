// ECharts options for the plan's charts, built from the transforms in planCharts.ts. Pure
// functions (no DOM): every axis has a name with its unit, numbers on axes and in tooltips use
// the app's formatting, and colours come from a colour-blind-safe palette (Okabe & Ito).
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts'
import type {
  AriaComponentOption,
  GridComponentOption,
  LegendComponentOption,
  MarkAreaComponentOption,
  TooltipComponentOption,
} from 'echarts/components'
import type { ComposeOption } from 'echarts/core'

import { formatCompact, formatMoney, formatNumber, formatPercent, formatPeriod } from './format'
import type { InventoryVsSafety, PartnerCash, ProductionVsCapacity, Service } from './planCharts'

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | AriaComponentOption | GridComponentOption | LegendComponentOption
  | MarkAreaComponentOption | TooltipComponentOption
>

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000']
/** The "Other (k products)" series of a folded stack (lib/planCharts.ts topSeries): grey, never a product's colour. */
export const OTHER = '#808080'

function productBar(name: string, stack: string, data: number[]): BarSeriesOption {
  return { type: 'bar', name, stack, data, ...(name.startsWith('Other (') ? { color: OTHER } : {}) }
}
const GAP = '#D55E00'
const LIMIT = '#444444'
const AXIS_TEXT = '#333333'

function base(labels: string[], yName: string, yFormatter: (v: number) => string, valueFormatter: (v: number) => string): ChartOption {
  return {
    color: PALETTE,
    grid: { left: 16, right: 24, top: 48, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, type: 'scroll', textStyle: { color: AXIS_TEXT } },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v) => (typeof v === 'number' ? valueFormatter(v) : String(v ?? '—')),
    },
    xAxis: { type: 'category', data: labels, axisLabel: { color: AXIS_TEXT }, name: 'Period', nameLocation: 'middle', nameGap: 28 },
    yAxis: {
      type: 'value', name: yName, nameTextStyle: { color: AXIS_TEXT, align: 'left' },
      axisLabel: { color: AXIS_TEXT, formatter: (v: number) => yFormatter(v) },
    },
  }
}

export function periodLabels(dates: string[], freq = 'monthly'): string[] {
  return dates.map((d) => formatPeriod(d, freq))
}

/** Capacity used (regular time and overtime, stacked) against the regular capacity. */
export function capacityOption(p: ProductionVsCapacity, freq?: string): ChartOption {
  const unit = p.unit
  const option = base(periodLabels(p.axis.dates, freq), `Capacity [${unit}]`, formatCompact, (v) => `${formatNumber(v)} ${unit}`)
  option.series = [
    { type: 'bar', name: 'Used in regular time', stack: 'used', data: p.regularUsed, color: PALETTE[0] },
    { type: 'bar', name: 'Overtime', stack: 'used', data: p.overtime, color: PALETTE[1] },
    { type: 'line', name: 'Regular capacity', data: p.regularCapacity, color: LIMIT, symbol: 'none', step: 'middle',
      lineStyle: { type: 'dashed', width: 2 } },
  ]
  return option
}

/** Units made per product (stacked), and subcontracted units. */
export function productionOption(p: ProductionVsCapacity, freq?: string): ChartOption {
  const option = base(periodLabels(p.axis.dates, freq), 'Production [units]', formatCompact, (v) => `${formatNumber(v)} units`)
  const series: (BarSeriesOption | LineSeriesOption)[] = [...p.production.entries()].map(([product, values]) => productBar(product, 'made', values))
  if (p.subcontracting.some((v) => v > 0)) series.push({ type: 'bar', name: 'Subcontracted', stack: 'made', data: p.subcontracting, color: PALETTE[5] })
  option.series = series
  return option
}

/** A site's closing inventory per product (stacked) against its safety stock. */
export function inventoryOption(inv: InventoryVsSafety, freq?: string): ChartOption {
  const option = base(periodLabels(inv.axis.dates, freq), 'Inventory [units]', formatCompact, (v) => `${formatNumber(v)} units`)
  const series: (BarSeriesOption | LineSeriesOption)[] = [...inv.byProduct.entries()].map(([product, values]) => productBar(product, 'inv', values))
  if (inv.shortfall.some((v) => v > 1e-9)) {
    // the shortfall stacked on the stock: the bar reaches the target, its red part is what is missing
    series.push({ type: 'bar', name: 'Below safety stock', stack: 'inv', data: inv.shortfall, color: GAP,
      itemStyle: { color: GAP, opacity: 0.35, borderColor: GAP, borderWidth: 1, borderType: 'dashed' } })
  }
  series.push({ type: 'line', name: 'Safety stock', data: inv.safetyStock, color: LIMIT, symbol: 'none', step: 'middle',
    lineStyle: { type: 'dashed', width: 2 } })
  option.series = series
  return option
}

/** Demand, sales served on time and unmet demand per period, with the fill rate on a second axis. */
export function serviceOption(s: Service, freq?: string): ChartOption {
  const option = base(periodLabels(s.axis.dates, freq), 'Units', formatCompact, (v) => `${formatNumber(v)} units`)
  const late = s.sales.map((v, i) => Math.max(0, v - s.servedOnTime[i]!))
  option.yAxis = [
    { type: 'value', name: 'Units', nameTextStyle: { color: AXIS_TEXT, align: 'left' }, axisLabel: { color: AXIS_TEXT, formatter: (v: number) => formatCompact(v) } },
    { type: 'value', name: 'Fill rate', min: 0, max: 1, nameTextStyle: { color: AXIS_TEXT, align: 'right' },
      axisLabel: { color: AXIS_TEXT, formatter: (v: number) => formatPercent(v, 0) }, splitLine: { show: false } },
  ]
  option.tooltip = { trigger: 'axis' }
  const units = (v: unknown) => (typeof v === 'number' ? `${formatNumber(v)} units` : '—')
  option.series = [
    { type: 'bar', name: 'Served on time', stack: 'sold', data: s.servedOnTime, color: PALETTE[2], tooltip: { valueFormatter: units } },
    { type: 'bar', name: 'Served late (backlog)', stack: 'sold', data: late, color: PALETTE[1], tooltip: { valueFormatter: units } },
    { type: 'bar', name: 'Lost sales', stack: 'sold', data: s.lostSales, color: GAP, tooltip: { valueFormatter: units } },
    { type: 'line', name: 'Demand', data: s.demand, color: LIMIT, symbol: 'circle', symbolSize: 5, tooltip: { valueFormatter: units } },
    { type: 'line', name: 'Fill rate', yAxisIndex: 1, data: s.fillRate, color: PALETTE[0], symbol: 'diamond',
      tooltip: { valueFormatter: (v) => (typeof v === 'number' ? formatPercent(v) : '—') } },
  ]
  return option
}

/** A partner's closing cash against its minimum, the funding gap shaded between the two lines. */
export function cashOption(c: PartnerCash, currency: string | null, freq?: string): ChartOption {
  const money = (v: number) => formatMoney(v, currency)
  const option = base(periodLabels(c.axis.dates, freq), `Cash [${currency ?? 'currency'}]`, formatCompact, money)
  option.legend = { top: 0, left: 0, data: ['Closing cash', 'Minimum cash', { name: 'Funding gap', icon: 'rect' }], textStyle: { color: AXIS_TEXT } }
  option.series = [
    // the gap band: an invisible base at min(closing, minimum), the gap stacked on it up to the minimum
    { type: 'line', name: 'gap-base', stack: 'gap', stackStrategy: 'all', data: c.gapBase, symbol: 'none', silent: true,
      lineStyle: { opacity: 0 }, areaStyle: { opacity: 0 }, tooltip: { show: false }, step: 'middle' },
    { type: 'line', name: 'Funding gap', stack: 'gap', stackStrategy: 'all', data: c.gap, symbol: 'none', color: GAP,
      lineStyle: { opacity: 0 }, areaStyle: { color: GAP, opacity: 0.3 }, step: 'middle' },
    { type: 'line', name: 'Minimum cash', data: c.minimum, color: LIMIT, symbol: 'none', step: 'middle', lineStyle: { type: 'dashed', width: 2 } },
    { type: 'line', name: 'Closing cash', data: c.closing, color: PALETTE[0], symbol: 'circle', symbolSize: 5, step: 'middle', lineStyle: { width: 2 } },
  ]
  return option
}

/** Several series as lines on one period axis (e.g. each partner's forecast, or the same KPI of
 *  several plans overlaid). */
export function linesOption(labels: string[], series: [string, (number | null)[]][], yName: string,
  valueFormatter: (v: number) => string, opts: { step?: boolean; dashed?: string[]; axis?: (v: number) => string } = {}): ChartOption {
  const option = base(labels, yName, opts.axis ?? formatCompact, valueFormatter)
  option.xAxis = { ...(option.xAxis as object), name: 'Period' }
  option.series = series.map(([name, data]): LineSeriesOption => ({
    type: 'line', name, data, symbol: 'circle', symbolSize: 4, connectNulls: false,
    ...(opts.step ? { step: 'middle' as const } : {}),
    ...(opts.dashed?.includes(name) ? { lineStyle: { type: 'dashed', width: 2 }, color: LIMIT, symbol: 'none' } : {}),
  }))
  return option
}

/** Grouped bars per category (e.g. each partner's forecast error against the statistical one's). */
export function barsOption(categories: string[], series: [string, (number | null)[]][], yName: string,
  valueFormatter: (v: number) => string, axisFormatter: (v: number) => string = formatCompact): ChartOption {
  const option = base(categories, yName, axisFormatter, valueFormatter)
  option.xAxis = { type: 'category', data: categories, axisLabel: { color: AXIS_TEXT }, name: '' }
  option.series = series.map(([name, data]): BarSeriesOption => ({ type: 'bar', name, data }))
  return option
}

/** A series' history and its forecast: the P10–P90 band shaded, the median dashed. */
export function forecastOption(labels: string[], band: { history: (number | null)[]; p50: (number | null)[];
  bandBase: (number | null)[]; bandHeight: (number | null)[] }, unit = 'units'): ChartOption {
  const option = base(labels, `Quantity [${unit}]`, formatCompact, (v) => `${formatNumber(v)} ${unit}`)
  option.legend = { top: 0, left: 0, data: ['History', 'Forecast (P50)', { name: 'P10–P90', icon: 'rect' }], textStyle: { color: AXIS_TEXT } }
  option.series = [
    { type: 'line', name: 'band-base', stack: 'band', data: band.bandBase, symbol: 'none', silent: true,
      lineStyle: { opacity: 0 }, areaStyle: { opacity: 0 }, tooltip: { show: false } },
    { type: 'line', name: 'P10–P90', stack: 'band', data: band.bandHeight, symbol: 'none', color: PALETTE[4],
      lineStyle: { opacity: 0 }, areaStyle: { color: PALETTE[4], opacity: 0.35 },
      tooltip: { valueFormatter: (v) => (typeof v === 'number' ? `width ${formatNumber(v)} ${unit}` : '—') } },
    { type: 'line', name: 'History', data: band.history, color: LIMIT, symbol: 'circle', symbolSize: 3, lineStyle: { width: 2 } },
    { type: 'line', name: 'Forecast (P50)', data: band.p50, color: PALETTE[0], symbol: 'circle', symbolSize: 4,
      lineStyle: { type: 'dashed', width: 2 } },
  ]
  return option
}

/** Bars (stacked when `stack`) and lines on one period axis: e.g. each instrument's balance, or an
 *  instrument's balance against its borrowing base. */
export function barsAndLinesOption(labels: string[], bars: [string, (number | null)[]][], lines: [string, (number | null)[], 'dashed'?][],
  yName: string, valueFormatter: (v: number) => string, stack = true): ChartOption {
  const option = base(labels, yName, formatCompact, valueFormatter)
  option.series = [
    ...bars.map(([name, data]): BarSeriesOption => ({ type: 'bar', name, data, ...(stack ? { stack: 'bars' } : {}) })),
    ...lines.map(([name, data, style]): LineSeriesOption => ({ type: 'line', name, data, step: 'middle', symbol: 'none',
      ...(style === 'dashed' ? { color: LIMIT, lineStyle: { type: 'dashed', width: 2 } } : { lineStyle: { width: 2 } }) })),
  ]
  return option
}

/** A fan of quantiles per period (e.g. a partner's cash before financing over the demand
 *  scenarios): P5–P95 and P10–P90 bands shaded, the median drawn. The bands are stacked widths
 *  on a transparent P5 base with `stackStrategy: 'all'`, so negative values stack as they are
 *  (ECharts' default stacks only values of one sign). */
export function fanOption(labels: string[], fan: { base: (number | null)[]; low: (number | null)[]; mid: (number | null)[];
  high: (number | null)[]; p50: (number | null)[] }, yName: string, valueFormatter: (v: number) => string,
  quantile: { p5: (number | null)[]; p10: (number | null)[]; p90: (number | null)[]; p95: (number | null)[] }): ChartOption {
  const option = base(labels, yName, formatCompact, valueFormatter)
  option.legend = { top: 0, left: 0, data: ['P50', { name: 'P10–P90', icon: 'rect' }, { name: 'P5–P95', icon: 'rect' }], textStyle: { color: AXIS_TEXT } }
  const band = (name: string, data: (number | null)[], opacity: number, q: (number | null)[] | null): LineSeriesOption => ({
    type: 'line', name, stack: 'fan', stackStrategy: 'all', data, symbol: 'none', color: PALETTE[0],
    lineStyle: { opacity: 0 }, areaStyle: { color: PALETTE[0], opacity },
    ...(q ? { tooltip: { valueFormatter: () => '' } } : { silent: true, tooltip: { show: false } }),
  })
  option.tooltip = {
    trigger: 'axis',
    formatter: (params: unknown) => {
      const i = Array.isArray(params) && params[0] ? (params[0] as { dataIndex: number }).dataIndex : 0
      const f = (x: number | null | undefined) => (typeof x === 'number' ? valueFormatter(x) : '—')
      return `${labels[i] ?? ''}<br>P95 ${f(quantile.p95[i])}<br>P90 ${f(quantile.p90[i])}<br>P50 ${f(fan.p50[i])}<br>P10 ${f(quantile.p10[i])}<br>P5 ${f(quantile.p5[i])}`
    },
  }
  option.series = [
    { ...band('fan-base', fan.base, 0, null) },
    band('P5–P95', fan.low, 0.18, fan.low),
    band('P10–P90', fan.mid, 0.35, fan.mid),
    { ...band('P5–P95', fan.high, 0.18, fan.high) },
    { type: 'line', name: 'P50', data: fan.p50, color: PALETTE[0], symbol: 'circle', symbolSize: 4, lineStyle: { width: 2 } },
  ]
  return option
}
