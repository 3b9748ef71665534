// A seller partner records invoices (docs/invoices.md): one with its lines (POST /invoices, each
// problem the API names shown on its field), a CSV file of many (POST /invoices/upload, all or
// nothing: every refused cell listed by row; the template from GET /invoices/upload), or those of
// its shipments in a finished plan (POST /plans/{id}/invoices). Recording is idempotent: the same
// content again is "already recorded", nothing written.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { csvBody, data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { invoiceKeys, TEMPLATE_URL } from '../../api/invoices'
import { roleOf } from '../../api/session'
import { createInvoice, invoicesFromPlan, uploadInvoices } from '../../client/sdk.gen'
import type { InvoiceBatch, InvoicePublic } from '../../client/types.gen'
import { CsvFileInput, type PickedFile, RefusedRows } from '../../components/CsvFile'
import { type Column, DataTable } from '../../components/DataTable'
import { FieldError, invalidProps } from '../../components/FieldError'
import { PageHeader, Section } from '../../components/Page'
import { ActionError } from '../../components/States'
import { formatDate, formatNumber } from '../../lib/format'
import {
  emptyLine, formatAmount, invoiceBody, type InvoiceDraft, invoiceRefusal, type LineDraft, problemsByField, sentLineIndex, toFormPaths,
} from '../../lib/invoices'
import { useSession } from '../../session'
import { InvoiceStatusBadge } from './InvoiceList'

export function NewInvoice() {
  const session = useSession()
  const partner = roleOf(session) === 'partner' ? session.user.partner_id ?? null : null
  return (
    <>
      <PageHeader title="Record invoices" crumbs={[{ label: 'Invoices', to: '/invoices' }, { label: 'Record' }]}
        subtitle={partner ? `As the seller (${partner}): the buyer confirms or disputes each invoice, then records its payments.` : undefined} />
      {!partner ? (
        <Section title="Only sellers record invoices" id="no-seller">
          <p>Invoices are recorded by a partner's users, as the seller. <Link to="/invoices">See the invoices</Link>.</p>
        </Section>
      ) : (
        <>
          <Section title="One invoice" id="one"><InvoiceForm /></Section>
          <Section title="Upload a CSV file" id="upload"><UploadForm /></Section>
          <Section title="From a plan's shipments" id="plan"><PlanForm /></Section>
        </>
      )}
    </>
  )
}

const today = () => new Date().toISOString().slice(0, 10)
const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)

const HEAD_FIELDS = ['number', 'buyer_id', 'issue_date', 'due_date', 'currency'] as const
const LINE_FIELDS = ['product', 'quantity', 'unit_price'] as const

function InvoiceForm() {
  const queryClient = useQueryClient()
  const [draft, setDraft] = useState<InvoiceDraft>({ number: '', buyer_id: '', issue_date: today(), due_date: inDays(30), currency: 'EUR', lines: [emptyLine()] })
  const [sent, setSent] = useState<number[]>([])
  const record = useMutation({
    mutationFn: async (d: InvoiceDraft) => {
      const r = await createInvoice({ body: invoiceBody(d) })
      return { invoice: r.data as InvoicePublic, created: r.response.status === 201 }
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: invoiceKeys.all }),
  })
  const err = record.error instanceof ApiError ? record.error : null
  const inputs = (p: string) => (HEAD_FIELDS as readonly string[]).includes(p)
    || /^lines\.(\d+)\.(product|quantity|unit_price)$/.test(p) && Number(p.split('.')[1]) < draft.lines.length
  const { byField, rest } = err?.status === 422 ? problemsByField(toFormPaths(err.fields, sent), inputs) : { byField: new Map<string, string[]>(), rest: [] }
  const set = (patch: Partial<InvoiceDraft>) => setDraft((d) => ({ ...d, ...patch }))
  const setLine = (i: number, patch: Partial<LineDraft>) => setDraft((d) => ({ ...d, lines: d.lines.map((l, j) => (j === i ? { ...l, ...patch } : l)) }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setSent(sentLineIndex(draft))
    record.mutate(draft)
  }
  const head = (key: (typeof HEAD_FIELDS)[number], label: string, extra: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`inv-${key}`}>{label}</label>
      <input id={`inv-${key}`} value={draft[key]} onChange={(e) => set({ [key]: e.target.value })} {...extra} {...invalidProps(`inv-${key}`, byField.get(key))} />
      <FieldError id={`inv-${key}`} problems={byField.get(key)} />
    </div>
  )
  return (
    <form onSubmit={submit} data-testid="invoice-form" noValidate>
      <div className="form-row">
        {head('number', 'Invoice number', { maxLength: 100, autoComplete: 'off' })}
        {head('buyer_id', 'Buyer (partner id)', { maxLength: 64, autoComplete: 'off' })}
        {head('issue_date', 'Issue date', { type: 'date' })}
        {head('due_date', 'Due date', { type: 'date' })}
        {head('currency', 'Currency (ISO 4217)', { maxLength: 3, size: 4, autoComplete: 'off' })}
      </div>
      <table className="invoice-lines" data-testid="invoice-form-lines">
        <caption className="visually-hidden">Invoice lines</caption>
        <thead><tr><th scope="col" className="narrow-col">Line</th><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Unit price [{draft.currency || 'currency'}]</th><th scope="col" className="narrow-col"><span className="visually-hidden">Remove</span></th></tr></thead>
        <tbody>
          {draft.lines.map((l, i) => (
            <tr key={i}>
              <td>{i + 1}</td>
              {LINE_FIELDS.map((f) => {
                const id = `inv-line-${i}-${f}`
                const problems = byField.get(`lines.${i}.${f}`)
                const label = { product: 'Product', quantity: 'Quantity', unit_price: 'Unit price' }[f]
                return (
                  <td key={f}>
                    <input id={id} aria-label={`Line ${i + 1} ${label.toLowerCase()}`} value={l[f]} maxLength={f === 'product' ? 200 : 32}
                      inputMode={f === 'product' ? undefined : 'decimal'} onChange={(e) => setLine(i, { [f]: e.target.value })} {...invalidProps(id, problems)} />
                    <FieldError id={id} problems={problems} />
                  </td>
                )
              })}
              <td>
                <button type="button" className="link-button" aria-label={`Remove line ${i + 1}`} disabled={draft.lines.length === 1}
                  onClick={() => setDraft((d) => ({ ...d, lines: d.lines.filter((_, j) => j !== i) }))}>×</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="secondary" onClick={() => setDraft((d) => ({ ...d, lines: [...d.lines, emptyLine()] }))} disabled={draft.lines.length >= 1000}>Add a line</button>
      <p className="hint">Quantities and prices keep every digit typed (at most 6 decimals); each line's amount is rounded half up to the currency's minor unit, and the total is their sum.</p>
      <div className="actions"><button type="submit" className="primary" disabled={record.isPending}>{record.isPending ? 'Recording…' : 'Record invoice'}</button></div>
      {record.isSuccess && (
        <p className="notice ok" role="status" data-testid="invoice-recorded">
          {record.data.created ? 'Recorded' : 'Already recorded with the same content (nothing written)'}:{' '}
          <Link to="/invoices/$invoiceId" params={{ invoiceId: String(record.data.invoice.id) }}>invoice {record.data.invoice.number}</Link>,
          total {formatAmount(record.data.invoice.total, record.data.invoice.currency)} to {record.data.invoice.buyer_id}.
        </p>
      )}
      {err?.status === 422 && err.fields.length > 0 ? (
        <div className="action-error" role="alert" data-testid="invoice-problems">
          <strong>Not recorded.</strong> {byField.size > 0 && 'See the fields marked above.'}
          {rest.length > 0 && <ul className="field-problems">{rest.map((r, i) => <li key={i}><code>{r.field}</code>: {r.msg}</li>)}</ul>}
        </div>
      ) : <ActionError error={record.error} />}
    </form>
  )
}

const batchColumns: Column<InvoicePublic>[] = [
  { id: 'number', header: 'Invoice', value: (i) => i.number, cell: (i) => <Link to="/invoices/$invoiceId" params={{ invoiceId: String(i.id) }}>{i.number}</Link> },
  { id: 'buyer', header: 'Buyer', value: (i) => i.buyer_id },
  { id: 'issued', header: 'Issued', value: (i) => i.issue_date, cell: (i) => formatDate(i.issue_date) },
  { id: 'due', header: 'Due', value: (i) => i.due_date, cell: (i) => formatDate(i.due_date) },
  { id: 'total', header: 'Total', value: (i) => Number(i.total), numeric: true, cell: (i) => formatAmount(i.total, i.currency) },
  { id: 'status', header: 'Status', value: (i) => i.status, cell: (i) => <InvoiceStatusBadge status={i.status} /> },
]

function BatchResult({ batch, testId }: { batch: InvoiceBatch; testId: string }) {
  return (
    <div data-testid={testId}>
      <p className="notice ok" role="status">
        {formatNumber(batch.recorded)} invoice{batch.recorded === 1 ? '' : 's'} recorded
        {batch.existing > 0 ? `, ${formatNumber(batch.existing)} already recorded with the same content` : ''}.
      </p>
      <DataTable caption="The invoices of this request" hideCaption columns={batchColumns} rows={batch.invoices} rowKey={(i) => String(i.id)} empty="No invoice." />
    </div>
  )
}

function UploadForm() {
  const queryClient = useQueryClient()
  const [file, setFile] = useState<PickedFile | null>(null)
  const [formKey, setFormKey] = useState(0)
  const send = useMutation({
    mutationFn: (f: PickedFile) => data(uploadInvoices(csvBody(f.text))),
    onSuccess: async () => {
      setFile(null)
      setFormKey((k) => k + 1)
      await queryClient.invalidateQueries({ queryKey: invoiceKeys.all })
    },
  })
  const error = send.error
  const refusal = error instanceof ApiError && error.status === 422 && error.fields.length > 0 && send.variables
    ? invoiceRefusal(error.fields, send.variables.text) : null
  return (
    <form onSubmit={(e) => { e.preventDefault(); if (file) send.mutate(file) }} data-testid="invoice-upload-form">
      <p>One row per invoice line; the rows of one number are one invoice and agree on its buyer, dates and currency.{' '}
        <a href={TEMPLATE_URL} download="invoice-template.csv">Download the template</a> (the columns and an example).</p>
      <CsvFileInput key={formKey} label="Invoices file (CSV)" onPick={(f) => { setFile(f); send.reset() }}
        hint="Columns: number, buyer_id, issue_date, due_date, currency, product, quantity, unit_price. Nothing is recorded unless every row is right." />
      <div className="actions">
        <button type="submit" className="primary" disabled={!file || send.isPending}>{send.isPending ? 'Checking…' : 'Check and record'}</button>
      </div>
      {send.isSuccess && <BatchResult batch={send.data} testId="upload-result" />}
      {refusal ? <RefusedRows refusal={refusal} fileName={send.variables?.name} /> : <ActionError error={error} />}
    </form>
  )
}

/** A partner does not list plans (they hold every partner's costs); its planner gives it the
 *  number of a finished plan, whose shipments it then invoices. */
function PlanForm() {
  const queryClient = useQueryClient()
  const [plan, setPlan] = useState('')
  const [periods, setPeriods] = useState('')
  const parsedPeriods = periods.trim() ? periods.split(/[\s,]+/).filter(Boolean) : []
  const badPeriods = parsedPeriods.some((p) => !/^\d{1,4}$/.test(p))
  const badPlan = plan.trim() !== '' && !/^\d{1,9}$/.test(plan.trim())
  const make = useMutation({
    mutationFn: (v: { plan: number; periods: number[] }) => data(invoicesFromPlan({ path: { plan_id: v.plan },
      body: v.periods.length ? { periods: v.periods } : {} })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: invoiceKeys.all }),
  })
  const err = make.error instanceof ApiError ? make.error : null
  // the API names a period by its place in the list sent (body.periods.1): shown on the one field
  const apiPeriods = err?.status === 422 ? [...problemsByField(err.fields, (p) => /^periods(\.\d+)?$/.test(p)).byField.entries()]
    .flatMap(([path, msgs]) => msgs.map((m) => (path === 'periods' ? m : `period ${make.variables?.periods[Number(path.split('.')[1])] ?? '?'}: ${m}`))) : []
  const periodProblems = badPeriods ? ['whole numbers, 0 for the first period'] : apiPeriods.length ? apiPeriods : undefined
  return (
    <form onSubmit={(e) => { e.preventDefault(); if (plan.trim() && !badPlan && !badPeriods) make.mutate({ plan: Number(plan.trim()), periods: parsedPeriods.map(Number) }) }} data-testid="plan-invoices-form">
      <p>Your invoices for your shipments to other partners in a finished plan: one per buyer and period, a line per product, priced at the
        scenario's transfer prices and due when the plan settles them.</p>
      <div className="form-row">
        <div className="field">
          <label htmlFor="plan-id">Plan number</label>
          <input id="plan-id" inputMode="numeric" value={plan} maxLength={9} onChange={(e) => setPlan(e.target.value)} {...invalidProps('plan-id', badPlan ? ['a plan number'] : undefined)} />
          <FieldError id="plan-id" problems={badPlan ? ['a plan number'] : undefined} />
        </div>
        <div className="field">
          <label htmlFor="plan-periods">Periods (optional, e.g. 0, 1)</label>
          <input id="plan-periods" value={periods} maxLength={200} onChange={(e) => setPeriods(e.target.value)} {...invalidProps('plan-periods', periodProblems)} />
          <FieldError id="plan-periods" problems={periodProblems} />
        </div>
        <div className="field"><button type="submit" className="primary" disabled={make.isPending || !plan.trim()}>Invoice the shipments</button></div>
      </div>
      {make.isSuccess && <BatchResult batch={make.data} testId="plan-invoices-result" />}
      {!(err?.status === 422 && periodProblems) && <ActionError error={make.error} />}
    </form>
  )
}
