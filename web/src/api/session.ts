// Sign-in with a name and password (the API's /auth routes): a session cookie set by the API
// (HttpOnly) and a CSRF token kept in memory only (never in storage); after a reload
// GET /auth/me gives it again.
import { authMe, login, logout } from '../client/sdk.gen'
import type { SessionInfo } from '../client/types.gen'
import { data, setCsrfToken } from './client'
import { ApiError } from './errors'

export type Role = 'admin' | 'planner' | 'finance' | 'partner'
export type Session = SessionInfo

function remember(session: Session): Session {
  setCsrfToken(session.csrf_token)
  return session
}

/** The live session, or null when signed out (401). */
export async function fetchSession(): Promise<Session | null> {
  try {
    return remember(await data(authMe()))
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setCsrfToken(null)
      return null
    }
    throw e
  }
}

export async function signIn(name: string, password: string): Promise<Session> {
  return remember(await data(login({ body: { name, password } })))
}

export async function signOut(): Promise<void> {
  try {
    await logout()
  } finally {
    setCsrfToken(null)
  }
}

export function roleOf(session: Session | null | undefined): Role | null {
  const r = session?.user.role
  return r === 'admin' || r === 'planner' || r === 'finance' || r === 'partner' ? r : null
}
