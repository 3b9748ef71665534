// A financing request's decision as the API answered it (docs/financing.md): its status, the
// amounts (advance, discount, fee, net: each item's and their exact sum) and every rule's reason,
// passed or failed, hard or soft, with the credit limit's basis and steps.
import type { CheckPublic, ItemPublic, RequestPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { formatDate, formatDateTime } from '../../lib/format'
import { creditExplained, itemTotals, orderedChecks, ruleText } from '../../lib/financing'
import { formatAmount } from '../../lib/invoices'

const STATUS_TEXT: Record<string, string> = {
  approved: 'Approved: the advance is made', in_review: 'In review: finance decides', declined: 'Declined',
}

export function RequestStatusBadge({ status }: { status: string }) {
  const tone = status === 'approved' ? 'badge-done' : status === 'declined' ? 'badge-failed' : 'badge-sev-medium'
  return <span className={`badge ${tone}`} data-testid="request-status">{status.replace('_', ' ')}</span>
}

export const checkColumns: Column<CheckPublic>[] = [
  { id: 'result', header: 'Result', value: (c) => (c.passed ? 'passed' : 'failed'),
    cell: (c) => <span className={`badge ${c.passed ? 'badge-done' : c.hard ? 'badge-failed' : 'badge-sev-medium'}`}>{c.passed ? 'passed' : 'failed'}</span> },
  { id: 'rule', header: 'Rule', value: (c) => ruleText(c.rule) },
  { id: 'kind', header: 'Kind', value: (c) => (c.hard ? 'hard' : 'soft') },
  { id: 'invoice', header: 'Invoice', value: (c) => c.invoice_id ?? '', cell: (c) => (c.invoice_id === null ? 'the request' : String(c.invoice_id)) },
  { id: 'reason', header: 'Reason', value: (c) => c.reason },
]

const itemColumns = (currency: string): Column<ItemPublic>[] => {
  const money = (k: keyof ItemPublic, header: string): Column<ItemPublic> =>
    ({ id: k, header, value: (i) => Number(i[k]), numeric: true, cell: (i) => formatAmount(String(i[k]), currency) })
  return [
    { id: 'invoice', header: 'Invoice', value: (i) => i.invoice_id, numeric: true },
    { id: 'buyer', header: 'Buyer', value: (i) => i.buyer_id },
    { id: 'due', header: 'Due (repayment)', value: (i) => i.due_date, cell: (i) => formatDate(i.due_date) },
    { id: 'status', header: 'Status', value: (i) => i.status },
    money('face', 'Face (open)'), money('advance', 'Advance'), money('discount', 'Discount'), money('fee', 'Fee'),
    money('net', 'Net paid'), money('repaid', 'Repaid'), money('outstanding', 'Outstanding'),
  ]
}

export function Decision({ request, testId = 'decision' }: { request: RequestPublic; testId?: string }) {
  const totals = itemTotals(request.items)
  const credit = creditExplained(request.credit_limit)
  const failed = request.checks.filter((c) => !c.passed)
  return (
    <div className="panel" data-testid={testId}>
      <p role="status">
        Request {request.id} · <RequestStatusBadge status={request.status} /> · {STATUS_TEXT[request.status] ?? request.status}
        {request.decided_at ? `, ${formatDateTime(request.decided_at)}` : ''}{request.decided_by ? ` by ${request.decided_by}` : ''}
        {request.comment ? ` — “${request.comment}”` : ''}
      </p>
      <dl className="facts" data-testid={`${testId}-amounts`}>
        <div><dt>Advance</dt><dd data-testid="amount-advance">{formatAmount(request.advance, request.currency)}</dd></div>
        <div><dt>Discount</dt><dd data-testid="amount-discount">{formatAmount(totals.discount, request.currency)}</dd></div>
        <div><dt>Fee</dt><dd data-testid="amount-fee">{formatAmount(totals.fee, request.currency)}</dd></div>
        <div><dt>Net paid to you</dt><dd data-testid="amount-net">{formatAmount(request.net, request.currency)}</dd></div>
        <div><dt>Advance date</dt><dd>{formatDate(request.advance_date)}</dd></div>
      </dl>
      <p className="hint">{failed.length === 0 ? 'Every rule passed.' : `${failed.length} rule${failed.length === 1 ? '' : 's'} failed (${failed.filter((c) => c.hard).length} hard).`}
        {credit.basis ? ` Supplier limit: ${credit.basis}.` : ''}</p>
      <DataTable caption={`Rules of request ${request.id}`} columns={checkColumns} rows={orderedChecks(request.checks)}
        rowKey={(c) => `${c.rule}|${c.invoice_id ?? ''}`} testId={`${testId}-checks`} />
      <DataTable caption={`Invoices of request ${request.id}, ${request.currency}`} columns={itemColumns(request.currency)} rows={request.items}
        rowKey={(i) => String(i.invoice_id)} testId={`${testId}-items`} />
      {credit.steps.length > 0 && (
        <details>
          <summary>How the credit limit was computed</summary>
          <ol data-testid={`${testId}-credit-steps`}>{credit.steps.map((s, i) => <li key={i}>{s}</li>)}</ol>
        </details>
      )}
    </div>
  )
}
