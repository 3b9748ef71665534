// Invoices between partners (api/routes/invoices.py): the invoices the caller sees (a partner:
// those it sells or buys, its sales or its purchases; finance and admin: all), filtered by status,
// party and due date, counted and paged by the API; for finance and admin, the hash chain's
// verification (GET /invoices/verify): intact, or its first broken link.
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useEffect, useState } from 'react'

import { partnersQuery } from '../../api/admin'
import { invoiceListQuery, verifyQuery } from '../../api/invoices'
import { roleOf } from '../../api/session'
import type { ChainVerification, InvoicePublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ErrorView, Loaded, Loading } from '../../components/States'
import { formatDate, formatNumber } from '../../lib/format'
import { formatAmount, INVOICE_STATUSES, type InvoiceFilter } from '../../lib/invoices'
import { useSession } from '../../session'

export type InvoiceSearch = InvoiceFilter & { page?: number }

const STATUS_BADGE: Record<string, string> = { recorded: 'badge-queued', confirmed: 'badge-running', disputed: 'badge-failed', settled: 'badge-done' }

export function InvoiceStatusBadge({ status }: { status: string }) {
  return <span className={`badge ${STATUS_BADGE[status] ?? 'badge-queued'}`} data-status={status}>{status}</span>
}

export function invoiceColumns(me: string | null): Column<InvoicePublic>[] {
  const party = (p: string) => (p === me ? `${p} (you)` : p)
  return [
    { id: 'number', header: 'Invoice', value: (i) => i.number,
      cell: (i) => <Link to="/invoices/$invoiceId" params={{ invoiceId: String(i.id) }}>{i.number}</Link> },
    { id: 'seller', header: 'Seller', value: (i) => i.seller_id, cell: (i) => party(i.seller_id) },
    { id: 'buyer', header: 'Buyer', value: (i) => i.buyer_id, cell: (i) => party(i.buyer_id) },
    { id: 'issued', header: 'Issued', value: (i) => i.issue_date, cell: (i) => formatDate(i.issue_date) },
    { id: 'due', header: 'Due', value: (i) => i.due_date, cell: (i) => formatDate(i.due_date) },
    { id: 'total', header: 'Total', value: (i) => Number(i.total), numeric: true, cell: (i) => formatAmount(i.total, i.currency) },
    { id: 'paid', header: 'Paid', value: (i) => Number(i.paid), numeric: true, cell: (i) => formatAmount(i.paid, i.currency) },
    { id: 'open', header: 'Open', value: (i) => Number(i.open), numeric: true, cell: (i) => formatAmount(i.open, i.currency) },
    { id: 'status', header: 'Status', value: (i) => i.status, cell: (i) => <InvoiceStatusBadge status={i.status} /> },
  ]
}

const PAGE = 50

export function InvoiceList() {
  const search = useSearch({ from: '/authed/invoices' })
  const navigate = useNavigate({ from: '/invoices' })
  const session = useSession()
  const role = roleOf(session)
  const me = role === 'partner' ? session.user.partner_id ?? null : null
  const { page = 1, ...filter } = search
  const query = useQuery({ ...invoiceListQuery(filter, me, PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  const filtered = Object.values(filter).some(Boolean)
  return (
    <>
      <PageHeader title="Invoices" subtitle={me
        ? 'The invoices you send other partners of the chain (sales) and those they send you (purchases): confirm or dispute what you buy, and record what you pay.'
        : "Every invoice between the chain's partners, with its payments and its history; the history's hash chain verified on request."}
        actions={me ? <Link className="button primary" to="/invoices/new">Record invoices</Link> : undefined} />
      <Section title={me ? 'Your invoices' : 'All invoices'} id="invoices">
        <Filters search={search} partner={me} onApply={(f) => void navigate({ search: { ...f, page: undefined } })} />
        <Loaded query={query} label="Loading invoices">
          {(d) => (
            <>
              <DataTable caption={`${formatNumber(d.total)} invoice${d.total === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}`}
                columns={invoiceColumns(me)} rows={d.items} rowKey={(i) => String(i.id)}
                empty={filtered ? 'No invoice matches these filters.' : 'No invoices yet.'} testId="invoice-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: (s) => ({ ...s, page: p > 1 ? p : undefined }) })} />
            </>
          )}
        </Loaded>
      </Section>
      {(role === 'finance' || role === 'admin') && <ChainPanel />}
    </>
  )
}

/** The filters as a form: applied together (a typed partner id is not sent letter by letter). */
function Filters({ search, partner, onApply }: { search: InvoiceFilter; partner: string | null; onApply: (f: InvoiceFilter) => void }) {
  const [f, setF] = useState<InvoiceFilter>(search)
  useEffect(() => setF(search), [search])
  const partners = useQuery({ ...partnersQuery, enabled: !partner })
  const set = (patch: Partial<InvoiceFilter>) => setF((x) => ({ ...x, ...patch }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const clean = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'string' ? v.trim() || undefined : v]))
    onApply(clean as InvoiceFilter)
  }
  const partyInput = (key: 'seller' | 'buyer', label: string) => (
    <div className="field">
      <label htmlFor={`f-${key}`}>{label}</label>
      {partner ? (
        <input id={`f-${key}`} value={f[key] ?? ''} maxLength={64} placeholder="partner id" onChange={(e) => set({ [key]: e.target.value })} />
      ) : (
        <select id={`f-${key}`} value={f[key] ?? ''} onChange={(e) => set({ [key]: e.target.value || undefined })}>
          <option value="">any</option>
          {(partners.data?.items ?? []).map((p) => <option key={p.id} value={p.id}>{p.name} ({p.id})</option>)}
        </select>
      )}
    </div>
  )
  return (
    <form className="form-row" role="search" aria-label="Filter invoices" onSubmit={submit} data-testid="invoice-filters">
      {partner && (
        <div className="field">
          <label htmlFor="f-side">Side</label>
          <select id="f-side" value={f.side ?? ''} onChange={(e) => set({ side: (e.target.value || undefined) as InvoiceFilter['side'], seller: undefined, buyer: undefined })}>
            <option value="">sales and purchases</option>
            <option value="sales">sales (you sell)</option>
            <option value="purchases">purchases (you buy)</option>
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor="f-status">Status</label>
        <select id="f-status" value={f.status ?? ''} onChange={(e) => set({ status: e.target.value || undefined })}>
          <option value="">any</option>
          {INVOICE_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      {(!partner || f.side === 'purchases') && partyInput('seller', 'Seller')}
      {(!partner || f.side === 'sales') && partyInput('buyer', 'Buyer')}
      <div className="field">
        <label htmlFor="f-due">Due before</label>
        <input id="f-due" type="date" value={f.due_before ?? ''} onChange={(e) => set({ due_before: e.target.value || undefined })} />
      </div>
      <div className="field">
        <button type="submit" className="secondary">Apply filters</button>
      </div>
    </form>
  )
}

/** The chain's verification, run when asked for (it reads every event). */
function ChainPanel() {
  const [asked, setAsked] = useState(false)
  const verify = useQuery({ ...verifyQuery, enabled: asked })
  return (
    <Section title="Hash chain" id="chain" actions={
      <button type="button" className="secondary" onClick={() => (asked ? void verify.refetch() : setAsked(true))} disabled={verify.isFetching}>
        {verify.isFetching ? 'Verifying…' : 'Verify the chain'}
      </button>}>
      <p className="hint">Every change of an invoice is a link of one chain of SHA-256 hashes: the verification recomputes each link and
        replays the events against the stored invoices, and reports the first place where they disagree.</p>
      {!asked ? null : verify.isPending ? <Loading label="Verifying the chain" />
        : verify.isError ? <ErrorView error={verify.error} onRetry={() => void verify.refetch()} />
          : <ChainResult v={verify.data} />}
    </Section>
  )
}

export function ChainResult({ v }: { v: ChainVerification }) {
  return (
    <div className={`notice${v.intact ? ' ok' : ''}`} role="status" data-testid="chain-state" data-intact={String(v.intact)}>
      {v.intact
        ? <p><strong>Intact</strong>: {formatNumber(v.events)} event{v.events === 1 ? '' : 's'} of {formatNumber(v.invoices)} invoice{v.invoices === 1 ? '' : 's'} verified.</p>
        : <p><strong>Broken</strong> at event {v.first_break?.seq ?? '—'}{v.first_break?.invoice_id != null
          ? <> of <Link to="/invoices/$invoiceId" params={{ invoiceId: String(v.first_break.invoice_id) }}>invoice {v.first_break.invoice_id}</Link></> : null}: {v.first_break?.what ?? v.message}</p>}
      <p className="small">Last intact link: event {v.head.seq}, hash <code title={v.head.hash} data-testid="chain-head">{v.head.hash}</code>.
        Keep it elsewhere to check later that the chain still holds it.</p>
    </div>
  )
}
