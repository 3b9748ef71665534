// The exceptions inbox (api/routes/exceptions.py): the exceptions the caller sees (a partner:
// those that involve it), filtered by rule, severity, partner and state, counted and paged by the
// API (the filters' choices from GET /exception-facets); planners apply the collaboration's rules
// (POST /exception-scans).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { cpfrKeys, exceptionFacetsQuery, exceptionListQuery } from '../../api/cpfr'
import { roleOf } from '../../api/session'
import { scan } from '../../client/sdk.gen'
import type { ExceptionPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { type ExceptionFilter, facetChoices, stateChoices } from '../../lib/exceptions'
import { formatDate, formatNumber } from '../../lib/format'
import { useSession } from '../../session'

export type ExceptionSearch = ExceptionFilter & { page?: number }

export function SeverityBadge({ severity }: { severity: string }) {
  return <span className={`badge badge-sev-${severity}`} data-severity={severity}>{severity}</span>
}

export function ResolvedBadge({ resolved }: { resolved: boolean }) {
  return resolved ? <span className="badge badge-done">Resolved</span> : <span className="badge badge-queued">Open</span>
}

const columns: Column<ExceptionPublic>[] = [
  { id: 'id', header: 'Exception', value: (e) => e.id,
    cell: (e) => <Link to="/exceptions/$exceptionId" params={{ exceptionId: e.id }}>{e.id}</Link> },
  { id: 'severity', header: 'Severity', value: (e) => ({ high: 0, medium: 1, low: 2 } as Record<string, number>)[e.severity] ?? 3,
    cell: (e) => <SeverityBadge severity={e.severity} /> },
  { id: 'series', header: 'Series', value: (e) => e.unique_id },
  { id: 'period', header: 'Period', value: (e) => e.ds ?? '', cell: (e) => (e.ds ? formatDate(e.ds) : 'every period') },
  { id: 'rule', header: 'Rule', value: (e) => e.rule },
  { id: 'sources', header: 'Sources', value: (e) => e.sources },
  { id: 'values', header: 'Values', value: (e) => e.values },
  { id: 'owner', header: 'Owner', value: (e) => e.owner || '—' },
  { id: 'state', header: 'State', value: (e) => (e.resolved ? 1 : 0), cell: (e) => <ResolvedBadge resolved={e.resolved} /> },
]

const DEFAULT_RULES = JSON.stringify({
  name: 'small-chain CPFR',
  rules: [
    { name: 'retailer-vs-statistical', kind: 'tolerance', sources: ['shops', 'statistical'], relative: 0.15, absolute: 60, owner: 'shops' },
    { name: 'wholesaler-vs-retailer', kind: 'tolerance', sources: ['wholesale', 'shops'], relative: 0.1, absolute: 50, owner: 'wholesale' },
    { name: 'forecast-error', kind: 'error', limit: 0.12, window: 12 },
  ],
}, null, 2)

const PAGE = 50

export function ExceptionList() {
  const search = useSearch({ from: '/authed/exceptions' })
  const navigate = useNavigate({ from: '/exceptions' })
  const role = roleOf(useSession())
  const staff = role !== 'partner'
  const { page = 1, ...filter } = search
  const query = useQuery({ ...exceptionListQuery(filter, PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  const facets = useQuery(exceptionFacetsQuery)
  const f = facets.data
  // a filter changed: back to the first page
  const set = (patch: Partial<ExceptionFilter>) => void navigate({ search: (s) => ({ ...s, ...patch, page: undefined }) })
  const filtered = Object.values(filter).some(Boolean)
  return (
    <>
      <PageHeader title="Exceptions" subtitle={staff
        ? 'Where forecasts disagree beyond the agreed tolerance, or a source has been wrong: resolve each by accepting a source or entering a value.'
        : 'Where your forecast and another source disagree beyond the agreed tolerance, or a forecast has been wrong, for your items.'} />
      {(role === 'planner' || role === 'admin') && <ScanPanel />}
      <Section title="Inbox" id="inbox">
        <div className="toolbar" role="group" aria-label="Filters">
          <label htmlFor="f-rule">Rule</label>
          <select id="f-rule" value={search.rule ?? ''} onChange={(e) => set({ rule: e.target.value || undefined })}>
            <option value="">any</option>
            {facetChoices(f?.rules, search.rule).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
          </select>
          <label htmlFor="f-severity">Severity</label>
          <select id="f-severity" value={search.severity ?? ''} onChange={(e) => set({ severity: e.target.value || undefined })}>
            <option value="">any</option>
            {facetChoices(f?.severities, search.severity).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
          </select>
          {staff && <>
            <label htmlFor="f-partner">Partner</label>
            <select id="f-partner" value={search.partner ?? ''} onChange={(e) => set({ partner: e.target.value || undefined })}>
              <option value="">any</option>
              {facetChoices(f?.partners, search.partner).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
            </select>
          </>}
          <label htmlFor="f-state">State</label>
          <select id="f-state" value={search.state ?? ''} onChange={(e) => set({ state: (e.target.value || undefined) as ExceptionSearch['state'] })}>
            <option value="">any</option>
            {stateChoices(f).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
          </select>
        </div>
        <Loaded query={query} label="Loading exceptions">
          {(d) => (
            <>
              <DataTable caption={`${formatNumber(d.total)} of ${formatNumber(f?.total ?? d.total)} exceptions`} columns={columns} rows={d.items}
                rowKey={(e) => e.id} empty={filtered ? 'No exception matches these filters.' : 'No exceptions.'} testId="exception-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: (s) => ({ ...s, page: p > 1 ? p : undefined }) })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function ScanPanel() {
  const queryClient = useQueryClient()
  const [rules, setRules] = useState(DEFAULT_RULES)
  const [freq, setFreq] = useState<'M' | 'W'>('M')
  const [parseError, setParseError] = useState<string | null>(null)
  const run = useMutation({
    mutationFn: (body: Record<string, unknown>) => data(scan({ body: { rules: body, freq } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: cpfrKeys.exceptions }),
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    try {
      const parsed = JSON.parse(rules) as unknown
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected an object {name, rules: [...]}')
      setParseError(null)
      run.mutate(parsed as Record<string, unknown>)
    } catch (err) {
      setParseError(err instanceof Error ? err.message : String(err))
    }
  }
  return (
    <Section title="Apply the collaboration's rules" id="scan">
      <form onSubmit={submit}>
        <details>
          <summary>The rules (JSON)</summary>
          <div className="field">
            <label htmlFor="scan-rules">Collaboration rules</label>
            <textarea id="scan-rules" className="code-editor short" value={rules} onChange={(e) => setRules(e.target.value)} spellCheck={false}
              aria-invalid={parseError ? true : undefined} />
          </div>
        </details>
        <div className="form-row">
          <div className="field">
            <label htmlFor="scan-freq">History bucket (for error rules)</label>
            <select id="scan-freq" value={freq} onChange={(e) => setFreq(e.target.value as 'M' | 'W')}>
              <option value="M">months</option><option value="W">weeks</option>
            </select>
          </div>
          <div className="field"><button type="submit" className="primary" disabled={run.isPending}>{run.isPending ? 'Applying…' : 'Find exceptions'}</button></div>
        </div>
        {parseError && <p className="action-error" role="alert">The rules are not valid JSON: {parseError}</p>}
      </form>
      {run.isSuccess && (
        <p className="notice ok" role="status" data-testid="scan-result">
          {formatNumber(run.data.found)} exception{run.data.found === 1 ? '' : 's'} found, {formatNumber(run.data.new)} new.
          {run.data.notes.length > 0 && <> Notes: {run.data.notes.join('; ')}</>}
        </p>
      )}
      <ActionError error={run.error} />
    </Section>
  )
}
