// GET /plans: every plan, newest first, filtered by status; paged. Finished plans can be ticked
// and compared side by side (/compare).
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { useMemo, useState } from 'react'

import { planListQuery, type PlanStatus } from '../../api/queries'
import type { PlanSummary } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { optionsText } from '../scenarios/ScenarioView'
import { StatusBadge } from './StatusBadge'

const PAGE = 50
export const STATUSES: PlanStatus[] = ['queued', 'running', 'done', 'failed', 'cancelled']

const columns: Column<PlanSummary>[] = [
  { id: 'id', header: 'Plan', value: (p) => p.id, numeric: true,
    cell: (p) => <Link to="/plans/$planId" params={{ planId: String(p.id) }}>Plan {p.id}</Link> },
  { id: 'scenario', header: 'Scenario', value: (p) => `${p.scenario_id}-${p.version}`,
    cell: (p) => <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(p.scenario_id) }} search={{ version: p.version }}>Scenario {p.scenario_id} v{p.version}</Link> },
  { id: 'status', header: 'Status', value: (p) => p.status, cell: (p) => <StatusBadge status={p.status} /> },
  { id: 'options', header: 'Options', value: (p) => optionsText(p.options) },
  { id: 'created', header: 'Asked for', value: (p) => p.created_at, cell: (p) => formatDateTime(p.created_at) },
  { id: 'finished', header: 'Finished', value: (p) => p.finished_at ?? '', cell: (p) => formatDateTime(p.finished_at) },
]

export function PlanList() {
  const { page = 1, status } = useSearch({ from: '/authed/plans' })
  const navigate = useNavigate({ from: '/plans' })
  const query = useQuery({ ...planListQuery({ status, limit: PAGE, offset: (page - 1) * PAGE }), placeholderData: keepPreviousData })
  const [picked, setPicked] = useState<number[]>([])
  const toggle = (id: number) => setPicked((xs) => (xs.includes(id) ? xs.filter((x) => x !== id) : [...xs, id].slice(-10)))
  const withPick = useMemo((): Column<PlanSummary>[] => [
    { id: 'pick', header: 'Compare', value: (p) => (picked.includes(p.id) ? 1 : 0), sortable: false,
      cell: (p) => (p.status === 'done' ? <input type="checkbox" checked={picked.includes(p.id)} onChange={() => toggle(p.id)}
        aria-label={`Compare plan ${p.id}`} /> : null) },
    ...columns,
  ], [picked])
  return (
    <>
      <PageHeader title="Plans" subtitle="Solves of scenario versions, newest first. Run a plan from its scenario." />
      <div className="panel">
        <div className="toolbar">
          <label htmlFor="status-filter">Status</label>
          <select id="status-filter" value={status ?? ''}
            onChange={(e) => void navigate({ search: { status: (e.target.value || undefined) as PlanStatus | undefined, page: 1 } })}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
          <Link className={`button ${picked.length >= 2 ? 'primary' : 'secondary'}`} to="/compare" search={{ plans: picked.join(',') || undefined }}
            aria-disabled={picked.length < 2} data-testid="compare-selected">
            Compare {picked.length >= 2 ? `${picked.length} plans` : 'plans'}
          </Link>
        </div>
        <Loaded query={query} label="Loading plans">
          {(data) => (
            <>
              <DataTable caption={`${data.total} plan${data.total === 1 ? '' : 's'}`} columns={withPick} rows={data.items}
                rowKey={(p) => String(p.id)} empty="No plans yet." testId="plan-list" />
              <Pager page={page} pageSize={PAGE} total={data.total} onPage={(p) => void navigate({ search: (s) => ({ ...s, page: p }) })} />
            </>
          )}
        </Loaded>
      </div>
    </>
  )
}
