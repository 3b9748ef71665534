// Sign-in with a name and password (the API's /auth routes): a session cookie set by the API
// and a CSRF token kept in memory (never in storage); after a reload /auth/me gives it again.
import type { UserPublic } from '../client/types.gen'
import { client, data, setCsrfToken } from './client'
import { ApiError } from './errors'

export type Role = 'admin' | 'planner' | 'finance' | 'partner'

export interface Session {
  user: UserPublic
  csrf_token: string
  expires_at: string
}

function remember(session: Session): Session {
  setCsrfToken(session.csrf_token)
  return session
}

/** The live session, or null when signed out (401). */
export async function fetchSession(): Promise<Session | null> {
  try {
    return remember(await data(client.get<{ 200: Session }, unknown, true>({ url: '/auth/me' })))
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setCsrfToken(null)
      return null
    }
    throw e
  }
}

export async function signIn(name: string, password: string): Promise<Session> {
  return remember(await data(client.post<{ 200: Session }, unknown, true>({
    url: '/auth/login',
    body: { name, password },
    headers: { 'Content-Type': 'application/json' },
  })))
}

export async function signOut(): Promise<void> {
  try {
    await client.post<{ 204: void }, unknown, true>({ url: '/auth/logout' })
  } finally {
    setCsrfToken(null)
  }
}

export function roleOf(session: Session | null | undefined): Role | null {
  const r = session?.user.role
  return r === 'admin' || r === 'planner' || r === 'finance' || r === 'partner' ? r : null
}
