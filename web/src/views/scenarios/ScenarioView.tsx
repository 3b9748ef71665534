// One scenario: its versions (GET /scenarios/{id}/versions), the version opened
// (GET .../versions/{n}) with a summary of its content, its differences from another version
// (GET .../diff), the way to edit it into a new version, and the plans solved from it.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { useMemo } from 'react'

import { diffQuery, planListQuery, scenarioNameQuery, versionQuery, versionsQuery } from '../../api/queries'
import type { Change, PageOfScenarioPublic, PlanSummary, VersionPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { isNotFound, Loaded, NotFound } from '../../components/States'
import { showValue } from '../../lib/diff'
import { formatDate, formatDateTime, formatMoney, formatNumber, humanize } from '../../lib/format'
import { useSession } from '../../session'
import { roleOf } from '../../api/session'
import { StatusBadge } from '../plans/StatusBadge'
import { StartPlan } from '../plans/StartPlan'
import { summarize } from './content'

export function parseId(raw: string): number | null {
  const n = Number(raw)
  return /^\d+$/.test(raw) && Number.isSafeInteger(n) && n >= 1 && n <= 2 ** 31 - 1 ? n : null
}

/** The scenario's name: from a list page already fetched, else looked up (scenarioNameQuery). */
export function useScenarioName(scenarioId: number): string | null {
  const queryClient = useQueryClient()
  let cached: string | null = null
  for (const [, page] of queryClient.getQueriesData<PageOfScenarioPublic>({ queryKey: ['scenarios', 'list'] })) {
    const found = page?.items.find((s) => s.id === scenarioId)
    if (found) cached = found.name
  }
  const looked = useQuery({ ...scenarioNameQuery(scenarioId), enabled: cached === null })
  return cached ?? looked.data ?? null
}

const changeColumns: Column<Change>[] = [
  { id: 'path', header: 'Field', value: (c) => c.path, cell: (c) => <code>{c.path}</code> },
  { id: 'op', header: 'Change', value: (c) => c.op, cell: (c) => <span className={`op op-${c.op}`}>{c.op}</span> },
  { id: 'old', header: 'Before', value: (c) => showValue(c.old), cell: (c) => <code className="val">{showValue(c.old)}</code>, sortable: false },
  { id: 'new', header: 'After', value: (c) => showValue(c.new), cell: (c) => <code className="val">{showValue(c.new)}</code>, sortable: false },
]

export function ScenarioView() {
  const { scenarioId: raw } = useParams({ from: '/authed/scenarios/$scenarioId' })
  const scenarioId = parseId(raw)
  if (scenarioId === null) return <NotFound what={`scenario ${raw}`} />
  return <ScenarioPage scenarioId={scenarioId} />
}

function ScenarioPage({ scenarioId }: { scenarioId: number }) {
  const search = useSearch({ from: '/authed/scenarios/$scenarioId' })
  const versions = useQuery(versionsQuery(scenarioId))
  const name = useScenarioName(scenarioId)
  const latest = versions.data?.[versions.data.length - 1]
  const selected = search.version ?? latest?.version
  if (isNotFound(versions)) return <NotFound detail={versions.error.detail} />
  return (
    <>
      <PageHeader
        title={name ?? `Scenario ${scenarioId}`}
        subtitle={latest ? `${versions.data!.length} version${versions.data!.length === 1 ? '' : 's'}; latest v${latest.version} by ${latest.author}, ${formatDateTime(latest.created_at)}` : undefined}
        crumbs={[{ label: 'Scenarios', to: '/scenarios' }, { label: name ?? `Scenario ${scenarioId}` }]}
      />
      <Loaded query={versions} label="Loading versions">
        {(list) => selected === undefined ? <NotFound what="version" /> : (
          <VersionPanels scenarioId={scenarioId} versions={list} selected={selected} compare={search.compare} />
        )}
      </Loaded>
    </>
  )
}

function VersionPanels({ scenarioId, versions, selected, compare }: { scenarioId: number; versions: VersionPublic[]; selected: number; compare?: number }) {
  const navigate = useNavigate({ from: '/scenarios/$scenarioId' })
  const session = useSession()
  const role = roleOf(session)
  const canEdit = role === 'planner' || role === 'admin'
  const version = useQuery(versionQuery(scenarioId, selected))
  const latest = versions[versions.length - 1]!
  const summary = useMemo(() => (version.data ? summarize(version.data.content) : null), [version.data])
  const versionColumns = useMemo((): Column<VersionPublic>[] => [
    { id: 'version', header: 'Version', value: (v) => v.version, numeric: true,
      cell: (v) => v.version === selected ? <strong aria-current="true">v{v.version} (open)</strong>
        : <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(scenarioId) }} search={{ version: v.version }}>v{v.version}</Link> },
    { id: 'comment', header: 'What changed', value: (v) => v.comment || '—' },
    { id: 'author', header: 'Author', value: (v) => v.author },
    { id: 'created', header: 'Created', value: (v) => v.created_at, cell: (v) => formatDateTime(v.created_at) },
    { id: 'fingerprint', header: 'Fingerprint', value: (v) => v.fingerprint.slice(0, 12), cell: (v) => <code title={v.fingerprint}>{v.fingerprint.slice(0, 12)}</code> },
  ], [scenarioId, selected])

  return (
    <>
      <Section title="Version" id="version" actions={
        <div className="toolbar">
          <label htmlFor="version-select">Open version</label>
          <select id="version-select" value={selected}
            onChange={(e) => void navigate({ search: (s) => ({ ...s, version: Number(e.target.value) }) })}>
            {[...versions].reverse().map((v) => (
              <option key={v.version} value={v.version}>v{v.version}{v.version === latest.version ? ' (latest)' : ''} · {v.author}</option>
            ))}
          </select>
          {canEdit && (
            <Link className="button primary" to="/scenarios/$scenarioId/edit" params={{ scenarioId: String(scenarioId) }} search={{ from: selected }}>
              Edit as a new version
            </Link>
          )}
        </div>
      }>
        <Loaded query={version} label={`Loading version ${selected}`}>
          {(v) => (
            <div className="version-detail" data-testid="version-detail" data-version={v.version} data-etag={v.etag}>
              <dl className="facts">
                <div><dt>Version</dt><dd>v{v.version}{v.version === latest.version ? ' (latest)' : ` (latest is v${latest.version})`}</dd></div>
                <div><dt>Author</dt><dd>{v.author}</dd></div>
                <div><dt>Created</dt><dd>{formatDateTime(v.created_at)}</dd></div>
                <div><dt>What it is</dt><dd>{v.comment || '—'}</dd></div>
                {summary && <>
                  <div><dt>Horizon</dt><dd>{summary.periods ?? '—'} {summary.freq} periods from {formatDate(summary.start)}</dd></div>
                  <div><dt>Currency</dt><dd>{summary.currency ?? '—'}</dd></div>
                  <div><dt>Objective</dt><dd>{humanize(summary.objective)}</dd></div>
                  <div><dt>Network</dt><dd>{summary.sites} sites, {summary.lanes} lanes, {summary.products} products</dd></div>
                  <div><dt>Demand</dt><dd>{summary.demandSeries} series, {formatNumber(summary.totalDemand)} units</dd></div>
                  <div><dt>Funding</dt><dd>{summary.hasFinance ? 'finance instruments defined' : 'no finance section'}</dd></div>
                </>}
              </dl>
              {summary?.description && <p className="description">{summary.description}</p>}
              {(v.warnings ?? []).length > 0 && (
                <div className="notice" role="note"><strong>Warnings of the scenario checks</strong>
                  <ul>{(v.warnings ?? []).map((w, i) => <li key={i}>{w}</li>)}</ul>
                </div>
              )}
              {summary && summary.partners.length > 0 && (
                <DataTable caption="Partners" columns={[
                  { id: 'id', header: 'Partner', value: (p) => p.id, cell: (p) => <>{p.name} <span className="muted">({p.id})</span></> },
                  { id: 'role', header: 'Role', value: (p) => p.role },
                  { id: 'open', header: `Opening cash`, value: (p) => p.opening_cash, numeric: true, cell: (p) => formatMoney(p.opening_cash, summary.currency) },
                  { id: 'min', header: `Minimum cash`, value: (p) => p.min_cash, numeric: true, cell: (p) => formatMoney(p.min_cash, summary.currency) },
                  { id: 'coll', header: 'Paid after [periods]', value: (p) => p.collection_lag, numeric: true },
                  { id: 'pay', header: 'Pays after [periods]', value: (p) => p.payment_lag, numeric: true },
                ]} rows={summary.partners} rowKey={(p) => p.id} />
              )}
            </div>
          )}
        </Loaded>
      </Section>

      {canEdit && version.data && (
        <Section title="Run a plan" id="run">
          <StartPlan scenarioId={scenarioId} version={version.data.version} hasFinance={summary?.hasFinance ?? false} />
        </Section>
      )}

      <Section title="Compare versions" id="compare">
        <CompareVersions scenarioId={scenarioId} versions={versions} selected={selected} compare={compare} />
      </Section>

      <Section title="All versions" id="versions">
        <DataTable caption="Versions, oldest first" hideCaption columns={versionColumns} rows={versions} rowKey={(v) => String(v.version)} />
      </Section>

      <Section title="Plans of this scenario" id="plans">
        <ScenarioPlans scenarioId={scenarioId} />
      </Section>
    </>
  )
}

function CompareVersions({ scenarioId, versions, selected, compare }: { scenarioId: number; versions: VersionPublic[]; selected: number; compare?: number }) {
  const navigate = useNavigate({ from: '/scenarios/$scenarioId' })
  const other = compare ?? versions.filter((v) => v.version !== selected).map((v) => v.version).filter((n) => n < selected).pop()
  const diff = useQuery({ ...diffQuery(scenarioId, other ?? selected, selected), enabled: other !== undefined && other !== selected })
  if (versions.length < 2) return <p className="muted">This scenario has one version: nothing to compare yet.</p>
  return (
    <>
      <div className="toolbar">
        <label htmlFor="compare-select">Changes from</label>
        <select id="compare-select" value={other ?? ''}
          onChange={(e) => void navigate({ search: (s) => ({ ...s, compare: Number(e.target.value) }) })}>
          {versions.filter((v) => v.version !== selected).map((v) => <option key={v.version} value={v.version}>v{v.version}</option>)}
        </select>
        <span>to the open version v{selected}</span>
      </div>
      {other !== undefined && other !== selected && (
        <Loaded query={diff} label="Comparing">
          {(d) => (
            <DataTable caption={`${d.changes.length} change${d.changes.length === 1 ? '' : 's'} from v${d.from_version} to v${d.to_version}`}
              columns={changeColumns} rows={d.changes} rowKey={(c) => `${c.path}`} empty="The two versions are the same." testId="diff-table" />
          )}
        </Loaded>
      )}
    </>
  )
}

const planColumns: Column<PlanSummary>[] = [
  { id: 'id', header: 'Plan', value: (p) => p.id, numeric: true,
    cell: (p) => <Link to="/plans/$planId" params={{ planId: String(p.id) }}>Plan {p.id}</Link> },
  { id: 'version', header: 'Version', value: (p) => p.version, numeric: true, cell: (p) => `v${p.version}` },
  { id: 'status', header: 'Status', value: (p) => p.status, cell: (p) => <StatusBadge status={p.status} /> },
  { id: 'options', header: 'Options', value: (p) => optionsText(p.options) },
  { id: 'created', header: 'Asked for', value: (p) => p.created_at, cell: (p) => formatDateTime(p.created_at) },
  { id: 'finished', header: 'Finished', value: (p) => p.finished_at ?? '', cell: (p) => formatDateTime(p.finished_at) },
]

export function optionsText(options: Record<string, unknown>): string {
  const parts: string[] = []
  if (options.finance) parts.push('operations and funding together')
  else if (options.size_funding) parts.push('funding sized afterwards')
  if (typeof options.time_limit === 'number') parts.push(`time limit ${options.time_limit} s`)
  if (typeof options.mip_gap === 'number') parts.push(`MIP gap ${options.mip_gap}`)
  return parts.join(', ') || 'operations'
}

function ScenarioPlans({ scenarioId }: { scenarioId: number }) {
  const plans = useQuery(planListQuery({ scenarioId, limit: 50, offset: 0 }))
  return (
    <Loaded query={plans} label="Loading plans">
      {(page) => (
        <DataTable caption={`${page.total} plan${page.total === 1 ? '' : 's'}, newest first`} columns={planColumns} rows={page.items}
          rowKey={(p) => String(p.id)} empty="No plan has been solved from this scenario yet." />
      )}
    </Loaded>
  )
}
