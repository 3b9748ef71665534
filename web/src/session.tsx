// The signed-in session as app state: one query (['session']) filled by /auth/me or the sign-in,
// read by the shell and the views. The router checks it before any signed-in page.
import { queryOptions, useQuery } from '@tanstack/react-query'

import { fetchSession, type Session } from './api/session'

export const sessionQuery = queryOptions({
  queryKey: ['session'] as const,
  queryFn: fetchSession,
  staleTime: Infinity,
})

/** The session of a signed-in page (the router only renders those with one). */
export function useSession(): Session {
  const { data } = useQuery(sessionQuery)
  if (!data) throw new Error('no session: signed-in pages are only rendered with one')
  return data
}
