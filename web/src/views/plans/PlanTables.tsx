// A plan's result tables (GET /plans/{id}/tables/{name}), any of them, every row: sortable and
// virtualised, so a plan with thousands of SKU-locations scrolls smoothly.
import { useQuery } from '@tanstack/react-query'
import { useMemo, useState } from 'react'

import { planTableQuery } from '../../api/queries'
import { type Column, DataTable } from '../../components/DataTable'
import { Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { formatMoney, formatNumber, humanize } from '../../lib/format'

type Row = Record<string, unknown>

const MONEY = /(cash|revenue|cost|value|amount|price|gap|receivables|payables|inflows|outflows|flows|working_capital|balance|interest|fee)/
const INTEGER = /^(period|period_incurred|period_settled|arrival_period|lead_time)$/

export function tableColumns(columns: string[], rows: Row[], currency: string | null): Column<Row>[] {
  return columns.map((c) => {
    const numeric = rows.some((r) => typeof r[c] === 'number')
    const money = numeric && MONEY.test(c)
    const digits = INTEGER.test(c) ? 0 : 2
    return {
      id: c,
      header: money && currency ? `${humanize(c)} [${currency}]` : humanize(c),
      numeric,
      value: (r: Row) => {
        const v = r[c]
        return typeof v === 'number' || typeof v === 'string' ? v : v === null || v === undefined ? null : String(v)
      },
      cell: numeric ? (r: Row) => (typeof r[c] === 'number' ? (money ? formatMoney(r[c] as number, null, 2) : formatNumber(r[c] as number, digits)) : '—') : undefined,
    }
  })
}

export function PlanTables({ planId, tables, currency }: { planId: number; tables: Record<string, number>; currency: string | null }) {
  const names = Object.keys(tables)
  const [name, setName] = useState<string | null>(null)
  const current = name ?? names[0] ?? null
  const table = useQuery({ ...planTableQuery(planId, current ?? ''), enabled: current !== null })
  const columns = useMemo(() => (table.data ? tableColumns(table.data.columns, table.data.items, currency) : []), [table.data, currency])
  if (!current) return null
  return (
    <Section title="Result tables" id="tables" actions={
      <div className="toolbar">
        <label htmlFor="table-select">Table</label>
        <select id="table-select" value={current} onChange={(e) => setName(e.target.value)}>
          {names.map((n) => <option key={n} value={n}>{humanize(n)} ({formatNumber(tables[n])} rows)</option>)}
        </select>
      </div>
    }>
      <Loaded query={table} label={`Loading ${current}`}>
        {(page) => (
          <DataTable caption={`${humanize(current)}: ${formatNumber(page.total)} rows`} columns={columns} rows={page.items}
            testId="result-table" height={420} />
        )}
      </Loaded>
    </Section>
  )
}
