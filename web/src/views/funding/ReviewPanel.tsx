// The finance review of a plan (GET/POST /plans/{id}/reviews): its decisions so far (a newer
// plan of the scenario voids them, as the API says), and approve or reject with a comment.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { financeKeys, planReviewsQuery } from '../../api/finance'
import { createReview } from '../../client/sdk.gen'
import type { ReviewCreate, ReviewPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'

export function DecisionBadge({ review }: { review: Pick<ReviewPublic, 'decision' | 'active'> }) {
  const label = review.decision === 'approve' ? 'Approved' : 'Rejected'
  return review.active ? <span className={`badge badge-${review.decision}`} data-decision={review.decision}>{label}</span>
    : <span className="badge badge-cancelled" data-decision="voided">{label}, voided</span>
}

const columns: Column<ReviewPublic>[] = [
  { id: 'decision', header: 'Decision', value: (r) => r.decision, cell: (r) => <DecisionBadge review={r} /> },
  { id: 'comment', header: 'Comment', value: (r) => r.comment },
  { id: 'by', header: 'By', value: (r) => r.reviewer },
  { id: 'when', header: 'When', value: (r) => r.created_at, cell: (r) => formatDateTime(r.created_at) },
  { id: 'voided', header: 'Voided', value: (r) => r.voided_at ?? '',
    cell: (r) => (r.voided_by_plan_id ? <>by <Link to="/plans/$planId/funding" params={{ planId: String(r.voided_by_plan_id) }} search={{}}>plan {r.voided_by_plan_id}</Link>, {formatDateTime(r.voided_at)}</> : '—') },
]

export function ReviewPanel({ planId, canDecide }: { planId: number; canDecide: boolean }) {
  const queryClient = useQueryClient()
  const reviews = useQuery(planReviewsQuery(planId))
  const [comment, setComment] = useState('')
  const [missing, setMissing] = useState(false)
  const decide = useMutation({
    mutationFn: (decision: ReviewCreate['decision']) => data(createReview({ path: { plan_id: planId }, body: { decision, comment: comment.trim() } })),
    onSuccess: async () => {
      setComment('')
      await queryClient.invalidateQueries({ queryKey: financeKeys.reviews })
    },
  })
  const submit = (decision: ReviewCreate['decision']) => (e: FormEvent) => {
    e.preventDefault()
    if (!comment.trim()) return setMissing(true)
    setMissing(false)
    decide.mutate(decision)
  }
  const live = (reviews.data ?? []).filter((r) => r.active).at(-1)
  return (
    <Section title="Finance review" id="review">
      <Loaded query={reviews} label="Loading reviews">
        {(rs) => (
          <>
            <p data-testid="review-state">
              {live ? <><DecisionBadge review={live} /> by {live.reviewer}, {formatDateTime(live.created_at)}: “{live.comment}”</>
                : rs.length ? 'Every review of this plan was voided by a newer plan of its scenario.' : 'Not reviewed yet.'}
            </p>
            {rs.length > 0 && <DataTable caption="Reviews" hideCaption columns={columns} rows={rs} rowKey={(r) => String(r.id)} testId="reviews" />}
          </>
        )}
      </Loaded>
      {canDecide && (
        <form className="review-form" onSubmit={submit('approve')} data-testid="review-form">
          <div className="field grow">
            <label htmlFor="review-comment">Comment (required)</label>
            <textarea id="review-comment" rows={2} value={comment} maxLength={5000} onChange={(e) => setComment(e.target.value)}
              aria-invalid={missing || undefined} aria-describedby={missing ? 'review-comment-missing' : undefined}
              placeholder="e.g. peak need covered by the asset-based line" />
            {missing && <p id="review-comment-missing" className="action-error" role="alert">Say why: a review needs a comment.</p>}
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={decide.isPending}>Approve</button>
            <button type="button" className="danger" disabled={decide.isPending} onClick={(e) => submit('reject')(e)}>Reject</button>
          </div>
          <ActionError error={decide.error} />
        </form>
      )}
    </Section>
  )
}
