// One invoice (GET /invoices/{id}): its parties, dates and amounts in its currency's decimals,
// its status, lines, payments and the events of its history (its links of the hash chain); the
// buyer confirms or disputes it (with a reason) and records payments. Another partner's invoice
// is "not found", as the API answers.
//
// Panels that act on an invoice are the components of ACTION_PANELS, each given the invoice and
// the session and rendering nothing when its user has nothing to do there: the buyer's steps, and
// the seller's request for an advance against it (views/financing/RequestAdvance.tsx).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { type ComponentType, type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { invoiceKeys, invoiceQuery } from '../../api/invoices'
import type { Session } from '../../api/session'
import { confirmInvoice, disputeInvoice, settleInvoice } from '../../client/sdk.gen'
import type { EventPublic, InvoiceDetail, LinePublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { FieldError, invalidProps } from '../../components/FieldError'
import { KpiGrid, type KpiItem } from '../../components/Kpi'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { formatDate, formatDateTime, formatNumber } from '../../lib/format'
import { buyerSteps, formatAmount, openAfter, type Payment, paymentsOf, problemsByField, settlementBody, shortHash } from '../../lib/invoices'
import { useSession } from '../../session'
import { RequestAdvance } from '../financing/RequestAdvance'
import { parseId } from '../scenarios/ScenarioView'
import { InvoiceStatusBadge } from './InvoiceList'

export interface InvoicePanelProps { invoice: InvoiceDetail; session: Session }

/** What can be done with an invoice, in the order shown (see the file's comment). */
export const ACTION_PANELS: ComponentType<InvoicePanelProps>[] = [BuyerSteps, RequestAdvance]

export function InvoiceView() {
  const { invoiceId: raw } = useParams({ from: '/authed/invoices/$invoiceId' })
  const id = parseId(raw)
  if (id === null) return <NotFound what={`invoice ${raw}`} />
  return <InvoicePage id={id} />
}

function InvoicePage({ id }: { id: number }) {
  const session = useSession()
  const invoice = useQuery(invoiceQuery(id))
  if (isNotFound(invoice)) return <NotFound detail={invoice.error.detail} />
  const inv = invoice.data
  return (
    <>
      <PageHeader title={inv ? `Invoice ${inv.number}` : `Invoice ${id}`} crumbs={[{ label: 'Invoices', to: '/invoices' }, { label: inv?.number ?? String(id) }]}
        subtitle={inv ? <>{inv.seller_id} to {inv.buyer_id} · issued {formatDate(inv.issue_date)}, due {formatDate(inv.due_date)} · {inv.currency} · <InvoiceStatusBadge status={inv.status} /></> : undefined} />
      <Loaded query={invoice} label="Loading the invoice">
        {(v) => (
          <>
            <Section title="Amounts" id="amounts"><KpiGrid label="The invoice's amounts" items={amountTiles(v)} /></Section>
            {ACTION_PANELS.map((Panel, i) => <Panel key={i} invoice={v} session={session} />)}
            <Section title="Lines" id="lines">
              <DataTable caption={`${v.lines.length} line${v.lines.length === 1 ? '' : 's'}, ${v.currency}`} columns={lineColumns(v.currency)}
                rows={v.lines} rowKey={(l) => String(l.position)} testId="invoice-lines" />
            </Section>
            <Section title="Payments" id="payments">
              <DataTable caption="Payments recorded by the buyer" hideCaption columns={paymentColumns(v.currency)} rows={paymentsOf(v.events, v.total)}
                rowKey={(p) => String(p.seq)} empty="No payment recorded." testId="invoice-payments" />
            </Section>
            <Section title="History" id="history">
              <p className="hint">Each event is a link of the invoices' hash chain: its hash covers its content and the hash of the event before it.
                {v.created_by ? ` Recorded by ${v.created_by}, ${formatDateTime(v.created_at)}, from ${sourceText(v)}.` : ` Recorded ${formatDateTime(v.created_at)}, from ${sourceText(v)}.`}</p>
              <DataTable caption="The invoice's events, oldest first" hideCaption columns={eventColumns} rows={v.events}
                rowKey={(e) => String(e.seq)} testId="invoice-events" />
            </Section>
          </>
        )}
      </Loaded>
    </>
  )
}

const sourceText = (v: InvoiceDetail) => (v.source === 'plan' && v.plan_id ? `plan ${v.plan_id}` : v.source === 'csv' ? 'a CSV upload' : 'the API')

function amountTiles(v: InvoiceDetail): KpiItem[] {
  const overdue = v.status === 'confirmed' && v.due_date < new Date().toISOString().slice(0, 10)
  return [
    { id: 'total', label: 'Total', value: Number(v.total), text: formatAmount(v.total, v.currency), note: `${v.lines.length} line${v.lines.length === 1 ? '' : 's'}` },
    { id: 'paid', label: 'Paid', value: Number(v.paid), text: formatAmount(v.paid, v.currency),
      note: `${paymentsOf(v.events, v.total).length} payment(s)` },
    { id: 'open', label: 'Open', value: Number(v.open), text: formatAmount(v.open, v.currency), tone: overdue ? 'bad' : undefined,
      note: v.status === 'settled' ? 'settled' : overdue ? `overdue since ${formatDate(v.due_date)}` : `due ${formatDate(v.due_date)}` },
    { id: 'status', label: 'Status', value: null, text: v.status, tone: v.status === 'disputed' ? 'bad' : v.status === 'settled' ? 'good' : undefined,
      note: statusNote(v) },
  ]
}

function statusNote(v: InvoiceDetail): string {
  const last = v.events.at(-1)
  const reason = v.events.find((e) => e.kind === 'disputed')?.payload.reason
  if (v.status === 'disputed' && typeof reason === 'string') return `“${reason}”`
  return last ? `since ${formatDateTime(last.at)}` : ''
}

const lineColumns = (currency: string): Column<LinePublic>[] => [
  { id: 'position', header: '#', value: (l) => l.position, numeric: true },
  { id: 'product', header: 'Product', value: (l) => l.product },
  { id: 'quantity', header: 'Quantity', value: (l) => Number(l.quantity), numeric: true, cell: (l) => l.quantity },
  { id: 'price', header: `Unit price [${currency}]`, value: (l) => Number(l.unit_price), numeric: true, cell: (l) => l.unit_price },
  { id: 'amount', header: 'Amount', value: (l) => Number(l.amount), numeric: true, cell: (l) => formatAmount(l.amount, currency) },
]

const paymentColumns = (currency: string): Column<Payment>[] => [
  { id: 'paid_on', header: 'Paid on', value: (p) => p.paidOn, cell: (p) => formatDate(p.paidOn) },
  { id: 'amount', header: 'Amount', value: (p) => Number(p.amount), numeric: true, cell: (p) => formatAmount(p.amount, currency) },
  { id: 'so_far', header: 'Paid so far', value: (p) => Number(p.paidSoFar), numeric: true, cell: (p) => formatAmount(p.paidSoFar, currency) },
  { id: 'reference', header: 'Reference', value: (p) => p.reference || '—' },
  { id: 'recorded', header: 'Recorded', value: (p) => p.at, cell: (p) => `${formatDateTime(p.at)}${p.actor ? ` by ${p.actor}` : ''}` },
]

const KIND_TEXT: Record<string, string> = { recorded: 'recorded', confirmed: 'confirmed', disputed: 'disputed', settlement: 'payment' }

function eventWhat(e: EventPublic): string {
  const p = e.payload
  if (e.kind === 'disputed' && typeof p.reason === 'string') return `reason: ${p.reason}`
  if (e.kind === 'settlement') return `paid on ${String(p.paid_on ?? '')}${p.reference ? `, ref. ${String(p.reference)}` : ''}; now ${String(p.status ?? '')}`
  if (e.kind === 'recorded') return `${Array.isArray(p.lines) ? p.lines.length : '?'} line(s)`
  return ''
}

const eventColumns: Column<EventPublic>[] = [
  { id: 'seq', header: 'Link', value: (e) => e.seq, numeric: true, cell: (e) => formatNumber(e.seq) },
  { id: 'kind', header: 'Event', value: (e) => KIND_TEXT[e.kind] ?? e.kind },
  { id: 'what', header: 'Details', value: (e) => eventWhat(e) },
  { id: 'by', header: 'By', value: (e) => e.actor ?? e.actor_partner_id ?? '', cell: (e) => (e.actor ? `${e.actor} (${e.actor_partner_id ?? ''})` : e.actor_partner_id ?? '—') },
  { id: 'at', header: 'When', value: (e) => e.at, cell: (e) => formatDateTime(e.at) },
  { id: 'hash', header: 'Hash', value: (e) => e.hash, cell: (e) => <code title={e.hash}>{shortHash(e.hash)}</code> },
  { id: 'prev', header: 'Previous hash', value: (e) => e.prev_hash, cell: (e) => <code title={e.prev_hash}>{shortHash(e.prev_hash)}</code> },
]

// ------------------------------------------------------------------------------ the buyer's steps

/** The buyer confirms or disputes a recorded invoice and pays a confirmed one (the API refuses a
 *  step the invoice's status no longer allows with a 409, shown as it says). */
function BuyerSteps({ invoice, session }: InvoicePanelProps) {
  // a refusal (409: the invoice changed meanwhile) stays shown after the invoice is read again,
  // even when the step it refused is no longer offered
  const [refusal, setRefusal] = useState<unknown>(null)
  if (session.user.role !== 'partner' || session.user.partner_id !== invoice.buyer_id) return null
  const steps = buyerSteps(invoice.status)
  return (
    <Section title="Your part as the buyer" id="buyer">
      {!steps.confirm && !steps.pay && (
        <p data-testid="buyer-done">{invoice.status === 'settled' ? 'Paid in full: nothing is open.' : 'Disputed: the seller records a corrected invoice under a new number.'}</p>
      )}
      {refusal ? <div data-testid="buyer-refusal"><ActionError error={refusal} /></div> : null}
      {steps.confirm && <Decide invoice={invoice} onRefused={setRefusal} />}
      {steps.pay && <Pay invoice={invoice} onRefused={setRefusal} />}
    </Section>
  )
}

/** A refusal other than a field's problem (422 with fields): shown by BuyerSteps. */
const refused = (e: unknown) => !(e instanceof ApiError && e.status === 422 && e.fields.length > 0)

function useRefresh(id: number) {
  const queryClient = useQueryClient()
  return async () => {
    await queryClient.invalidateQueries({ queryKey: invoiceKeys.all })
    await queryClient.invalidateQueries({ queryKey: invoiceKeys.one(id) })
  }
}

function Decide({ invoice, onRefused }: { invoice: InvoiceDetail; onRefused: (e: unknown) => void }) {
  const refresh = useRefresh(invoice.id)
  const [reason, setReason] = useState('')
  const [missing, setMissing] = useState(false)
  const onMutate = () => onRefused(null)
  const onError = (e: unknown) => { if (refused(e)) onRefused(e) }
  const confirm = useMutation({ mutationFn: () => data(confirmInvoice({ path: { invoice_id: invoice.id } })), onMutate, onError, onSettled: refresh })
  const dispute = useMutation({ mutationFn: (r: string) => data(disputeInvoice({ path: { invoice_id: invoice.id }, body: { reason: r } })), onMutate, onError, onSettled: refresh })
  const busy = confirm.isPending || dispute.isPending
  const submitDispute = (e: FormEvent) => {
    e.preventDefault()
    if (!reason.trim()) return setMissing(true)
    setMissing(false)
    confirm.reset()
    dispute.mutate(reason.trim())
  }
  const reasonProblems = missing ? ['Say why: a dispute needs a reason, shown to the seller.']
    : dispute.error instanceof ApiError ? problemsByField(dispute.error.fields, (p) => p === 'reason').byField.get('reason') : undefined
  return (
    <div data-testid="decide">
      <p>Check the invoice against what you received: confirm it (it can then be paid and financed), or dispute it with a reason.</p>
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => { dispute.reset(); confirm.mutate() }}>Confirm invoice</button>
      </div>
      <form onSubmit={submitDispute} className="review-form">
        <div className="field grow">
          <label htmlFor="dispute-reason">Reason for a dispute (required)</label>
          <textarea id="dispute-reason" rows={2} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)}
            {...invalidProps('dispute-reason', reasonProblems)} placeholder="e.g. 20 units short on delivery note 4711" />
          <FieldError id="dispute-reason" problems={reasonProblems} />
        </div>
        <div className="actions"><button type="submit" className="danger" disabled={busy}>Dispute invoice</button></div>
      </form>
    </div>
  )
}

const today = () => new Date().toISOString().slice(0, 10)

function Pay({ invoice, onRefused }: { invoice: InvoiceDetail; onRefused: (e: unknown) => void }) {
  const refresh = useRefresh(invoice.id)
  const [amount, setAmount] = useState('')
  const [paidOn, setPaidOn] = useState(today())
  const [reference, setReference] = useState('')
  const [done, setDone] = useState<string | null>(null)
  const pay = useMutation({
    mutationFn: () => data(settleInvoice({ path: { invoice_id: invoice.id }, body: settlementBody(amount, paidOn, reference) })),
    onSuccess: (v) => { setDone(`${formatAmount(settlementBody(amount, paidOn, reference).amount as string, invoice.currency)} recorded; ${v.status === 'settled' ? 'the invoice is settled' : `${formatAmount(v.open, v.currency)} still open`}.`); setAmount(''); setReference('') },
    onMutate: () => onRefused(null),
    onError: (e) => { if (refused(e)) onRefused(e) },
    onSettled: refresh,
  })
  const after = amount.trim() ? openAfter(invoice.open, settlementBody(amount, paidOn, reference).amount as string) : null
  const err = pay.error instanceof ApiError ? pay.error : null
  const { byField, rest } = err && err.status === 422 ? problemsByField(err.fields, (p) => ['amount', 'paid_on', 'reference'].includes(p)) : { byField: new Map<string, string[]>(), rest: [] }
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    pay.mutate()
  }
  return (
    <form onSubmit={submit} data-testid="pay-form" noValidate>
      <p data-testid="open-amount">Open: <strong>{formatAmount(invoice.open, invoice.currency)}</strong> of {formatAmount(invoice.total, invoice.currency)}
        {!/^0(\.0+)?$/.test(invoice.paid) ? ` (${formatAmount(invoice.paid, invoice.currency)} paid)` : ''}.</p>
      <div className="form-row">
        <div className="field">
          <label htmlFor="pay-amount">Amount paid [{invoice.currency}]</label>
          <input id="pay-amount" inputMode="decimal" value={amount} maxLength={32} onChange={(e) => setAmount(e.target.value)} required
            {...invalidProps('pay-amount', byField.get('amount'))} />
          <FieldError id="pay-amount" problems={byField.get('amount')} />
        </div>
        <div className="field">
          <label htmlFor="pay-date">Paid on</label>
          <input id="pay-date" type="date" value={paidOn} onChange={(e) => setPaidOn(e.target.value)} required {...invalidProps('pay-date', byField.get('paid_on'))} />
          <FieldError id="pay-date" problems={byField.get('paid_on')} />
        </div>
        <div className="field grow">
          <label htmlFor="pay-ref">Reference (optional)</label>
          <input id="pay-ref" value={reference} maxLength={200} onChange={(e) => setReference(e.target.value)} {...invalidProps('pay-ref', byField.get('reference'))} />
          <FieldError id="pay-ref" problems={byField.get('reference')} />
        </div>
        <div className="field">
          <button type="button" className="secondary" onClick={() => setAmount(invoice.open)}>Pay all that is open</button>
        </div>
      </div>
      {after && <p className="hint" data-testid="open-after">{'problem' in after ? `Amount: ${after.problem}.`
        : after.open.startsWith('-') ? `That is ${formatAmount(after.open.slice(1), invoice.currency)} more than is open.`
          : `Open after this payment: ${formatAmount(after.open, invoice.currency)}.`}</p>}
      <div className="actions"><button type="submit" className="primary" disabled={pay.isPending}>{pay.isPending ? 'Recording…' : 'Record payment'}</button></div>
      {done && <p className="notice ok" role="status" data-testid="paid">{done}</p>}
      {rest.length > 0 && <ActionError error={new ApiError(422, rest.map((r) => `${r.field}: ${r.msg}`).join('; '))} />}
    </form>
  )
}
