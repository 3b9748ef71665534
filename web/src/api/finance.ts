// Query definitions of a plan's money (api/routes: funding, reviews, compare): keys and fetchers,
// each a generated SDK call.
import { queryOptions } from '@tanstack/react-query'

import { comparePlans, listPlans, listReviews, planFunding, planReviews } from '../client/sdk.gen'
import { data } from './client'
import { fetchAllPages } from './queries'

export const financeKeys = {
  funding: (planId: number) => ['plans', planId, 'funding'] as const,
  reviews: ['reviews'] as const,
  planReviews: (planId: number) => ['reviews', 'plan', planId] as const,
  compare: (ids: number[]) => ['compare', ...ids] as const,
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

/** What the finance inbox needs: every finished plan and every review (the API voids the
 *  superseded ones as it answers). */
export const inboxQuery = queryOptions({
  queryKey: [...financeKeys.reviews, 'inbox'] as const,
  queryFn: async () => {
    const [plans, reviews] = await Promise.all([
      fetchAllPages((limit, offset) => data(listPlans({ query: { status: 'done', limit, offset } }))),
      fetchAllPages((limit, offset) => data(listReviews({ query: { limit, offset } }))),
    ])
    return { plans, reviews }
  },
})

export const compareQuery = (ids: number[]) => queryOptions({
  queryKey: financeKeys.compare(ids),
  queryFn: () => data(comparePlans({ query: { plan_id: ids } })),
})
