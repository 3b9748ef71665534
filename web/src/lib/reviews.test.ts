import { describe, expect, it } from 'vitest'

import { reviewInbox } from './reviews'

const plan = (id: number, scenario_id: number, status = 'done') => ({ id, scenario_id, status })
const review = (id: number, plan_id: number, decision: string, active = true) => ({ id, plan_id, decision, active, created_at: '' })

describe('reviewInbox', () => {
  it('offers the newest finished plan of each scenario; a live review decides it; voided reviews apart', () => {
    const plans = [plan(1, 10), plan(2, 10), plan(3, 20), plan(4, 20, 'running'), plan(5, 30, 'failed'), plan(6, 40)]
    const reviews = [review(1, 1, 'approve', false), review(2, 3, 'reject'), review(3, 6, 'approve', false)]
    const inbox = reviewInbox(plans, reviews)
    // scenario 10: plan 2 supersedes plan 1 (whose approval was voided); 20: plan 3 (plan 4 not
    // finished) was rejected; 30: nothing finished; 40: plan 6's review was voided, so it waits
    expect(inbox.waiting.map((p) => p.id)).toEqual([6, 2])
    expect(inbox.decided.map((d) => [d.plan.id, d.review.decision])).toEqual([[3, 'reject']])
    expect(inbox.voided.map((r) => r.id)).toEqual([3, 1])
  })
  it('takes the latest live review of a plan', () => {
    const inbox = reviewInbox([plan(1, 1)], [review(1, 1, 'reject'), review(2, 1, 'approve')])
    expect(inbox.decided[0]!.review.decision).toBe('approve')
  })
})
