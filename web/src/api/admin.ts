// Query definitions of the chain's members (api/routes: partners, users): keys and fetchers,
// each a generated SDK call. Everyone lists partners (a partner user sees only its own);
// users are an admin's.
import { queryOptions } from '@tanstack/react-query'

import { getUser, listPartners, listTokens, listUsers } from '../client/sdk.gen'
import { data } from './client'
import { fetchAllPages } from './queries'

export const adminKeys = {
  partners: ['partners'] as const,
  users: ['users'] as const,
  userList: (limit: number, offset: number) => ['users', 'list', limit, offset] as const,
  user: (id: number) => ['users', id] as const,
  tokens: (id: number) => ['users', id, 'tokens'] as const,
}

/** Every partner the caller sees (ids, names and roles are used all over the app). */
export const partnersQuery = queryOptions({
  queryKey: [...adminKeys.partners, 'all'] as const,
  queryFn: () => fetchAllPages((limit, offset) => data(listPartners({ query: { limit, offset } }))),
  staleTime: 60_000,
})

export const userListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: adminKeys.userList(limit, offset),
  queryFn: () => data(listUsers({ query: { limit, offset } })),
})

export const userQuery = (id: number) => queryOptions({
  queryKey: adminKeys.user(id),
  queryFn: () => data(getUser({ path: { user_id: id } })),
})

export const tokensQuery = (id: number) => queryOptions({
  queryKey: adminKeys.tokens(id),
  queryFn: () => data(listTokens({ path: { user_id: id } })),
})
