const LABEL: Record<string, string> = { queued: 'Queued', running: 'Running', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' }

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`} data-status={status}>{LABEL[status] ?? status}</span>
}
