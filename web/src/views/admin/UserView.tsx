// One user (GET /users/{id}): set its browser password (PUT /users/{id}/password: its other
// sessions end), issue a new token (shown once) and revoke old ones (a token reset), or disable
// it (its tokens are revoked and its sessions ended).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { adminKeys, tokensQuery, userQuery } from '../../api/admin'
import { data } from '../../api/client'
import { disableUser, newToken, revokeOneToken, setPassword } from '../../client/sdk.gen'
import type { TokenPublic, UserPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { useSession } from '../../session'
import { parseId } from '../scenarios/ScenarioView'
import { OneTimeToken } from './OneTimeToken'
import { PASSWORD_MIN, UserState } from './Users'

export function UserView() {
  const { userId: raw } = useParams({ from: '/authed/users/$userId' })
  const id = parseId(raw)
  if (id === null) return <NotFound what={`user ${raw}`} />
  return <UserPage id={id} />
}

function UserPage({ id }: { id: number }) {
  const user = useQuery(userQuery(id))
  if (isNotFound(user)) return <NotFound detail={user.error.detail} />
  const u = user.data
  return (
    <>
      <PageHeader title={u ? u.name : `User ${id}`} crumbs={[{ label: 'Users', to: '/users' }, { label: u?.name ?? `User ${id}` }]}
        subtitle={u ? <>{u.role}{u.partner_id ? ` of ${u.partner_id}` : ''} · <UserState user={u} /></> : undefined} />
      <Loaded query={user} label="Loading the user">{(x) => <UserBody user={x} />}</Loaded>
    </>
  )
}

function UserBody({ user }: { user: UserPublic }) {
  const queryClient = useQueryClient()
  const me = useSession().user
  const refresh = () => queryClient.invalidateQueries({ queryKey: adminKeys.users })
  const [confirm, setConfirm] = useState(false)
  const disable = useMutation({ mutationFn: () => data(disableUser({ path: { user_id: user.id } })), onSuccess: refresh })
  return (
    <>
      <Section title="User" id="user" actions={user.disabled ? undefined : confirm ? (
        <div className="toolbar" role="group" aria-label="Confirm disable">
          <span>Its tokens are revoked and its sessions ended.</span>
          <button type="button" className="danger" disabled={disable.isPending} onClick={() => disable.mutate()}>Disable {user.name}</button>
          <button type="button" className="secondary" onClick={() => setConfirm(false)}>Keep</button>
        </div>
      ) : <button type="button" className="danger" disabled={user.id === me.id} onClick={() => setConfirm(true)}
        title={user.id === me.id ? 'You cannot disable yourself here' : undefined}>Disable…</button>}>
        <dl className="facts">
          <div><dt>Role</dt><dd>{user.role}</dd></div>
          <div><dt>Partner</dt><dd>{user.partner_id ?? '—'}</dd></div>
          <div><dt>Browser sign-in</dt><dd data-testid="has-password">{user.has_password ? 'password set' : 'tokens only'}</dd></div>
          <div><dt>State</dt><dd data-testid="user-state">{user.disabled ? 'Disabled' : 'Active'}</dd></div>
          <div><dt>Created</dt><dd>{formatDateTime(user.created_at)}</dd></div>
        </dl>
        <ActionError error={disable.error} />
      </Section>
      {!user.disabled && <Section title="Password" id="password"><PasswordForm user={user} /></Section>}
      <Section title="Tokens" id="tokens"><Tokens user={user} /></Section>
    </>
  )
}

function PasswordForm({ user }: { user: UserPublic }) {
  const queryClient = useQueryClient()
  const [password, setPw] = useState('')
  const [repeat, setRepeat] = useState('')
  const [localError, setLocalError] = useState<string | null>(null)
  const save = useMutation({
    mutationFn: () => data(setPassword({ path: { user_id: user.id }, body: { password } })),
    onSuccess: async () => {
      setPw('')
      setRepeat('')
      await queryClient.invalidateQueries({ queryKey: adminKeys.users })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (password.length < PASSWORD_MIN) return setLocalError(`At least ${PASSWORD_MIN} characters.`)
    if (password !== repeat) return setLocalError('The two passwords differ.')
    setLocalError(null)
    save.mutate()
  }
  return (
    <form className="form-row" onSubmit={submit} data-testid="password-form">
      <div className="field">
        <label htmlFor="pw-new">New password</label>
        <input id="pw-new" type="password" autoComplete="new-password" value={password} onChange={(e) => setPw(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="pw-repeat">Repeat it</label>
        <input id="pw-repeat" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
      </div>
      <div className="field"><button type="submit" className="primary" disabled={save.isPending}>{user.has_password ? 'Reset password' : 'Set password'}</button></div>
      {localError && <p className="action-error" role="alert">{localError}</p>}
      {save.isSuccess && <p className="notice ok" role="status" data-testid="password-set">Password set; {save.data.sessions_revoked} browser session{save.data.sessions_revoked === 1 ? '' : 's'} of {user.name} ended.</p>}
      <ActionError error={save.error} />
    </form>
  )
}

function Tokens({ user }: { user: UserPublic }) {
  const queryClient = useQueryClient()
  const tokens = useQuery(tokensQuery(user.id))
  const refresh = () => queryClient.invalidateQueries({ queryKey: adminKeys.tokens(user.id) })
  const issue = useMutation({ mutationFn: () => data(newToken({ path: { user_id: user.id } })), onSuccess: refresh })
  const revoke = useMutation({ mutationFn: (tokenId: number) => data(revokeOneToken({ path: { user_id: user.id, token_id: tokenId } })), onSuccess: refresh })
  const columns: Column<TokenPublic>[] = [
    { id: 'id', header: 'Token', value: (t) => t.id, numeric: true },
    { id: 'created', header: 'Issued', value: (t) => t.created_at, cell: (t) => formatDateTime(t.created_at) },
    { id: 'used', header: 'Last used', value: (t) => t.last_used_at ?? '', cell: (t) => formatDateTime(t.last_used_at) },
    { id: 'state', header: 'State', value: (t) => t.revoked_at ?? '', cell: (t) => (t.revoked_at ? `revoked ${formatDateTime(t.revoked_at)}` : 'live') },
    { id: 'revoke', header: 'Revoke', value: () => '', sortable: false,
      cell: (t) => (t.revoked_at ? '' : <button type="button" className="danger small" disabled={revoke.isPending}
        onClick={() => revoke.mutate(t.id)} aria-label={`Revoke token ${t.id}`}>Revoke</button>) },
  ]
  return (
    <>
      <div className="toolbar">
        <button type="button" className="primary" disabled={user.disabled || issue.isPending} onClick={() => issue.mutate()}>Issue a new token</button>
        <span className="hint">Earlier tokens stay valid until revoked: to reset, issue a new one, then revoke the old.</span>
      </div>
      {issue.isSuccess && <OneTimeToken token={issue.data.token} what={<>Token {issue.data.token_id} of {user.name}</>} />}
      <ActionError error={issue.error ?? revoke.error} />
      <Loaded query={tokens} label="Loading tokens">
        {(ts) => <DataTable caption={`${ts.length} token${ts.length === 1 ? '' : 's'}`} hideCaption columns={columns} rows={ts} rowKey={(t) => String(t.id)} testId="tokens" />}
      </Loaded>
    </>
  )
}
