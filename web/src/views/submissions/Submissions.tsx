// A partner's own forecasts (api/routes/submissions.py): submit a CSV file as the next version
// (POST /submissions, text/csv; refused rows listed with the API's reasons), and every version
// so far (GET /submissions: a partner sees its own).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { partnersQuery } from '../../api/admin'
import { csvBody, data } from '../../api/client'
import { cpfrKeys, submissionListQuery } from '../../api/cpfr'
import { ApiError } from '../../api/errors'
import { roleOf } from '../../api/session'
import { createSubmission } from '../../client/sdk.gen'
import type { SubmissionPublic } from '../../client/types.gen'
import { CsvFileInput, type PickedFile, RefusedRows } from '../../components/CsvFile'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime, formatNumber } from '../../lib/format'
import { refusedRows } from '../../lib/refusals'
import { useSession } from '../../session'

const PAGE = 50

function columns(showPartner: boolean): Column<SubmissionPublic>[] {
  return [
    { id: 'id', header: 'Forecast', value: (s) => s.id, numeric: true,
      cell: (s) => <Link to="/submissions/$submissionId" params={{ submissionId: String(s.id) }}>{s.partner_id} v{s.version}</Link> },
    ...(showPartner ? [{ id: 'partner', header: 'Partner', value: (s: SubmissionPublic) => s.partner_id }] : []),
    { id: 'version', header: 'Version', value: (s) => s.version, numeric: true },
    { id: 'created', header: 'Submitted', value: (s) => s.created_at, cell: (s) => formatDateTime(s.created_at) },
    { id: 'author', header: 'By', value: (s) => s.author },
    { id: 'rows', header: 'Series-periods', value: (s) => s.row_count, numeric: true, cell: (s) => formatNumber(s.row_count) },
    { id: 'note', header: 'Note', value: (s) => s.note || '—' },
  ]
}

export function Submissions() {
  const { page = 1 } = useSearch({ from: '/authed/submissions' })
  const navigate = useNavigate({ from: '/submissions' })
  const partner = roleOf(useSession()) === 'partner'
  const list = useQuery({ ...submissionListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Forecasts" subtitle={partner
        ? 'Your own demand forecasts: each file you submit is kept as the next version; the consensus uses the latest.'
        : "The partners' own forecasts, every version."} />
      <Section title="Submit a forecast" id="submit"><SubmitForm staff={!partner} /></Section>
      <Section title="Versions" id="versions">
        <Loaded query={list} label="Loading forecasts">
          {(d) => (
            <>
              <DataTable caption={`${d.total} version${d.total === 1 ? '' : 's'}`} columns={columns(!partner)} rows={d.items}
                rowKey={(s) => String(s.id)} empty="No forecasts submitted yet." testId="submission-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: { page: p } })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function SubmitForm({ staff }: { staff: boolean }) {
  const queryClient = useQueryClient()
  const [file, setFile] = useState<PickedFile | null>(null)
  const [note, setNote] = useState('')
  const [freq, setFreq] = useState<'' | 'W' | 'M'>('')
  const [keysText, setKeysText] = useState('')
  const [partnerId, setPartnerId] = useState('')
  const [formKey, setFormKey] = useState(0)
  const partners = useQuery({ ...partnersQuery, enabled: staff })
  const send = useMutation({
    mutationFn: (f: PickedFile) => data(createSubmission({
      ...csvBody(f.text),
      query: {
        ...(note.trim() ? { note: note.trim() } : {}),
        ...(freq ? { freq } : {}),
        ...(keysText.trim() ? { keys: keysText.trim() } : {}),
        ...(staff ? { partner_id: partnerId } : {}),
      },
    })),
    onSuccess: async () => {
      setFile(null)
      setNote('')
      setFormKey((k) => k + 1)
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.submissions })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (file) send.mutate(file)
  }
  const error = send.error
  const refusal = error instanceof ApiError && error.status === 422 && error.fields.length > 0 && send.variables
    ? refusedRows(error.fields, send.variables.text) : null
  return (
    <form onSubmit={submit} data-testid="submit-form">
      <CsvFileInput key={formKey} label="Forecast file (CSV)" onPick={(f) => { setFile(f); send.reset() }}
        hint="Key columns (e.g. product, site) or unique_id, a date column (date or ds) and a value column (value, p50 or quantity) [units per period]." />
      <div className="form-row">
        {staff && (
          <div className="field">
            <label htmlFor="sub-partner">For partner</label>
            <select id="sub-partner" value={partnerId} onChange={(e) => setPartnerId(e.target.value)} required>
              <option value="">choose…</option>
              {(partners.data?.items ?? []).map((p) => <option key={p.id} value={p.id}>{p.name} ({p.id})</option>)}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="sub-note">Note</label>
          <input id="sub-note" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} placeholder="e.g. forecast round of December" size={36} />
        </div>
        <div className="field">
          <label htmlFor="sub-freq">Sum into</label>
          <select id="sub-freq" value={freq} onChange={(e) => setFreq(e.target.value as '' | 'W' | 'M')}>
            <option value="">the file's own periods</option>
            <option value="M">months</option>
            <option value="W">weeks</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="sub-keys">Key columns</label>
          <input id="sub-keys" value={keysText} onChange={(e) => setKeysText(e.target.value)} placeholder="every other column" size={20} />
        </div>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={!file || send.isPending || (staff && !partnerId)}>
          {send.isPending ? 'Checking…' : 'Submit as the next version'}
        </button>
      </div>
      {send.isSuccess && (
        <p className="notice ok" role="status" data-testid="submission-stored">
          Stored as <Link to="/submissions/$submissionId" params={{ submissionId: String(send.data.id) }}>version {send.data.version}</Link>:{' '}
          {formatNumber(send.data.row_count)} series-periods.
        </p>
      )}
      {refusal ? <RefusedRows refusal={refusal} fileName={send.variables?.name} /> : <ActionError error={error} />}
    </form>
  )
}
