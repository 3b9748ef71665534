// One exception (GET /exceptions/{id}), its resolutions (GET .../resolutions) and the way to
// resolve it (POST .../resolve): accept a source's value, enter the agreed value with a reason,
// or apply a consensus rule here. An exception that does not involve a partner user is
// "Not found" for it, as the API answers.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { cpfrKeys, exceptionQuery, resolutionsQuery } from '../../api/cpfr'
import { resolve } from '../../client/sdk.gen'
import type { ExceptionPublic, ResolutionPublic, ResolveRequest } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { acceptableSources, measureText } from '../../lib/exceptions'
import { formatDate, formatDateTime, formatNumber, humanize } from '../../lib/format'
import { ResolvedBadge, SeverityBadge } from './ExceptionList'

const EXCEPTION_ID = /^EX-[0-9a-f]{10}$/

export function ExceptionView() {
  const { exceptionId } = useParams({ from: '/authed/exceptions/$exceptionId' })
  if (!EXCEPTION_ID.test(exceptionId)) return <NotFound what={`exception ${exceptionId}`} />
  return <ExceptionPage id={exceptionId} />
}

function ExceptionPage({ id }: { id: string }) {
  const ex = useQuery(exceptionQuery(id))
  if (isNotFound(ex)) return <NotFound detail={ex.error.detail} />
  return (
    <>
      <PageHeader title={`Exception ${id}`} crumbs={[{ label: 'Exceptions', to: '/exceptions' }, { label: id }]}
        subtitle={ex.data ? <>{ex.data.unique_id} · {ex.data.ds ? formatDate(ex.data.ds) : 'every period'} · <SeverityBadge severity={ex.data.severity} /> <ResolvedBadge resolved={ex.data.resolved} /></> : undefined} />
      <Loaded query={ex} label="Loading the exception">{(e) => <ExceptionBody ex={e} />}</Loaded>
    </>
  )
}

const resolutionColumns: Column<ResolutionPublic>[] = [
  { id: 'id', header: 'Resolution', value: (r) => r.id, numeric: true },
  { id: 'action', header: 'Action', value: (r) => humanize(r.action) },
  { id: 'what', header: 'Taken', value: (r) => r.source ?? r.rule ?? (r.value ?? ''),
    cell: (r) => (r.action === 'accept_source' ? `the forecast of ${r.source}` : r.action === 'adjust' ? `${formatNumber(r.value)} units` : `rule ${r.rule}`) },
  { id: 'periods', header: 'Periods', value: (r) => (r.periods ?? []).join(', '),
    cell: (r) => (r.periods ? r.periods.map((p) => formatDate(p)).join(', ') : 'every period') },
  { id: 'reason', header: 'Reason', value: (r) => r.reason || '—' },
  { id: 'author', header: 'By', value: (r) => r.author },
  { id: 'created', header: 'When', value: (r) => r.created_at, cell: (r) => formatDateTime(r.created_at) },
]

function ExceptionBody({ ex }: { ex: ExceptionPublic }) {
  const resolutions = useQuery(resolutionsQuery(ex.id))
  return (
    <>
      <Section title="What is wrong" id="what">
        <p className="lead" data-testid="exception-message">{ex.message}</p>
        <dl className="facts">
          <div><dt>Rule</dt><dd>{ex.rule} ({ex.kind})</dd></div>
          <div><dt>Sources</dt><dd>{ex.sources}</dd></div>
          <div><dt>Values</dt><dd data-testid="exception-values">{ex.values}</dd></div>
          <div><dt>Measured</dt><dd>{measureText(ex.kind, ex.measure, ex.limit)}</dd></div>
          <div><dt>Owner of the resolution</dt><dd>{ex.owner || '—'}</dd></div>
          <div><dt>Partners involved</dt><dd>{ex.partners.join(', ') || '—'}</dd></div>
          <div><dt>First found</dt><dd>{formatDateTime(ex.first_seen_at)}</dd></div>
          <div><dt>Last found</dt><dd>{formatDateTime(ex.last_seen_at)}</dd></div>
        </dl>
      </Section>
      <Section title="Resolve" id="resolve"><ResolveForm ex={ex} /></Section>
      <Section title="Resolutions" id="resolutions">
        <Loaded query={resolutions} label="Loading resolutions">
          {(rs) => <DataTable caption={`${rs.length} resolution${rs.length === 1 ? '' : 's'}`} hideCaption columns={resolutionColumns}
            rows={rs} rowKey={(r) => String(r.id)} empty="Not resolved yet." testId="resolutions" />}
        </Loaded>
      </Section>
    </>
  )
}

type Action = ResolveRequest['action']

function ResolveForm({ ex }: { ex: ExceptionPublic }) {
  const queryClient = useQueryClient()
  const sources = acceptableSources(ex.sources)
  const [action, setAction] = useState<Action>('accept_source')
  const [source, setSource] = useState(sources[0] ?? '')
  const [value, setValue] = useState('')
  const [rule, setRule] = useState<NonNullable<ResolveRequest['rule']>>('weighted')
  const [reason, setReason] = useState('')
  const [localError, setLocalError] = useState<string | null>(null)
  const send = useMutation({
    mutationFn: (body: ResolveRequest) => data(resolve({ path: { exception_id: ex.id }, body })),
    onSuccess: async () => {
      setReason('')
      setValue('')
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.exceptions })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setLocalError(null)
    const body: ResolveRequest = { action, reason: reason.trim() }
    if (action === 'accept_source') body.source = source
    if (action === 'adjust') {
      const v = Number(value.replace(/,/g, ''))
      if (!value.trim() || !Number.isFinite(v) || v < 0) return setLocalError('Enter the agreed value: a number of units, 0 or more.')
      if (!reason.trim()) return setLocalError('Say why (required when entering a value).')
      body.value = v
    }
    if (action === 'apply_rule') body.rule = rule
    send.mutate(body)
  }
  return (
    <form onSubmit={submit} data-testid="resolve-form">
      <fieldset className="plain">
        <legend>How</legend>
        <label className="radio"><input type="radio" name="action" checked={action === 'accept_source'} onChange={() => setAction('accept_source')} /> Accept a source's forecast</label>
        <label className="radio"><input type="radio" name="action" checked={action === 'adjust'} onChange={() => setAction('adjust')} /> Enter the agreed value</label>
        <label className="radio"><input type="radio" name="action" checked={action === 'apply_rule'} onChange={() => setAction('apply_rule')} /> Apply a consensus rule</label>
      </fieldset>
      <div className="form-row">
        {action === 'accept_source' && (
          <div className="field">
            <label htmlFor="res-source">Source</label>
            <select id="res-source" value={source} onChange={(e) => setSource(e.target.value)}>
              {sources.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
        )}
        {action === 'adjust' && (
          <div className="field">
            <label htmlFor="res-value">Agreed value [units per period]</label>
            <input id="res-value" inputMode="decimal" className="num-input" value={value} onChange={(e) => setValue(e.target.value)} />
          </div>
        )}
        {action === 'apply_rule' && (
          <div className="field">
            <label htmlFor="res-rule">Rule</label>
            <select id="res-rule" value={rule} onChange={(e) => setRule(e.target.value as typeof rule)}>
              {(['weighted', 'mean', 'median', 'max', 'min', 'statistical'] as const).map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </div>
        )}
        <div className="field grow">
          <label htmlFor="res-reason">Reason{action === 'adjust' ? ' (required)' : ''}</label>
          <input id="res-reason" value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} placeholder="e.g. promotion confirmed in the S&OP meeting" />
        </div>
        <div className="field"><button type="submit" className="primary" disabled={send.isPending}>{send.isPending ? 'Saving…' : 'Resolve'}</button></div>
      </div>
      <p className="hint">{ex.kind === 'tolerance' && ex.ds ? `Resolves the period ${formatDate(ex.ds)}.` : 'Resolves every period of the series.'}</p>
      {localError && <p className="action-error" role="alert">{localError}</p>}
      {send.isSuccess && <p className="notice ok" role="status" data-testid="resolved">Resolution {send.data.id} recorded; the next consensus uses it.</p>}
      <ActionError error={send.error} />
    </form>
  )
}
