// Sign in with a name and password. The API rate-limits failed attempts (429 with Retry-After).
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useRouter, useSearch } from '@tanstack/react-router'
import { type FormEvent, useEffect, useRef, useState } from 'react'

import { ApiError } from '../../api/errors'
import { signIn } from '../../api/session'
import { sessionQuery } from '../../session'

export function SignIn() {
  const { next } = useSearch({ from: '/signin' })
  const navigate = useNavigate()
  const router = useRouter()
  const queryClient = useQueryClient()
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const nameRef = useRef<HTMLInputElement>(null)
  useEffect(() => {
    document.title = 'Sign in · jointplan'
    nameRef.current?.focus()
  }, [])
  const login = useMutation({
    mutationFn: () => signIn(name.trim(), password),
    onSuccess: async (session) => {
      queryClient.clear()
      queryClient.setQueryData(sessionQuery.queryKey, session)
      setPassword('')
      if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin')) {
        await router.navigate({ href: next })
      } else {
        await navigate({ to: '/' })
      }
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (name.trim() && password) login.mutate()
  }
  const error = login.error
  const message = error instanceof ApiError
    ? error.status === 429
      ? `Too many failed attempts. Try again${error.retryAfter ? ` in ${error.retryAfter} s` : ' later'}.`
      : error.status === 401 ? 'Wrong name or password.' : error.detail
    : error ? String(error) : null
  return (
    <main id="main" className="signin-page">
      <div className="signin-card">
        <p className="brand signin-brand"><span className="brand-mark" aria-hidden="true">◆</span> jointplan</p>
        <h1>Sign in</h1>
        <p className="muted">Collaborative supply-chain planning for the partners of a chain and their financiers.</p>
        <form onSubmit={submit} noValidate>
          <label htmlFor="signin-name">Name</label>
          <input id="signin-name" ref={nameRef} name="username" autoComplete="username" value={name}
            onChange={(e) => setName(e.target.value)} required aria-invalid={error ? true : undefined} />
          <label htmlFor="signin-password">Password</label>
          <input id="signin-password" name="password" type="password" autoComplete="current-password" value={password}
            onChange={(e) => setPassword(e.target.value)} required aria-invalid={error ? true : undefined} />
          {message && <div className="action-error" role="alert">{message}</div>}
          <button type="submit" className="primary wide" disabled={login.isPending || !name.trim() || !password}>
            {login.isPending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  )
}
