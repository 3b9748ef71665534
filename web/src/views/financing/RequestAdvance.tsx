// "Request an advance" (the seller of a confirmed invoice; docs/financing.md): pick a programme
// open to it (GET /financing-programmes), read its limit there (GET .../suppliers/{me}/limit:
// amount, basis, drawn, the credit rule's steps), choose this and any other of its confirmed
// invoices, request (POST /financing-requests) and read the decision at once.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { financingKeys, limitQuery, programmesQuery, requestsQuery } from '../../api/financing'
import { invoiceKeys, invoiceListQuery } from '../../api/invoices'
import { createRequest } from '../../client/sdk.gen'
import type { InvoicePublic, ProgrammePublic, RequestPublic } from '../../client/types.gen'
import { Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { formatDate } from '../../lib/format'
import { creditExplained } from '../../lib/financing'
import { formatAmount } from '../../lib/invoices'
import type { InvoicePanelProps } from '../invoices/InvoiceView'
import { Decision } from './Decision'

export const programmeLabel = (p: ProgrammePublic) =>
  `${p.name} · ${p.kind.replace('_', ' ')} · ${p.currency}${p.buyer_id ? ` · buyer ${p.buyer_id}` : ''}`

/** A programme can finance an invoice of this currency and buyer. */
const fits = (p: ProgrammePublic, currency: string, buyer: string) => p.currency === currency && (p.buyer_id === null || p.buyer_id === buyer)

export function RequestAdvance({ invoice, session }: InvoicePanelProps) {
  const me = session.user.partner_id
  if (session.user.role !== 'partner' || !me || me !== invoice.seller_id || invoice.status !== 'confirmed') return null
  return (
    <Section title="Request an advance" id="financing">
      <RequestForm invoice={invoice} me={me} />
    </Section>
  )
}

function RequestForm({ invoice, me }: { invoice: InvoicePanelProps['invoice']; me: string }) {
  const programmes = useQuery(programmesQuery())
  const mine = useQuery(requestsQuery(null, 200, 0))
  const others = useQuery(invoiceListQuery({ side: 'sales', status: 'confirmed' }, me, 200, 0))
  const [programmeId, setProgrammeId] = useState<number | null>(null)
  const [extra, setExtra] = useState<Set<number>>(new Set())
  const [decision, setDecision] = useState<RequestPublic | null>(null)
  const queryClient = useQueryClient()
  const request = useMutation({
    mutationFn: (body: { programme_id: number; invoice_ids: number[] }) => data(createRequest({ body })),
    onSuccess: async (r) => {
      setDecision(r)
      await queryClient.invalidateQueries({ queryKey: financingKeys.all })
      await queryClient.invalidateQueries({ queryKey: invoiceKeys.all })
    },
  })
  return (
    <Loaded query={programmes} label="Reading the programmes open to you">
      {(page) => {
        // an invoice a request of its holds (in review) or an advance is on: not again (the API's
        // not_financed rule would send it to review); the decision shown instead
        const live = decision ? undefined : mine.data?.items.find((r) => r.items.some((i) => i.invoice_id === invoice.id && (i.status === 'requested' || i.status === 'advanced')))
        if (live) {
          return (
            <div data-testid="already-financed">
              <p>{live.status === 'in_review' ? `This invoice waits in finance's review in request ${live.id}.` : `An advance on this invoice was made in request ${live.id}.`}
                {' '}<Link to="/financing">Your financing</Link></p>
              <Decision request={live} testId="live-request" />
            </div>
          )
        }
        const usable = page.items.filter((p) => fits(p, invoice.currency, invoice.buyer_id))
        if (!usable.length) return <p data-testid="no-programme">No financing programme open to you finances {invoice.currency} invoices owed by {invoice.buyer_id}.</p>
        const chosen = usable.find((p) => p.id === programmeId) ?? usable[0]!
        const candidates = (others.data?.items ?? []).filter((i: InvoicePublic) => i.id !== invoice.id && fits(chosen, i.currency, i.buyer_id))
        const submit = (e: FormEvent) => {
          e.preventDefault()
          setDecision(null)
          request.mutate({ programme_id: chosen.id, invoice_ids: [invoice.id, ...[...extra].filter((id) => candidates.some((c) => c.id === id))] })
        }
        return (
          <form onSubmit={submit} data-testid="request-form" className="request-form">
            <p>Ask for an advance on this invoice ({formatAmount(invoice.open, invoice.currency)} open, due {formatDate(invoice.due_date)}); the
              decision comes at once, with the reason of every rule.</p>
            <div className="form-row">
              <div className="field grow">
                <label htmlFor="programme">Programme</label>
                <select id="programme" value={chosen.id} onChange={(e) => { setProgrammeId(Number(e.target.value)); setDecision(null) }}>
                  {usable.map((p) => <option key={p.id} value={p.id}>{programmeLabel(p)}</option>)}
                </select>
              </div>
            </div>
            <ProgrammeTerms programme={chosen} />
            <LimitFacts programme={chosen} me={me} />
            {candidates.length > 0 && (
              <fieldset>
                <legend>Also request on these confirmed invoices of yours</legend>
                {candidates.map((c) => (
                  <label key={c.id} className="check">
                    <input type="checkbox" checked={extra.has(c.id)} onChange={(e) => {
                      const next = new Set(extra)
                      if (e.target.checked) next.add(c.id); else next.delete(c.id)
                      setExtra(next)
                    }} /> {c.number} to {c.buyer_id}, {formatAmount(c.open, c.currency)} open, due {formatDate(c.due_date)}
                  </label>
                ))}
              </fieldset>
            )}
            <div className="actions"><button type="submit" className="primary" disabled={request.isPending}>{request.isPending ? 'Requesting…' : 'Request an advance'}</button></div>
            {request.isError && <ActionError error={request.error} />}
            {decision && <Decision request={decision} />}
            {decision && <p><Link to="/financing">Your financing: requests, advances and balances</Link></p>}
          </form>
        )
      }}
    </Loaded>
  )
}

export function ProgrammeTerms({ programme: p }: { programme: ProgrammePublic }) {
  return (
    <dl className="facts" data-testid="programme-terms">
      <div><dt>Advance rate</dt><dd>{p.advance_rate}</dd></div>
      <div><dt>{p.kind === 'receivables_line' ? 'Interest' : 'Discount'} rate (annual)</dt><dd>{p.rate} ({p.day_count})</dd></div>
      <div><dt>Fee rate</dt><dd>{p.fee_rate}</dd></div>
      {p.max_invoice_age_days !== null && <div><dt>Invoice age at most</dt><dd>{p.max_invoice_age_days} days</dd></div>}
      <div><dt>Days to due at least</dt><dd>{p.min_days_to_due}</dd></div>
    </dl>
  )
}

function LimitFacts({ programme, me }: { programme: ProgrammePublic; me: string }) {
  const limit = useQuery(limitQuery(programme.id, me))
  return (
    <Loaded query={limit} label="Reading your limit">
      {(l) => {
        const credit = creditExplained(l.credit_rule)
        return (
          <div data-testid="supplier-limit">
            <dl className="facts">
              <div><dt>Your limit</dt><dd data-testid="limit-amount">{formatAmount(l.limit, l.currency)}</dd></div>
              <div><dt>Drawn</dt><dd data-testid="limit-drawn">{formatAmount(l.drawn, l.currency)}</dd></div>
              <div><dt>Basis</dt><dd>{l.basis}</dd></div>
            </dl>
            {credit.steps.length > 0 && (
              <details>
                <summary>How the credit rule computes it</summary>
                <ol>{credit.steps.map((s, i) => <li key={i}>{s}</li>)}</ol>
              </details>
            )}
          </div>
        )
      }}
    </Loaded>
  )
}
