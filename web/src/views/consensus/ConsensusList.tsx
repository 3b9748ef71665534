// Consensus versions (api/routes/consensus.py): every version, newest first (a partner: the row
// count of its own items), and, for planners, building a new one (POST /consensus) from the
// latest statistical run, the partners' latest forecasts and the resolutions.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { consensusListQuery, cpfrKeys } from '../../api/cpfr'
import { roleOf } from '../../api/session'
import { createConsensus } from '../../client/sdk.gen'
import type { ConsensusRequest, ConsensusSummary } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime, formatNumber } from '../../lib/format'
import { useSession } from '../../session'

const PAGE = 50
export const CONSENSUS_RULES: ConsensusRequest['rule'][] = ['weighted', 'mean', 'median', 'max', 'min', 'statistical']

const columns: Column<ConsensusSummary>[] = [
  { id: 'version', header: 'Version', value: (c) => c.version, numeric: true,
    cell: (c) => <Link to="/consensus/$version" params={{ version: String(c.version) }}>Consensus v{c.version}</Link> },
  { id: 'created', header: 'Built', value: (c) => c.created_at, cell: (c) => formatDateTime(c.created_at) },
  { id: 'by', header: 'By', value: (c) => c.created_by },
  { id: 'rule', header: 'Rule', value: (c) => c.rule },
  { id: 'run', header: 'Statistical run', value: (c) => c.forecast_run_id ?? '', cell: (c) => (c.forecast_run_id ? `run ${c.forecast_run_id}` : '—') },
  { id: 'rows', header: 'Series-periods', value: (c) => c.rows, numeric: true, cell: (c) => formatNumber(c.rows) },
]

export function ConsensusList() {
  const { page = 1 } = useSearch({ from: '/authed/consensus' })
  const navigate = useNavigate({ from: '/consensus' })
  const role = roleOf(useSession())
  const list = useQuery({ ...consensusListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Consensus" subtitle={role === 'partner'
        ? 'The demand plan the chain agreed on, for your items: each version with how it was built.'
        : 'The demand plan the chain agrees on: the statistical forecast, the partners\' forecasts and the resolved exceptions, combined.'} />
      {(role === 'planner' || role === 'admin') && <Section title="Build a new version" id="build"><BuildForm /></Section>}
      <Section title="Versions" id="versions">
        <Loaded query={list} label="Loading consensus versions">
          {(d) => (
            <>
              <DataTable caption={`${d.total} version${d.total === 1 ? '' : 's'}`} columns={columns} rows={d.items}
                rowKey={(c) => String(c.version)} empty="No consensus yet." testId="consensus-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: { page: p } })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function BuildForm() {
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const [rule, setRule] = useState<ConsensusRequest['rule']>('weighted')
  const [freq, setFreq] = useState<'M' | 'W'>('M')
  const build = useMutation({
    mutationFn: () => data(createConsensus({ body: { rule, freq } })),
    onSuccess: async (cv) => {
      queryClient.setQueryData(cpfrKeys.consensusVersion(cv.version), cv)
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.consensus })
      await navigate({ to: '/consensus/$version', params: { version: String(cv.version) } })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    build.mutate()
  }
  return (
    <form className="form-row" onSubmit={submit}>
      <div className="field">
        <label htmlFor="cons-rule">Rule where no resolution applies</label>
        <select id="cons-rule" value={rule} onChange={(e) => setRule(e.target.value as ConsensusRequest['rule'])}>
          {CONSENSUS_RULES.map((r) => <option key={r} value={r}>{r === 'weighted' ? 'weighted (by backtested accuracy)' : r}</option>)}
        </select>
      </div>
      <div className="field">
        <label htmlFor="cons-freq">History bucket (to score past forecasts)</label>
        <select id="cons-freq" value={freq} onChange={(e) => setFreq(e.target.value as 'M' | 'W')}>
          <option value="M">months</option><option value="W">weeks</option>
        </select>
      </div>
      <div className="field"><button type="submit" className="primary" disabled={build.isPending}>{build.isPending ? 'Building…' : 'Build consensus'}</button></div>
      <ActionError error={build.error} />
    </form>
  )
}
