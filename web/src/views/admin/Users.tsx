// Users (api/routes/users.py, admins only): every user with its role, partner and whether it can
// sign in from a browser; a new user (with a password, or tokens only), whose first token is
// shown once.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { adminKeys, partnersQuery, userListQuery } from '../../api/admin'
import { data } from '../../api/client'
import { addUser } from '../../client/sdk.gen'
import type { UserCreate, UserPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { ActionError, Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { OneTimeToken } from './OneTimeToken'

const PAGE = 50
export const ROLES: UserCreate['role'][] = ['planner', 'finance', 'partner', 'admin']
export const PASSWORD_MIN = 10 // api/web_auth.py PASSWORD_MIN

export function UserState({ user }: { user: UserPublic }) {
  return user.disabled ? <span className="badge badge-failed">Disabled</span> : <span className="badge badge-done">Active</span>
}

const columns: Column<UserPublic>[] = [
  { id: 'name', header: 'User', value: (u) => u.name, cell: (u) => <Link to="/users/$userId" params={{ userId: String(u.id) }}>{u.name}</Link> },
  { id: 'role', header: 'Role', value: (u) => u.role },
  { id: 'partner', header: 'Partner', value: (u) => u.partner_id ?? '—' },
  { id: 'password', header: 'Browser sign-in', value: (u) => (u.has_password ? 1 : 0), cell: (u) => (u.has_password ? 'password set' : 'tokens only') },
  { id: 'state', header: 'State', value: (u) => (u.disabled ? 1 : 0), cell: (u) => <UserState user={u} /> },
  { id: 'created', header: 'Created', value: (u) => u.created_at, cell: (u) => formatDateTime(u.created_at) },
]

export function Users() {
  const { page = 1 } = useSearch({ from: '/authed/users' })
  const navigate = useNavigate({ from: '/users' })
  const list = useQuery({ ...userListQuery(PAGE, (page - 1) * PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Users" subtitle="Who may sign in, in which role; a partner's users see only that partner's data." />
      <Section title="New user" id="new-user"><NewUser /></Section>
      <Section title="Users" id="users">
        <Loaded query={list} label="Loading users">
          {(d) => (
            <>
              <DataTable caption={`${d.total} user${d.total === 1 ? '' : 's'}`} columns={columns} rows={d.items} rowKey={(u) => String(u.id)} testId="user-list" />
              <Pager page={page} pageSize={PAGE} total={d.total} onPage={(p) => void navigate({ search: { page: p } })} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}

function NewUser() {
  const queryClient = useQueryClient()
  const partners = useQuery(partnersQuery)
  const [name, setName] = useState('')
  const [role, setRole] = useState<UserCreate['role']>('planner')
  const [partnerId, setPartnerId] = useState('')
  const [password, setPassword] = useState('')
  const [localError, setLocalError] = useState<string | null>(null)
  const create = useMutation({
    mutationFn: (body: UserCreate) => data(addUser({ body })),
    onSuccess: async () => {
      setName('')
      setPassword('')
      await queryClient.invalidateQueries({ queryKey: adminKeys.users })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (password && password.length < PASSWORD_MIN) return setLocalError(`A password has at least ${PASSWORD_MIN} characters.`)
    if (role === 'partner' && !partnerId) return setLocalError('A partner user belongs to a partner: choose it.')
    setLocalError(null)
    create.mutate({ name: name.trim(), role, ...(role === 'partner' ? { partner_id: partnerId } : {}), ...(password ? { password } : {}) })
  }
  return (
    <form onSubmit={submit} data-testid="new-user">
      <div className="form-row">
        <div className="field">
          <label htmlFor="nu-name">Name</label>
          <input id="nu-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} pattern="[A-Za-z0-9][A-Za-z0-9_.@\-]*"
            title="letters, digits, _ . @ -" autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="nu-role">Role</label>
          <select id="nu-role" value={role} onChange={(e) => setRole(e.target.value as UserCreate['role'])}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </div>
        {role === 'partner' && (
          <div className="field">
            <label htmlFor="nu-partner">Partner</label>
            <select id="nu-partner" value={partnerId} onChange={(e) => setPartnerId(e.target.value)}>
              <option value="">choose…</option>
              {(partners.data?.items ?? []).filter((p) => !p.disabled).map((p) => <option key={p.id} value={p.id}>{p.name} ({p.id})</option>)}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="nu-password">Password (optional)</label>
          <input id="nu-password" type="password" value={password} autoComplete="new-password" onChange={(e) => setPassword(e.target.value)}
            placeholder={`${PASSWORD_MIN}+ characters`} />
        </div>
        <div className="field"><button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? 'Creating…' : 'Create user'}</button></div>
      </div>
      <p className="hint">Without a password the user works only with bearer tokens (scripts); set one later on its page.</p>
      {localError && <p className="action-error" role="alert">{localError}</p>}
      {create.isSuccess && (
        <OneTimeToken token={create.data.token} what={<>User <Link to="/users/$userId" params={{ userId: String(create.data.user.id) }}>{create.data.user.name}</Link> created ({create.data.user.role}). Its first token</>} />
      )}
      <ActionError error={create.error} />
    </form>
  )
}
