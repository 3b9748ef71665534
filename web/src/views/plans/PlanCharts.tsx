// The plan's charts, each drawn from one result table fetched whole (GET /plans/{id}/tables/...):
// production against capacity, inventory against safety stock, fill rate and unmet demand, and
// each partner's cash against its minimum with the funding gap shaded.
import { useQuery } from '@tanstack/react-query'
import { useMemo, useState } from 'react'

import { planTableQuery } from '../../api/queries'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { Section } from '../../components/Page'
import { both, Loaded } from '../../components/States'
import { capacityOption, cashOption, inventoryOption, productionOption, serviceOption } from '../../lib/chartOptions'
import { formatMoney, formatNumber, formatPercent, formatPeriod } from '../../lib/format'
import {
  cashByPartner,
  type CapacityRow,
  type CashRow,
  inventorySites,
  inventoryVsSafety,
  type InventoryRow,
  productionSites,
  productionVsCapacity,
  type ProductionRow,
  serviceByPeriod,
  type SalesRow,
  MAX_SERIES,
  topSeries,
} from '../../lib/planCharts'

interface Props { planId: number; currency: string | null; freq: string; tables: Record<string, number>; partnerNames: Record<string, string> }

function useRows<T>(planId: number, table: string, present: boolean) {
  return useQuery({ ...planTableQuery(planId, table), enabled: present, select: (page) => page.items as unknown as T[] })
}

function SitePicker({ id, label, sites, value, onChange }: { id: string; label: string; sites: string[]; value: string; onChange: (s: string) => void }) {
  if (sites.length < 2) return null
  return (
    <div className="toolbar">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {sites.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
    </div>
  )
}

interface PeriodRow { period: string; [k: string]: string | number | null }

/** The numbers behind a chart, as an accessible table. */
function SeriesTable({ caption, labels, series, format }: { caption: string; labels: string[]; series: [string, (number | null)[]][]; format: (v: number | null) => string }) {
  const rows: PeriodRow[] = labels.map((period, i) => Object.fromEntries([['period', period], ...series.map(([name, values]) => [name, values[i] ?? null])]) as PeriodRow)
  const columns: Column<PeriodRow>[] = [
    { id: 'period', header: 'Period', value: (r) => r.period, sortable: false },
    ...series.map(([name]): Column<PeriodRow> => ({ id: name, header: name, numeric: true, sortable: false,
      value: (r) => r[name] as number | null, cell: (r) => format(r[name] as number | null) })),
  ]
  return <DataTable caption={caption} hideCaption columns={columns} rows={rows} rowKey={(r) => r.period} />
}

export function ProductionCharts({ planId, freq, tables }: Props) {
  const production = useRows<ProductionRow>(planId, 'production', 'production' in tables)
  const capacity = useRows<CapacityRow>(planId, 'capacity', 'capacity' in tables)
  const sites = useMemo(() => productionSites(production.data ?? [], capacity.data ?? []), [production.data, capacity.data])
  const [site, setSite] = useState<string | null>(null)
  const current = site ?? sites[0] ?? null
  // a plant making hundreds of products: the largest few drawn one by one, the rest as one series
  const pvc = useMemo(() => {
    if (!current || !production.data || !capacity.data) return null
    const p = productionVsCapacity(production.data, capacity.data, current)
    const top = topSeries(p.production)
    return { ...p, production: top, folded: top !== p.production }
  }, [current, production.data, capacity.data])
  if (!('production' in tables) || !('capacity' in tables)) return null
  const labels = pvc ? pvc.axis.dates.map((d) => formatPeriod(d, freq)) : []
  return (
    <Section title="Production against capacity" id="production" actions={
      <SitePicker id="plant-select" label="Plant" sites={sites} value={current ?? ''} onChange={setSite} />}>
      <Loaded query={both(production, capacity)} label="Loading production">
        {() => pvc ? (
          <div className="chart-grid two">
            <Chart title={`Capacity used at ${current}`} testId="chart-capacity"
              summary={`Capacity used per period in ${pvc.unit}, regular time and overtime, against the regular capacity.`}
              option={capacityOption(pvc, freq)}
              table={<SeriesTable caption={`Capacity at ${current} [${pvc.unit}]`} labels={labels} format={(v) => formatNumber(v)}
                series={[['Regular time used', pvc.regularUsed], ['Overtime', pvc.overtime], ['Regular capacity', pvc.regularCapacity],
                  ['Utilisation', pvc.utilisation.map((u) => (u === null ? null : u * 100))]]} />} />
            <Chart title={`Production at ${current}`} testId="chart-production"
              summary={`Units made per product and period${pvc.folded ? ` (the ${MAX_SERIES} largest products, the others summed)` : ''}, and units subcontracted.`}
              option={productionOption(pvc, freq)}
              table={<SeriesTable caption={`Production at ${current} [units]`} labels={labels} format={(v) => formatNumber(v)}
                series={[...pvc.production.entries(), ['Subcontracted', pvc.subcontracting]]} />} />
          </div>
        ) : <p className="muted">This plan produces nothing.</p>}
      </Loaded>
    </Section>
  )
}

export function InventoryCharts({ planId, freq, tables }: Props) {
  const inventory = useRows<InventoryRow>(planId, 'inventory', 'inventory' in tables)
  const sites = useMemo(() => inventorySites(inventory.data ?? []), [inventory.data])
  const [site, setSite] = useState<string | null>(null)
  const current = site ?? sites[0] ?? null
  const inv = useMemo(() => {
    if (!current || !inventory.data) return null
    const i = inventoryVsSafety(inventory.data, current)
    const top = topSeries(i.byProduct)
    return { ...i, byProduct: top, folded: top !== i.byProduct }
  }, [current, inventory.data])
  if (!('inventory' in tables)) return null
  const labels = inv ? inv.axis.dates.map((d) => formatPeriod(d, freq)) : []
  return (
    <Section title="Inventory against safety stock" id="inventory" actions={
      <SitePicker id="site-select" label="Site" sites={sites} value={current ?? ''} onChange={setSite} />}>
      <Loaded query={inventory} label="Loading inventory">
        {() => inv ? (
          <Chart title={`Closing inventory at ${current}`} testId="chart-inventory"
            summary={`Closing inventory per product and period, stacked${inv.folded ? ` (the ${MAX_SERIES} largest products, the others summed)` : ''}, against the safety-stock target.`}
            option={inventoryOption(inv, freq)}
            table={<SeriesTable caption={`Inventory at ${current} [units]`} labels={labels} format={(v) => formatNumber(v)}
              series={[...inv.byProduct.entries(), ['Safety stock', inv.safetyStock], ['Below safety stock', inv.shortfall]]} />} />
        ) : <p className="muted">No inventory.</p>}
      </Loaded>
    </Section>
  )
}

export function ServiceChart({ planId, freq, tables }: Props) {
  const sales = useRows<SalesRow>(planId, 'sales', 'sales' in tables)
  const s = useMemo(() => (sales.data ? serviceByPeriod(sales.data) : null), [sales.data])
  if (!('sales' in tables)) return null
  const labels = s ? s.axis.dates.map((d) => formatPeriod(d, freq)) : []
  return (
    <Section title="Fill rate and unmet demand" id="service">
      <Loaded query={sales} label="Loading sales">
        {() => s && (
          <Chart title="Demand served per period" testId="chart-service"
            summary={`Demand served on time, late and lost per period, and the fill rate (${formatPercent(s.totals.fillRate)} over the horizon).`}
            option={serviceOption(s, freq)}
            table={<SeriesTable caption="Demand and service [units]" labels={labels} format={(v) => formatNumber(v)}
              series={[['Demand', s.demand], ['Sales', s.sales], ['Served on time', s.servedOnTime], ['Lost sales', s.lostSales],
                ['Backlog', s.backlog], ['Fill rate [%]', s.fillRate.map((f) => (f === null ? null : f * 100))]]} />} />
        )}
      </Loaded>
    </Section>
  )
}

export function CashCharts({ planId, currency, freq, tables, partnerNames }: Props) {
  const cash = useRows<CashRow>(planId, 'cash', 'cash' in tables)
  const partners = useMemo(() => (cash.data ? cashByPartner(cash.data) : []), [cash.data])
  if (!('cash' in tables)) return null
  return (
    <Section title="Each partner's cash against its minimum" id="cash">
      <Loaded query={cash} label="Loading cash">
        {() => (
          <div className="chart-grid two">
            {partners.map((c) => {
              const labels = c.axis.dates.map((d) => formatPeriod(d, freq))
              return (
                <Chart key={c.partner} title={partnerNames[c.partner] ? `${partnerNames[c.partner]} (${c.partner})` : c.partner} testId={`chart-cash-${c.partner}`} height={260}
                  summary={c.peakGap > 0
                    ? `Closing cash falls below the minimum; the funding gap peaks at ${formatMoney(c.peakGap, currency)} in ${formatPeriod(c.axis.dates[c.axis.periods.indexOf(c.peakGapPeriod!)], freq)}.`
                    : 'Closing cash stays at or above the minimum in every period.'}
                  option={cashOption(c, currency, freq)}
                  table={<SeriesTable caption={`Cash of ${c.partner}`} labels={labels} format={(v) => formatMoney(v, currency)}
                    series={[['Closing cash', c.closing], ['Minimum cash', c.minimum], ['Funding gap', c.gap]]} />} />
              )
            })}
          </div>
        )}
      </Loaded>
    </Section>
  )
}
