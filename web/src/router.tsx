// The app's pages, one per API resource (api/routes/): code-based TanStack Router routes under
// /app/. Signed-in pages sit under the 'authed' layout, which checks the session (/auth/me)
// first and sends anyone without one to the sign-in page, remembering where they were going.
import type { QueryClient } from '@tanstack/react-query'
import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, Outlet, redirect } from '@tanstack/react-router'

import type { PlanStatus } from './api/queries'
import { Shell } from './components/Shell'
import { NotFound } from './components/States'
import { sessionQuery } from './session'
import { SignIn } from './views/auth/SignIn'
import { Home } from './views/Home'
import { STATUSES } from './views/plans/PlanList'
import { PlanList } from './views/plans/PlanList'
import { ScenarioEditor } from './views/scenarios/ScenarioEditor'
import { ScenarioList } from './views/scenarios/ScenarioList'
import { ScenarioView } from './views/scenarios/ScenarioView'

const positiveInt = (x: unknown): number | undefined => {
  const n = typeof x === 'number' ? x : typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : NaN
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined
}

const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Outlet,
  notFoundComponent: () => <main id="main" className="standalone"><NotFound /></main>,
})

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/signin',
  validateSearch: (s: Record<string, unknown>): { next?: string } => ({ next: typeof s.next === 'string' ? s.next : undefined }),
  component: SignIn,
})

const authedRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'authed',
  beforeLoad: async ({ context, location }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery)
    if (!session) throw redirect({ to: '/signin', search: { next: location.href } })
  },
  component: Shell,
  notFoundComponent: () => <NotFound />,
})

const homeRoute = createRoute({ getParentRoute: () => authedRoute, path: '/', component: Home })

const scenariosRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/scenarios',
  validateSearch: (s: Record<string, unknown>): { page?: number } => ({ page: positiveInt(s.page) }),
  component: ScenarioList,
})

const scenarioRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/scenarios/$scenarioId',
  validateSearch: (s: Record<string, unknown>): { version?: number; compare?: number } =>
    ({ version: positiveInt(s.version), compare: positiveInt(s.compare) }),
  component: ScenarioView,
})

const scenarioEditRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/scenarios/$scenarioId/edit',
  validateSearch: (s: Record<string, unknown>): { from?: number } => ({ from: positiveInt(s.from) }),
  component: ScenarioEditor,
})

const plansRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/plans',
  validateSearch: (s: Record<string, unknown>): { page?: number; status?: PlanStatus } => ({
    page: positiveInt(s.page),
    status: STATUSES.includes(s.status as PlanStatus) ? (s.status as PlanStatus) : undefined,
  }),
  component: PlanList,
})

// the plan page carries the charting library: loaded when first opened
const planRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/plans/$planId',
  component: lazyRouteComponent(() => import('./views/plans/PlanView'), 'PlanView'),
})

const routeTree = rootRoute.addChildren([
  signInRoute,
  authedRoute.addChildren([homeRoute, scenariosRoute, scenarioRoute, scenarioEditRoute, plansRoute, planRoute]),
])

export function makeRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    basepath: '/app',
    context: { queryClient },
    defaultPreload: 'intent',
    scrollRestoration: true,
  })
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof makeRouter>
  }
}
