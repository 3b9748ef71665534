// Partners (api/routes/partners.py): every partner of the chain; admins register one, and
// disable (its users are refused until it is enabled again) or enable it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'

import { adminKeys, partnersQuery } from '../../api/admin'
import { data } from '../../api/client'
import { createPartner, disablePartner, enablePartner } from '../../client/sdk.gen'
import type { PartnerCreate, PartnerPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'

const ROLES = ['manufacturer', 'wholesaler', 'transporter', 'retailer'] as const

export function Partners() {
  const queryClient = useQueryClient()
  const list = useQuery(partnersQuery)
  const refresh = () => queryClient.invalidateQueries({ queryKey: adminKeys.partners })
  const toggle = useMutation({
    mutationFn: (p: PartnerPublic) => data(p.disabled ? enablePartner({ path: { partner_id: p.id } }) : disablePartner({ path: { partner_id: p.id } })),
    onSuccess: refresh,
  })
  const columns: Column<PartnerPublic>[] = [
    { id: 'id', header: 'Partner', value: (p) => p.id, cell: (p) => <code>{p.id}</code> },
    { id: 'name', header: 'Name', value: (p) => p.name },
    { id: 'role', header: 'Role', value: (p) => p.role ?? '—' },
    { id: 'created', header: 'Registered', value: (p) => p.created_at, cell: (p) => formatDateTime(p.created_at) },
    { id: 'state', header: 'State', value: (p) => (p.disabled ? 1 : 0),
      cell: (p) => (p.disabled ? <span className="badge badge-failed">Disabled</span> : <span className="badge badge-done">Active</span>) },
    { id: 'action', header: 'Action', value: () => '', sortable: false,
      cell: (p) => <button type="button" className={p.disabled ? 'secondary small' : 'danger small'} disabled={toggle.isPending}
        onClick={() => toggle.mutate(p)} aria-label={`${p.disabled ? 'Enable' : 'Disable'} ${p.id}`}>{p.disabled ? 'Enable' : 'Disable'}</button> },
  ]
  return (
    <>
      <PageHeader title="Partners" subtitle="The companies of the chain; a disabled partner's users are refused until it is enabled again (its data stay)." />
      <Section title="Register a partner" id="new-partner"><NewPartner onDone={refresh} /></Section>
      <Section title="Partners" id="partners">
        <ActionError error={toggle.error} />
        <Loaded query={list} label="Loading partners">
          {(d) => <DataTable caption={`${d.total} partner${d.total === 1 ? '' : 's'}`} columns={columns} rows={d.items} rowKey={(p) => p.id} testId="partner-list" />}
        </Loaded>
      </Section>
    </>
  )
}

function NewPartner({ onDone }: { onDone: () => unknown }) {
  const [id, setId] = useState('')
  const [name, setName] = useState('')
  const [role, setRole] = useState<'' | NonNullable<PartnerCreate['role']>>('')
  const create = useMutation({
    mutationFn: () => data(createPartner({ body: { id: id.trim(), name: name.trim(), ...(role ? { role } : {}) } })),
    onSuccess: async () => {
      setId('')
      setName('')
      await onDone()
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    create.mutate()
  }
  return (
    <form className="form-row" onSubmit={submit} data-testid="new-partner">
      <div className="field">
        <label htmlFor="np-id">Id (as in the scenarios)</label>
        <input id="np-id" value={id} onChange={(e) => setId(e.target.value)} required maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*" title="letters, digits, _ . -" />
      </div>
      <div className="field">
        <label htmlFor="np-name">Company name</label>
        <input id="np-name" value={name} onChange={(e) => setName(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor="np-role">Role in the chain</label>
        <select id="np-role" value={role} onChange={(e) => setRole(e.target.value as typeof role)}>
          <option value="">not known</option>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </div>
      <div className="field"><button type="submit" className="primary" disabled={create.isPending}>Register partner</button></div>
      {create.isSuccess && <p className="notice ok" role="status">Partner {create.data.id} registered.</p>}
      <ActionError error={create.error} />
    </form>
  )
}
