// GET /scenarios: every scenario with its latest version, paged.
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'

import { scenarioListQuery } from '../../api/queries'
import type { ScenarioPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'

const PAGE = 50

const columns: Column<ScenarioPublic>[] = [
  { id: 'name', header: 'Scenario', value: (s) => s.name,
    cell: (s) => <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(s.id) }} search={{}}>{s.name}</Link> },
  { id: 'version', header: 'Latest version', value: (s) => s.latest_version, numeric: true },
  { id: 'comment', header: 'What it is', value: (s) => s.latest.comment || '—' },
  { id: 'author', header: 'Edited by', value: (s) => s.latest.author },
  { id: 'edited', header: 'Edited', value: (s) => s.latest.created_at, cell: (s) => formatDateTime(s.latest.created_at) },
  { id: 'created_by', header: 'Created by', value: (s) => s.created_by },
]

export function ScenarioList() {
  const { page = 1 } = useSearch({ from: '/authed/scenarios' })
  const navigate = useNavigate({ from: '/scenarios' })
  const query = useQuery({ ...scenarioListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Scenarios" subtitle="What-if copies of the chain's data; every edit is a new version." />
      <Loaded query={query} label="Loading scenarios">
        {(data) => (
          <div className="panel">
            <DataTable caption={`${data.total} scenario${data.total === 1 ? '' : 's'}`} columns={columns} rows={data.items}
              rowKey={(s) => String(s.id)} empty="No scenarios yet: a planner creates one through the API (POST /scenarios)." testId="scenario-list" />
            <Pager page={page} pageSize={PAGE} total={data.total} onPage={(p) => void navigate({ search: { page: p } })} />
          </div>
        )}
      </Loaded>
    </>
  )
}
