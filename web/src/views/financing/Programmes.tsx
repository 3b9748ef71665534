// Finance's programmes (GET/POST /financing-programmes): the list with their terms and limits, a
// new programme from terms or from a scenario's instrument (the API converts the scenario's
// rates and says how in `source.notes`), and a supplier's limit: the effective one with the
// rule's steps and what is drawn, finance's override (PUT .../suppliers/{partner}/limit, amount
// and a required comment) and every override before it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { financingKeys, limitQuery, programmesQuery } from '../../api/financing'
import { createProgramme, setLimit } from '../../client/sdk.gen'
import type { LimitChange, ProgrammePublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { FieldError, invalidProps } from '../../components/FieldError'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { creditExplained, emptyProgramme, programmeBody, type ProgrammeDraft } from '../../lib/financing'
import { formatAmount, plainDecimal, problemsByField } from '../../lib/invoices'
import { useSession } from '../../session'
import { FinancingNav } from './FinancingNav'

const orDash = (x: string | number | null) => (x === null ? '—' : String(x))

const programmeColumns: Column<ProgrammePublic>[] = [
  { id: 'id', header: 'Id', value: (p) => p.id, numeric: true },
  { id: 'name', header: 'Name', value: (p) => p.name },
  { id: 'kind', header: 'Kind', value: (p) => p.kind.replace('_', ' ') },
  { id: 'currency', header: 'Currency', value: (p) => p.currency },
  { id: 'buyer', header: 'Buyer', value: (p) => p.buyer_id ?? 'any' },
  { id: 'advance_rate', header: 'Advance rate', value: (p) => p.advance_rate, numeric: true },
  { id: 'rate', header: 'Rate (annual)', value: (p) => `${p.rate} ${p.day_count}` },
  { id: 'fee', header: 'Fee rate', value: (p) => p.fee_rate, numeric: true },
  { id: 'programme_limit', header: 'Programme limit', value: (p) => orDash(p.programme_limit), numeric: true,
    cell: (p) => (p.programme_limit === null ? '—' : formatAmount(p.programme_limit, p.currency)) },
  { id: 'supplier_limit', header: 'Supplier limit at most', value: (p) => orDash(p.default_supplier_limit), numeric: true,
    cell: (p) => (p.default_supplier_limit === null ? '—' : formatAmount(p.default_supplier_limit, p.currency)) },
  { id: 'ceiling', header: 'Automatic up to', value: (p) => orDash(p.auto_decision_ceiling), numeric: true,
    cell: (p) => (p.auto_decision_ceiling === null ? '—' : formatAmount(p.auto_decision_ceiling, p.currency)) },
  { id: 'source', header: 'Source', value: (p) => sourceNotes(p) },
]

function sourceNotes(p: ProgrammePublic): string {
  const notes = (p.source as Record<string, unknown> | null)?.notes
  return Array.isArray(notes) ? notes.map(String).join(' ') : p.source ? 'a scenario' : 'terms'
}

export function Programmes() {
  const programmes = useQuery(programmesQuery())
  const canEdit = useSession().user.role === 'finance'
  return (
    <>
      <PageHeader title="Financing programmes" subtitle="Terms, eligibility and limits of each programme; suppliers' limits and finance's overrides." />
      <FinancingNav />
      <Section title="Programmes" id="programmes">
        <Loaded query={programmes} label="Reading the programmes">
          {(page) => <DataTable caption={`${page.total} programme${page.total === 1 ? '' : 's'}`} columns={programmeColumns} rows={page.items}
            rowKey={(p) => String(p.id)} testId="programmes" empty="No programme yet." />}
        </Loaded>
      </Section>
      <Section title="New programme" id="new-programme"><NewProgramme /></Section>
      <Section title="A supplier's limit" id="limits">
        <Loaded query={programmes} label="Reading the programmes">{(page) => <SupplierLimit programmes={page.items} canEdit={canEdit} />}</Loaded>
      </Section>
    </>
  )
}

const FIELDS: [keyof ProgrammeDraft, string, string?][] = [
  ['max_invoice_age_days', 'Invoice age at most [days]', 'optional'], ['min_days_to_due', 'Days to due at least'],
  ['buyer_concentration_limit', 'Buyer concentration at most (0–1)', 'optional'], ['programme_limit', 'Programme limit', 'optional'],
  ['default_supplier_limit', 'Supplier limit at most', 'optional'], ['auto_decision_ceiling', 'Automatic decision up to', 'optional'],
]

const FORM_FIELDS = new Set<string>([...Object.keys(emptyProgramme()), 'version'])

function NewProgramme() {
  const queryClient = useQueryClient()
  const [d, setD] = useState<ProgrammeDraft>(emptyProgramme())
  const [created, setCreated] = useState<ProgrammePublic | null>(null)
  const create = useMutation({
    mutationFn: () => data(createProgramme({ body: programmeBody(d) })),
    onSuccess: async (p) => { setCreated(p); setD(emptyProgramme()); await queryClient.invalidateQueries({ queryKey: financingKeys.programmes }) },
  })
  const err = create.error instanceof ApiError ? create.error : null
  const { byField, rest } = err?.status === 422 ? problemsByField(err.fields.map((f) => ({ ...f, field: f.field.replace(/^(body\.)?from_scenario\./, '') })), (f) => FORM_FIELDS.has(f))
    : { byField: new Map<string, string[]>(), rest: [] }
  const set = (k: keyof ProgrammeDraft) => (e: { target: { value: string } }) => setD({ ...d, [k]: e.target.value })
  const input = (k: keyof ProgrammeDraft, label: string, hint?: string, apiField: string = k) => (
    <div className="field" key={k}>
      <label htmlFor={`prog-${k}`}>{label}{hint ? ` (${hint})` : ''}</label>
      <input id={`prog-${k}`} value={d[k]} maxLength={200} onChange={set(k)} {...invalidProps(`prog-${k}`, byField.get(apiField))} />
      <FieldError id={`prog-${k}`} problems={byField.get(apiField)} />
    </div>
  )
  const submit = (e: FormEvent) => { e.preventDefault(); setCreated(null); create.mutate() }
  return (
    <form onSubmit={submit} data-testid="new-programme" noValidate>
      <div className="form-row">
        {input('name', 'Name')}
        <fieldset>
          <legend>Terms</legend>
          <label><input type="radio" name="prog-source" checked={d.source === 'terms'} onChange={() => setD({ ...d, source: 'terms' })} /> given here</label>{' '}
          <label><input type="radio" name="prog-source" checked={d.source === 'scenario'} onChange={() => setD({ ...d, source: 'scenario' })} /> from a scenario's instrument</label>
        </fieldset>
      </div>
      {d.source === 'terms' ? (
        <div className="form-row">
          <div className="field">
            <label htmlFor="prog-kind">Kind</label>
            <select id="prog-kind" value={d.kind} onChange={(e) => setD({ ...d, kind: e.target.value as ProgrammeDraft['kind'] })}>
              <option value="factoring">factoring</option><option value="reverse_factoring">reverse factoring</option><option value="receivables_line">receivables line</option>
            </select>
          </div>
          {input('currency', 'Currency')}
          {input('buyer_id', 'Buyer', d.kind === 'reverse_factoring' ? 'required' : 'optional')}
          {input('advance_rate', 'Advance rate (0–1)')}
          {input('rate', 'Annual rate')}
          <div className="field">
            <label htmlFor="prog-day-count">Day count</label>
            <select id="prog-day-count" value={d.day_count} onChange={(e) => setD({ ...d, day_count: e.target.value as ProgrammeDraft['day_count'] })}>
              <option value="actual/360">actual/360</option><option value="actual/365">actual/365</option>
            </select>
          </div>
          {input('fee_rate', 'Fee rate')}
        </div>
      ) : (
        <div className="form-row">
          {input('scenario_id', 'Scenario id')}
          {input('scenario_version', 'Version', 'optional: the latest', 'version')}
          {input('partner', 'Partner of the instrument')}
          {input('instrument_id', 'Instrument id')}
        </div>
      )}
      <div className="form-row">{FIELDS.map(([k, label, hint]) => input(k, label, hint))}</div>
      <div className="actions"><button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? 'Creating…' : 'Create programme'}</button></div>
      {err && err.status !== 422 && <ActionError error={err} />}
      {rest.length > 0 && <ActionError error={new ApiError(422, rest.map((r) => `${r.field}: ${r.msg}`).join('; '))} />}
      {created && <p className="notice ok" role="status" data-testid="programme-created">Programme {created.id} “{created.name}” created ({created.kind.replace('_', ' ')}, {created.currency}).{created.source ? ` ${sourceNotes(created)}` : ''}</p>}
    </form>
  )
}

const overrideColumns = (currency: string): Column<LimitChange>[] => [
  { id: 'at', header: 'Set', value: (o) => o.set_at, cell: (o) => formatDateTime(o.set_at) },
  { id: 'by', header: 'By', value: (o) => o.set_by ?? '' },
  { id: 'amount', header: 'Limit', value: (o) => Number(o.amount), numeric: true, cell: (o) => formatAmount(o.amount, currency) },
  { id: 'comment', header: 'Comment', value: (o) => o.comment },
]

function SupplierLimit({ programmes, canEdit }: { programmes: ProgrammePublic[]; canEdit: boolean }) {
  const [programmeId, setProgrammeId] = useState<number | null>(null)
  const [partner, setPartner] = useState('')
  const [asked, setAsked] = useState<{ programme: number; partner: string } | null>(null)
  const chosen = programmes.find((p) => p.id === programmeId) ?? programmes[0]
  if (!chosen) return <p>No programme yet.</p>
  return (
    <>
      <form className="form-row" onSubmit={(e) => { e.preventDefault(); if (partner.trim()) setAsked({ programme: chosen.id, partner: partner.trim() }) }}>
        <div className="field">
          <label htmlFor="limit-programme">Programme</label>
          <select id="limit-programme" value={chosen.id} onChange={(e) => setProgrammeId(Number(e.target.value))}>
            {programmes.map((p) => <option key={p.id} value={p.id}>{p.id}: {p.name}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="limit-partner">Supplier (partner id)</label>
          <input id="limit-partner" value={partner} maxLength={64} onChange={(e) => setPartner(e.target.value)} required />
        </div>
        <div className="field"><button type="submit" className="secondary">Show limit</button></div>
      </form>
      {asked && <LimitPanel key={`${asked.programme}|${asked.partner}`} programmeId={asked.programme} partner={asked.partner} canEdit={canEdit} />}
    </>
  )
}

function LimitPanel({ programmeId, partner, canEdit }: { programmeId: number; partner: string; canEdit: boolean }) {
  const queryClient = useQueryClient()
  const limit = useQuery(limitQuery(programmeId, partner))
  const [amount, setAmount] = useState('')
  const [comment, setComment] = useState('')
  const [missing, setMissing] = useState(false)
  const save = useMutation({
    mutationFn: () => data(setLimit({ path: { programme_id: programmeId, partner_id: partner }, body: { amount: plainDecimal(amount), comment: comment.trim() } })),
    onSuccess: async () => { setAmount(''); setComment(''); await queryClient.invalidateQueries({ queryKey: financingKeys.all }) },
  })
  const err = save.error instanceof ApiError ? save.error : null
  const { byField, rest } = err?.status === 422 ? problemsByField(err.fields, (f) => f === 'amount' || f === 'comment') : { byField: new Map<string, string[]>(), rest: [] }
  const commentProblems = missing ? ['A comment is required: say why the limit changes.'] : byField.get('comment')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!comment.trim()) return setMissing(true)
    setMissing(false)
    save.mutate()
  }
  return (
    <Loaded query={limit} label="Reading the limit">
      {(l) => {
        const credit = creditExplained(l.credit_rule)
        return (
          <div className="panel" data-testid="limit-panel">
            <dl className="facts">
              <div><dt>Effective limit</dt><dd data-testid="limit-amount">{formatAmount(l.limit, l.currency)}</dd></div>
              <div><dt>Drawn</dt><dd>{formatAmount(l.drawn, l.currency)}</dd></div>
              <div><dt>Basis</dt><dd data-testid="limit-basis">{l.basis}</dd></div>
            </dl>
            {credit.steps.length > 0 && <details><summary>The credit rule's steps</summary><ol>{credit.steps.map((s, i) => <li key={i}>{s}</li>)}</ol></details>}
            <DataTable caption="Overrides, newest first" columns={overrideColumns(l.currency)} rows={l.overrides}
              rowKey={(o) => o.set_at} testId="limit-overrides" empty="No override: the credit rule and the programme decide." />
            {canEdit && (
              <form onSubmit={submit} className="form-row" data-testid="override-form" noValidate>
                <div className="field">
                  <label htmlFor="override-amount">New limit [{l.currency}]</label>
                  <input id="override-amount" inputMode="decimal" value={amount} maxLength={32} onChange={(e) => setAmount(e.target.value)} {...invalidProps('override-amount', byField.get('amount'))} />
                  <FieldError id="override-amount" problems={byField.get('amount')} />
                </div>
                <div className="field grow">
                  <label htmlFor="override-comment">Comment (required)</label>
                  <input id="override-comment" value={comment} maxLength={2000} onChange={(e) => setComment(e.target.value)} {...invalidProps('override-comment', commentProblems)} />
                  <FieldError id="override-comment" problems={commentProblems} />
                </div>
                <div className="field"><button type="submit" className="primary" disabled={save.isPending}>Override limit</button></div>
                {err && err.status !== 422 && <ActionError error={err} />}
                {rest.length > 0 && <ActionError error={new ApiError(422, rest.map((r) => `${r.field}: ${r.msg}`).join('; '))} />}
              </form>
            )}
          </div>
        )
      }}
    </Loaded>
  )
}
