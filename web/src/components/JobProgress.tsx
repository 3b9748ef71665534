// A background job being worked on (a plan's solve, a forecast run): its progress, polled by the
// page's query, the latest messages, and a Cancel button.
import { useEffect, useState } from 'react'

import type { JobPublic } from '../client/types.gen'
import { formatDateTime, formatDuration, formatPercent, parseApiDate } from '../lib/format'
import { ActionError } from './States'

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), intervalMs)
    return () => window.clearInterval(id)
  }, [intervalMs])
  return now
}

interface Props {
  job: JobPublic | null | undefined
  status: string
  createdAt: string
  /** What is being done, e.g. "Solving" or "Forecasting". */
  working: string
  what: string
  onCancel?: () => void
  cancelPending?: boolean
  cancelError?: unknown
  testId?: string
}

export function JobProgress({ job, status, createdAt, working, what, onCancel, cancelPending, cancelError, testId }: Props) {
  const now = useNow()
  const since = parseApiDate(job?.started_at ?? createdAt)
  const elapsed = since ? Math.max(0, (now - since.getTime()) / 1000) : null
  const progress = job?.progress ?? 0
  const events = [...(job?.events ?? [])].reverse().slice(0, 8)
  return (
    <div className="panel progress-panel" data-testid={testId}>
      <div className="progress-head">
        <h2>{status === 'queued' ? 'Waiting for a worker' : working}</h2>
        {onCancel && (
          <button type="button" className="danger" onClick={onCancel} disabled={cancelPending || job?.cancel_requested}>
            {job?.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      <progress max={1} value={progress} aria-label={`Progress of the ${what}`}>{formatPercent(progress, 0)}</progress>
      <p aria-live="polite" className="progress-message">
        <strong>{formatPercent(progress, 0)}</strong> · {job?.message || (status === 'queued' ? 'queued' : 'working')}
        {elapsed !== null && <> · {formatDuration(elapsed)} {status === 'queued' ? 'waiting' : 'elapsed'}</>}
      </p>
      {status === 'queued' && (
        <p className="hint">A worker (<code>jointplan worker</code>) picks the job up; if none runs, it waits here.</p>
      )}
      {events.length > 0 && (
        <ol className="events" aria-label="Progress messages, newest first">
          {events.map((e, i) => <li key={i}><time>{formatDateTime(e.at)}</time> {e.message}</li>)}
        </ol>
      )}
      <ActionError error={cancelError} />
    </div>
  )
}
