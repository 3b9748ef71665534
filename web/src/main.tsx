import './styles.css'
import './api/client' // configures the generated client once, before any request

import { QueryClientProvider } from '@tanstack/react-query'
import { RouterProvider } from '@tanstack/react-router'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'

import { setUnauthorizedHandler } from './api/client'
import { makeQueryClient } from './api/query'
import { makeRouter } from './router'
import { sessionQuery } from './session'

const queryClient = makeQueryClient()
const router = makeRouter(queryClient)

// A 401 from any API call: the session has ended (expired, signed out elsewhere, revoked).
setUnauthorizedHandler(() => {
  queryClient.setQueryData(sessionQuery.queryKey, null)
  const here = router.state.location
  if (here.pathname !== '/signin') void router.navigate({ to: '/signin', search: { next: here.href } })
})

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
)
