// One chart component for the app: Apache ECharts, tree-shaken (only line and bar charts and the
// components used), SVG renderer, resized with its container. A chart is a <figure> with a
// caption and an accessible summary; `table` (the same numbers as a table) opens below it.
import { BarChart, LineChart } from 'echarts/charts'
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  TooltipComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { SVGRenderer } from 'echarts/renderers'
import { type ReactNode, useEffect, useId, useRef } from 'react'

import type { ChartOption } from '../lib/chartOptions'

echarts.use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent, SVGRenderer])


interface ChartProps {
  title: string
  /** One sentence saying what the chart shows (read by screen readers). */
  summary: string
  option: ChartOption
  height?: number
  table?: ReactNode
  testId?: string
}

export function Chart({ title, summary, option, height = 300, table, testId }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null)
  const chart = useRef<echarts.ECharts | null>(null)
  const id = useId()

  useEffect(() => {
    const el = ref.current
    if (!el) return
    const instance = echarts.init(el, null, { renderer: 'svg' })
    chart.current = instance
    const observer = new ResizeObserver(() => instance.resize())
    observer.observe(el)
    return () => {
      observer.disconnect()
      instance.dispose()
      chart.current = null
    }
  }, [])

  useEffect(() => {
    chart.current?.setOption({ animation: false, aria: { enabled: true, label: { description: summary } }, ...option }, { notMerge: true })
  }, [option, summary])

  return (
    <figure className="chart" aria-labelledby={`${id}-title`} data-testid={testId}>
      <figcaption id={`${id}-title`} className="chart-title">{title}</figcaption>
      <div ref={ref} className="chart-canvas" style={{ height }} role="img" aria-label={`${title}. ${summary}`} />
      {table && (
        <details className="chart-data">
          <summary>Data as a table</summary>
          {table}
        </details>
      )}
    </figure>
  )
}
