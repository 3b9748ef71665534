// A plan being solved: its job's progress, polled every second (GET /plans/{id}), and a cancel
// button (POST /plans/{id}/cancel).
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'

import { data } from '../../api/client'
import { keys } from '../../api/queries'
import { cancelPlan } from '../../client/sdk.gen'
import type { PlanPublic } from '../../client/types.gen'
import { ActionError } from '../../components/States'
import { formatDateTime, formatDuration, formatPercent, parseApiDate } from '../../lib/format'

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), intervalMs)
    return () => window.clearInterval(id)
  }, [intervalMs])
  return now
}

export function PlanProgress({ plan }: { plan: PlanPublic }) {
  const queryClient = useQueryClient()
  const now = useNow()
  const job = plan.job
  const cancel = useMutation({
    mutationFn: () => data(cancelPlan({ path: { plan_id: plan.id } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.plan(plan.id), updated)
      void queryClient.invalidateQueries({ queryKey: keys.plans })
    },
  })
  const since = parseApiDate(job?.started_at ?? plan.created_at)
  const elapsed = since ? Math.max(0, (now - since.getTime()) / 1000) : null
  const progress = job?.progress ?? 0
  const events = [...(job?.events ?? [])].reverse().slice(0, 8)
  return (
    <div className="panel progress-panel" data-testid="plan-progress">
      <div className="progress-head">
        <h2>{plan.status === 'queued' ? 'Waiting for a worker' : 'Solving'}</h2>
        <button type="button" className="danger" onClick={() => cancel.mutate()}
          disabled={cancel.isPending || job?.cancel_requested}>
          {job?.cancel_requested ? 'Cancelling…' : 'Cancel'}
        </button>
      </div>
      <progress max={1} value={progress} aria-label="Progress of the solve">{formatPercent(progress, 0)}</progress>
      <p aria-live="polite" className="progress-message">
        <strong>{formatPercent(progress, 0)}</strong> · {job?.message || (plan.status === 'queued' ? 'queued' : 'working')}
        {elapsed !== null && <> · {formatDuration(elapsed)} {plan.status === 'queued' ? 'waiting' : 'elapsed'}</>}
      </p>
      {plan.status === 'queued' && (
        <p className="hint">A worker (<code>jointplan worker</code>) picks the job up; if none runs, the plan waits here.</p>
      )}
      {events.length > 0 && (
        <ol className="events" aria-label="Progress messages, newest first">
          {events.map((e, i) => <li key={i}><time>{formatDateTime(e.at)}</time> {e.message}</li>)}
        </ol>
      )}
      <ActionError error={cancel.error} />
    </div>
  )
}
