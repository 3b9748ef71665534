// Finance's inbox of financing requests in review (GET /financing-requests?status=in_review,
// oldest first): each request's failed rules and amounts; approve or decline with a required
// comment. An approval is refused (409) while a hard rule fails: the API's answer names them.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { financingKeys, requestsQuery } from '../../api/financing'
import { financeKeys } from '../../api/finance'
import { approveRequest, declineRequest } from '../../client/sdk.gen'
import type { RequestPublic } from '../../client/types.gen'
import { DataTable } from '../../components/DataTable'
import { FieldError, invalidProps } from '../../components/FieldError'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { failedChecks } from '../../lib/financing'
import { formatAmount } from '../../lib/invoices'
import { checkColumns, Decision } from './Decision'
import { FinancingNav } from './FinancingNav'

export function FinanceInbox() {
  const waiting = useQuery(requestsQuery('in_review', 50, 0))
  const [decided, setDecided] = useState<RequestPublic[]>([])
  return (
    <>
      <PageHeader title="Financing requests in review" subtitle="Requests a rule sent to review, oldest first: approve or decline each with a comment." />
      <FinancingNav />
      {decided.length > 0 && (
        <Section title="Decided just now" id="decided">
          {decided.map((r) => <Decision key={r.id} request={r} testId={`decided-${r.id}`} />)}
        </Section>
      )}
      <Section title="Waiting" id="waiting">
        <Loaded query={waiting} label="Reading the requests in review">
          {(page) => (
            <>
              <p className="muted" data-testid="inbox-count">{page.total} request{page.total === 1 ? '' : 's'} in review{page.total > page.items.length ? ` (the ${page.items.length} oldest shown)` : ''}.</p>
              {page.items.map((r) => <InboxItem key={r.id} request={r} onDecided={(d) => setDecided((xs) => [d, ...xs.filter((x) => x.id !== d.id)])} />)}
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function InboxItem({ request: r, onDecided }: { request: RequestPublic; onDecided: (r: RequestPublic) => void }) {
  const queryClient = useQueryClient()
  const [comment, setComment] = useState('')
  const [missing, setMissing] = useState(false)
  const decide = useMutation({
    mutationFn: ({ approve, text }: { approve: boolean; text: string }) =>
      data((approve ? approveRequest : declineRequest)({ path: { request_id: r.id }, body: { comment: text } })),
    onSuccess: async (d) => {
      onDecided(d)
      await queryClient.invalidateQueries({ queryKey: financingKeys.all })
      await queryClient.invalidateQueries({ queryKey: financeKeys.book })
    },
  })
  const go = (approve: boolean) => (e?: FormEvent) => {
    e?.preventDefault()
    if (!comment.trim()) return setMissing(true)
    setMissing(false)
    decide.mutate({ approve, text: comment.trim() })
  }
  const failed = failedChecks(r.checks)
  const err = decide.error instanceof ApiError ? decide.error : null
  const problems = missing ? ['A comment is required: it is kept with the decision.']
    : err?.status === 422 ? err.fields.filter((f) => f.field.endsWith('comment')).map((f) => f.msg) : undefined
  const id = `comment-${r.id}`
  return (
    <article className="panel" data-testid={`inbox-request-${r.id}`} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Request {r.id}: {r.supplier_id}, {formatAmount(r.advance, r.currency)} advance ({formatAmount(r.net, r.currency)} net) on {r.items.length} invoice{r.items.length === 1 ? '' : 's'}</h3>
      <p className="hint">Programme {r.programme_id} · requested {formatDateTime(r.created_at)} · invoices {r.items.map((i) => `${i.invoice_id} (${i.buyer_id})`).join(', ')}</p>
      <DataTable caption={`Failed rules of request ${r.id}`} columns={checkColumns} rows={failed}
        rowKey={(c) => `${c.rule}|${c.invoice_id ?? ''}`} testId={`inbox-failed-${r.id}`} />
      <details><summary>Every rule and the amounts</summary><Decision request={r} testId={`inbox-detail-${r.id}`} /></details>
      <form onSubmit={go(true)} className="review-form">
        <div className="field grow">
          <label htmlFor={id}>Comment (required)</label>
          <textarea id={id} rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} {...invalidProps(id, problems)} />
          <FieldError id={id} problems={problems} />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={decide.isPending}>Approve</button>
          <button type="button" className="danger" disabled={decide.isPending} onClick={() => go(false)()}>Decline</button>
        </div>
        {err && err.status !== 422 && <div data-testid={`inbox-refusal-${r.id}`}><ActionError error={err} /></div>}
        {decide.error && !(decide.error instanceof ApiError) ? <ActionError error={decide.error} /> : null}
      </form>
    </article>
  )
}
