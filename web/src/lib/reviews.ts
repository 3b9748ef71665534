// The finance inbox: which finished plans wait for a review. As the API rules it
// (api/routes/reviews.py): only the newest finished plan of a scenario can be reviewed (a newer
// plan voids the reviews of the older ones); a plan with a live review is decided.

export interface PlanLike { id: number; scenario_id: number; status: string }
export interface ReviewLike { id: number; plan_id: number; decision: string; active: boolean; created_at: string }

export interface Inbox<P, R> {
  /** The newest finished plan of each scenario without a live review, newest first. */
  waiting: P[]
  /** The newest finished plan of each scenario with its live review (the latest one), newest first. */
  decided: { plan: P; review: R }[]
  /** Reviews voided by a newer plan of their scenario, newest first. */
  voided: R[]
}

export function reviewInbox<P extends PlanLike, R extends ReviewLike>(plans: P[], reviews: R[]): Inbox<P, R> {
  const newest = new Map<number, P>()
  for (const p of plans) {
    if (p.status !== 'done') continue
    const cur = newest.get(p.scenario_id)
    if (!cur || p.id > cur.id) newest.set(p.scenario_id, p)
  }
  const live = new Map<number, R>()
  for (const r of reviews) {
    if (!r.active) continue
    const cur = live.get(r.plan_id)
    if (!cur || r.id > cur.id) live.set(r.plan_id, r)
  }
  const current = [...newest.values()].sort((a, b) => b.id - a.id)
  return {
    waiting: current.filter((p) => !live.has(p.id)),
    decided: current.filter((p) => live.has(p.id)).map((p) => ({ plan: p, review: live.get(p.id)! })),
    voided: reviews.filter((r) => !r.active).sort((a, b) => b.id - a.id),
  }
}
