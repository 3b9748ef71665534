// Query definitions of a plan's money (api/routes: funding, reviews, compare): keys and fetchers,
// each a generated SDK call.
import { queryOptions } from '@tanstack/react-query'

import { book, comparePlans, listPlans, listReviews, planFunding, planReviews } from '../client/sdk.gen'
import { data } from './client'

export const financeKeys = {
  funding: (planId: number) => ['plans', planId, 'funding'] as const,
  reviews: ['reviews'] as const,
  planReviews: (planId: number) => ['reviews', 'plan', planId] as const,
  compare: (ids: number[]) => ['compare', ...ids] as const,
  book: ['financing', 'book'] as const,
}

/** A plan's funding per partner (a partner user: its own only). */
export const fundingQuery = (planId: number) => queryOptions({
  queryKey: financeKeys.funding(planId),
  queryFn: () => data(planFunding({ path: { plan_id: planId } })),
  staleTime: Infinity, // stored with the finished plan
})

export const planReviewsQuery = (planId: number) => queryOptions({
  queryKey: financeKeys.planReviews(planId),
  queryFn: () => data(planReviews({ path: { plan_id: planId } })),
})

export type InboxState = 'waiting' | 'decided'

/** A page of the finance inbox, as the API rules it (GET /plans?review=): each scenario's newest
 *  finished plan without a live review (waiting), or with one (decided, the review with it). */
export const inboxPlansQuery = (review: InboxState, limit: number, offset: number) => queryOptions({
  queryKey: [...financeKeys.reviews, 'inbox', review, limit, offset] as const,
  queryFn: () => data(listPlans({ query: { review, limit, offset } })),
})

/** A page of the reviews a newer plan of their scenario voided, newest first (the API voids the
 *  superseded ones as it answers). */
export const voidedReviewsQuery = (limit: number, offset: number) => queryOptions({
  queryKey: [...financeKeys.reviews, 'voided', limit, offset] as const,
  queryFn: () => data(listReviews({ query: { active: false, limit, offset } })),
})

export const compareQuery = (ids: number[]) => queryOptions({
  queryKey: financeKeys.compare(ids),
  queryFn: () => data(comparePlans({ query: { plan_id: ids } })),
})

/** Finance's book of advances (GET /financing/book): exposure, limit usage, overdue advances. */
export const financingBookQuery = () => queryOptions({
  queryKey: financeKeys.book,
  queryFn: () => data(book()),
})
