// One upload (GET /uploads/{id}) with its rows, and retract (POST /uploads/{id}/retract): its
// rows stop counting, the upload stays with who retracted it and when. Another partner's upload
// is "Not found", as the API answers.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { useMemo, useState } from 'react'

import { data } from '../../api/client'
import { cpfrKeys, uploadQuery } from '../../api/cpfr'
import { retractUpload } from '../../client/sdk.gen'
import type { UploadDetail } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { formatDate, formatDateTime, formatNumber } from '../../lib/format'
import { parseId } from '../scenarios/ScenarioView'

type Row = Record<string, unknown>

export function UploadView() {
  const { uploadId: raw } = useParams({ from: '/authed/uploads/$uploadId' })
  const id = parseId(raw)
  if (id === null) return <NotFound what={`upload ${raw}`} />
  return <UploadPage id={id} />
}

function UploadPage({ id }: { id: number }) {
  const upload = useQuery(uploadQuery(id))
  if (isNotFound(upload)) return <NotFound detail={upload.error.detail} />
  return (
    <>
      <PageHeader title={`Upload ${id}`} crumbs={[{ label: 'Sales history', to: '/uploads' }, { label: `Upload ${id}` }]}
        subtitle={upload.data ? `${upload.data.partner_id} · ${formatNumber(upload.data.row_count)} rows · by ${upload.data.uploader}, ${formatDateTime(upload.data.created_at)}` : undefined} />
      <Loaded query={upload} label="Loading the upload">{(u) => <UploadBody upload={u} />}</Loaded>
    </>
  )
}

function UploadBody({ upload }: { upload: UploadDetail }) {
  const queryClient = useQueryClient()
  const [confirming, setConfirming] = useState(false)
  const retract = useMutation({
    mutationFn: () => data(retractUpload({ path: { upload_id: upload.id } })),
    onSuccess: async () => {
      setConfirming(false)
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.uploads })
      await queryClient.invalidateQueries({ queryKey: cpfrKeys.history })
    },
  })
  const columns = useMemo((): Column<Row>[] => [
    ...upload.keys.map((k): Column<Row> => ({ id: `k-${k}`, header: k, value: (r) => String(r[k] ?? '') })),
    { id: 'date', header: 'Date', value: (r) => String(r.date ?? ''), cell: (r) => formatDate(String(r.date ?? '')) },
    { id: 'quantity', header: 'Quantity [units]', value: (r) => Number(r.quantity), numeric: true, cell: (r) => formatNumber(Number(r.quantity), 2) },
  ], [upload.keys])
  return (
    <>
      <Section title="Upload" id="upload" actions={upload.retracted_at ? undefined : (
        confirming ? (
          <div className="toolbar" role="group" aria-label="Confirm retract">
            <span>Its rows stop counting; the previous value of each series and date counts again.</span>
            <button type="button" className="danger" onClick={() => retract.mutate()} disabled={retract.isPending}>Retract upload {upload.id}</button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>Keep it</button>
          </div>
        ) : <button type="button" className="danger" onClick={() => setConfirming(true)}>Retract…</button>
      )}>
        <dl className="facts">
          <div><dt>Partner</dt><dd>{upload.partner_id}</dd></div>
          <div><dt>Uploaded</dt><dd>{formatDateTime(upload.created_at)} by {upload.uploader}</dd></div>
          <div><dt>Format</dt><dd>{upload.format.toUpperCase()}</dd></div>
          <div><dt>Rows</dt><dd>{formatNumber(upload.row_count)}</dd></div>
          <div><dt>Key columns</dt><dd>{upload.keys.join(', ')}</dd></div>
          <div><dt>Content (SHA-256)</dt><dd><code title={upload.content_hash}>{upload.content_hash.slice(0, 16)}…</code></dd></div>
          <div><dt>State</dt><dd data-testid="upload-state">{upload.retracted_at
            ? `Retracted ${formatDateTime(upload.retracted_at)}${upload.retracted_by ? ` by ${upload.retracted_by}` : ''}`
            : 'Counts'}</dd></div>
        </dl>
        <ActionError error={retract.error} />
      </Section>
      <Section title="Rows" id="rows">
        <DataTable caption={`${formatNumber(upload.rows.length)} rows`} columns={columns} rows={upload.rows as Row[]} testId="upload-rows" />
      </Section>
    </>
  )
}
