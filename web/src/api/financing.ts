// Query definitions of financing on confirmed invoices (api/routes/financing.py,
// financing_book.py) and a plan's funding at risk (api/routes/at_risk.py): keys and fetchers,
// each a generated SDK call.
import { queryOptions } from '@tanstack/react-query'

import { advances, getAtRisk, getLimit, getRequest, ledgerEntries, listProgrammes, listRequests } from '../client/sdk.gen'
import { data } from './client'

export const financingKeys = {
  all: ['financing'] as const,
  programmes: ['financing', 'programmes'] as const,
  limit: (programmeId: number, partner: string) => ['financing', 'limit', programmeId, partner] as const,
  requests: (status: string | null, limit: number, offset: number) => ['financing', 'requests', status, limit, offset] as const,
  request: (id: number) => ['financing', 'request', id] as const,
  advances: (limit: number, offset: number) => ['financing', 'advances', limit, offset] as const,
  ledger: ['financing', 'ledger'] as const,
  atRisk: (planId: number, runId: number) => ['plans', planId, 'at-risk', runId] as const,
}

/** The programmes the caller may see (a partner: those open to it), up to 200. */
export const programmesQuery = () => queryOptions({
  queryKey: financingKeys.programmes,
  queryFn: () => data(listProgrammes({ query: { limit: 200 } })),
})

/** A supplier's effective limit in a programme: amount, basis, drawn, the rule's steps, overrides. */
export const limitQuery = (programmeId: number, partner: string) => queryOptions({
  queryKey: financingKeys.limit(programmeId, partner),
  queryFn: () => data(getLimit({ path: { programme_id: programmeId, partner_id: partner } })),
})

/** A page of requests (a partner: its own), filtered by status (in_review: oldest first). */
export const requestsQuery = (status: 'approved' | 'in_review' | 'declined' | null, limit: number, offset: number) => queryOptions({
  queryKey: financingKeys.requests(status, limit, offset),
  queryFn: () => data(listRequests({ query: { status, limit, offset } })),
})

export const requestQuery = (id: number) => queryOptions({
  queryKey: financingKeys.request(id),
  queryFn: () => data(getRequest({ path: { request_id: id } })),
})

export const advancesQuery = (limit: number, offset: number) => queryOptions({
  queryKey: financingKeys.advances(limit, offset),
  queryFn: () => data(advances({ query: { limit, offset } })),
})

/** Ledger entries (the latest page) and the balances of every account. */
export const ledgerQuery = () => queryOptions({
  queryKey: financingKeys.ledger,
  queryFn: () => data(ledgerEntries({ query: { limit: 200 } })),
})

/** A funding-at-risk run: polled while its job runs. */
export const atRiskQuery = (planId: number, runId: number) => queryOptions({
  queryKey: financingKeys.atRisk(planId, runId),
  queryFn: () => data(getAtRisk({ path: { plan_id: planId, at_risk_id: runId } })),
  refetchInterval: (q) => (q.state.data && ['queued', 'running'].includes(q.state.data.status) ? 1000 : false),
})
