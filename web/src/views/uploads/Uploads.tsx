// Shared sales history (api/routes/uploads.py): send a CSV file (POST /uploads, text/csv), see
// every refused row with its reasons (the API's 422; nothing is stored then), and the uploads
// made so far (GET /uploads: a partner sees its own), each with its rows and retract.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { partnersQuery } from '../../api/admin'
import { csvBody, data } from '../../api/client'
import { cpfrKeys, uploadListQuery } from '../../api/cpfr'
import { ApiError } from '../../api/errors'
import { roleOf } from '../../api/session'
import { createUpload } from '../../client/sdk.gen'
import type { UploadPublic } from '../../client/types.gen'
import { CsvFileInput, type PickedFile, RefusedRows } from '../../components/CsvFile'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime, formatNumber, randomKey } from '../../lib/format'
import { refusedRows } from '../../lib/refusals'
import { useSession } from '../../session'

const PAGE = 50

export function uploadColumns(showPartner: boolean): Column<UploadPublic>[] {
  return [
    { id: 'id', header: 'Upload', value: (u) => u.id, numeric: true,
      cell: (u) => <Link to="/uploads/$uploadId" params={{ uploadId: String(u.id) }}>Upload {u.id}</Link> },
    ...(showPartner ? [{ id: 'partner', header: 'Partner', value: (u: UploadPublic) => u.partner_id }] : []),
    { id: 'created', header: 'Uploaded', value: (u) => u.created_at, cell: (u) => formatDateTime(u.created_at) },
    { id: 'uploader', header: 'By', value: (u) => u.uploader },
    { id: 'rows', header: 'Rows', value: (u) => u.row_count, numeric: true, cell: (u) => formatNumber(u.row_count) },
    { id: 'keys', header: 'Key columns', value: (u) => u.keys.join(', ') },
    { id: 'state', header: 'State', value: (u) => (u.retracted_at ? 'retracted' : 'counts'),
      cell: (u) => (u.retracted_at ? <span className="badge badge-cancelled">Retracted {formatDateTime(u.retracted_at)}</span>
        : <span className="badge badge-done">Counts</span>) },
  ]
}

export function Uploads() {
  const { page = 1 } = useSearch({ from: '/authed/uploads' })
  const navigate = useNavigate({ from: '/uploads' })
  const session = useSession()
  const partner = roleOf(session) === 'partner'
  const list = useQuery({ ...uploadListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Sales history" subtitle={partner
        ? 'Share your sales history with the chain: every upload is kept with who sent it and when; a later upload corrects a value, and you can retract one.'
        : "The partners' shared sales history: every upload with who sent it and when."} />
      <Section title="Upload a CSV file" id="upload">
        <UploadForm staff={!partner} />
      </Section>
      <Section title="Uploads" id="uploads">
        <Loaded query={list} label="Loading uploads">
          {(d) => (
            <>
              <DataTable caption={`${d.total} upload${d.total === 1 ? '' : 's'}`} columns={uploadColumns(!partner)} rows={d.items}
                rowKey={(u) => String(u.id)} empty="No uploads yet." testId="upload-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: { page: p } })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function UploadForm({ staff }: { staff: boolean }) {
  const queryClient = useQueryClient()
  const [file, setFile] = useState<PickedFile | null>(null)
  // one key per file picked: a request retried (or sent twice) stores the upload once
  const [idempotencyKey, setIdempotencyKey] = useState('')
  const [partnerId, setPartnerId] = useState('')
  const [formKey, setFormKey] = useState(0)
  const partners = useQuery({ ...partnersQuery, enabled: staff })
  const send = useMutation({
    mutationFn: (f: PickedFile) => data(createUpload({
      ...csvBody(f.text),
      headers: { 'Content-Type': 'text/csv', 'Idempotency-Key': idempotencyKey },
      ...(staff ? { query: { partner_id: partnerId } } : {}),
    })),
    onSuccess: async () => {
      setFile(null)
      setFormKey((k) => k + 1)
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.uploads })
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.history })
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
    <form onSubmit={submit} data-testid="upload-form">
      <CsvFileInput key={formKey} label="Sales history file (CSV)" onPick={(f) => { setFile(f); setIdempotencyKey(randomKey()); send.reset() }}
        hint="A header row, then one row per series and date: the key columns (e.g. product, site), date and quantity [units]. Nothing is stored unless every row is right." />
      {staff && (
        <div className="field">
          <label htmlFor="upload-partner">For partner</label>
          <select id="upload-partner" value={partnerId} onChange={(e) => setPartnerId(e.target.value)} required>
            <option value="">choose…</option>
            {(partners.data?.items ?? []).map((p) => <option key={p.id} value={p.id}>{p.name} ({p.id})</option>)}
          </select>
        </div>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={!file || send.isPending || (staff && !partnerId)}>
          {send.isPending ? 'Checking…' : 'Check and upload'}
        </button>
      </div>
      {send.isSuccess && (
        <p className="notice ok" role="status" data-testid="upload-stored">
          Stored as <Link to="/uploads/$uploadId" params={{ uploadId: String(send.data.id) }}>upload {send.data.id}</Link>:{' '}
          {formatNumber(send.data.row_count)} rows of {send.data.keys.join(', ')}.
        </p>
      )}
      {refusal ? <RefusedRows refusal={refusal} fileName={send.variables?.name} /> : <ActionError error={error} />}
    </form>
  )
}
