// React Query: transient failures (5xx, unreachable) are retried with back-off; a 4xx is shown
// at once with the API's message. Mutations are never retried by themselves (the user decides).
import { QueryClient } from '@tanstack/react-query'

import { retryDelay, shouldRetry } from './errors'

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failureCount, error) => shouldRetry(failureCount, error),
        retryDelay: (attempt) => retryDelay(attempt),
        staleTime: 15_000,
        refetchOnWindowFocus: false,
      },
      mutations: { retry: false },
    },
  })
}
