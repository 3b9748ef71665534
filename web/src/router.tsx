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
import { ConsensusList } from './views/consensus/ConsensusList'
import { ReviewInbox, type ReviewSearch } from './views/reviews/ReviewInbox'
import { Partners } from './views/admin/Partners'
import { Users } from './views/admin/Users'
import { UserView } from './views/admin/UserView'
import { ExceptionList, type ExceptionSearch } from './views/exceptions/ExceptionList'
import { ExceptionView } from './views/exceptions/ExceptionView'
import { ForecastRuns } from './views/forecastRuns/ForecastRuns'
import { Submissions } from './views/submissions/Submissions'
import { Uploads } from './views/uploads/Uploads'
import { UploadView } from './views/uploads/UploadView'
import { InvoiceList, type InvoiceSearch } from './views/invoices/InvoiceList'
import { InvoiceView } from './views/invoices/InvoiceView'
import { NewInvoice } from './views/invoices/NewInvoice'

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

const text = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 && x.length <= 600 ? x : undefined)
const pageSearch = (s: Record<string, unknown>): { page?: number } => ({ page: positiveInt(s.page) })

// the collaboration (CPFR): api/routes/uploads, submissions, exceptions, consensus, fva, forecast_runs
const uploadsRoute = createRoute({ getParentRoute: () => authedRoute, path: '/uploads', validateSearch: pageSearch, component: Uploads })
const uploadRoute = createRoute({ getParentRoute: () => authedRoute, path: '/uploads/$uploadId', component: UploadView })
const submissionsRoute = createRoute({ getParentRoute: () => authedRoute, path: '/submissions', validateSearch: pageSearch, component: Submissions })
const submissionRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/submissions/$submissionId',
  component: lazyRouteComponent(() => import('./views/submissions/SubmissionView'), 'SubmissionView'),
})
const exceptionsRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/exceptions',
  validateSearch: (s: Record<string, unknown>): ExceptionSearch => ({
    rule: text(s.rule),
    severity: ['high', 'medium', 'low'].includes(s.severity as string) ? (s.severity as string) : undefined,
    partner: text(s.partner),
    state: s.state === 'open' || s.state === 'resolved' ? s.state : undefined,
    page: positiveInt(s.page),
  }),
  component: ExceptionList,
})
const exceptionRoute = createRoute({ getParentRoute: () => authedRoute, path: '/exceptions/$exceptionId', component: ExceptionView })
const consensusListRoute = createRoute({ getParentRoute: () => authedRoute, path: '/consensus', validateSearch: pageSearch, component: ConsensusList })
const consensusRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/consensus/$version',
  validateSearch: (s: Record<string, unknown>): { series?: string } => ({ series: text(s.series) }),
  component: lazyRouteComponent(() => import('./views/consensus/ConsensusView'), 'ConsensusView'),
})
const fvaRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/fva',
  validateSearch: (s: Record<string, unknown>): { freq?: 'W' | 'M'; lag?: number } => ({
    freq: s.freq === 'W' || s.freq === 'M' ? s.freq : undefined,
    lag: positiveInt(s.lag),
  }),
  component: lazyRouteComponent(() => import('./views/fva/FvaView'), 'FvaView'),
})
const runsRoute = createRoute({ getParentRoute: () => authedRoute, path: '/forecast-runs', validateSearch: pageSearch, component: ForecastRuns })
const runRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/forecast-runs/$runId',
  validateSearch: (s: Record<string, unknown>): { series?: string } => ({ series: text(s.series) }),
  component: lazyRouteComponent(() => import('./views/forecastRuns/ForecastRunView'), 'ForecastRunView'),
})

// a plan's money: api/routes/funding, reviews
const reviewsRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/reviews',
  validateSearch: (s: Record<string, unknown>): ReviewSearch => ({
    waiting: positiveInt(s.waiting), decided: positiveInt(s.decided), voided: positiveInt(s.voided),
  }),
  component: ReviewInbox,
})
const financingRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/financing',
  component: lazyRouteComponent(() => import('./views/financing/FinancingBook'), 'FinancingBook'),
})
const financingInboxRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/financing/inbox',
  component: lazyRouteComponent(() => import('./views/financing/FinanceInbox'), 'FinanceInbox'),
})
const programmesRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/financing/programmes',
  component: lazyRouteComponent(() => import('./views/financing/Programmes'), 'Programmes'),
})
const fundingRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/plans/$planId/funding',
  validateSearch: (s: Record<string, unknown>): { partner?: string } => ({ partner: text(s.partner) }),
  component: lazyRouteComponent(() => import('./views/funding/FundingView'), 'FundingView'),
})

// invoices between partners: api/routes/invoices
const isoDate = (x: unknown): string | undefined => (typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x) ? x : undefined)
const invoicesRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/invoices',
  validateSearch: (s: Record<string, unknown>): InvoiceSearch => ({
    side: s.side === 'sales' || s.side === 'purchases' ? s.side : undefined,
    status: text(s.status),
    seller: text(s.seller),
    buyer: text(s.buyer),
    due_before: isoDate(s.due_before),
    page: positiveInt(s.page),
  }),
  component: InvoiceList,
})
const newInvoiceRoute = createRoute({ getParentRoute: () => authedRoute, path: '/invoices/new', component: NewInvoice })
const invoiceRoute = createRoute({ getParentRoute: () => authedRoute, path: '/invoices/$invoiceId', component: InvoiceView })

// the chain's members: api/routes/users, partners (admins)
const usersRoute = createRoute({ getParentRoute: () => authedRoute, path: '/users', validateSearch: pageSearch, component: Users })
const userRoute = createRoute({ getParentRoute: () => authedRoute, path: '/users/$userId', component: UserView })
const partnersRoute = createRoute({ getParentRoute: () => authedRoute, path: '/partners', component: Partners })

const compareRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: '/compare',
  validateSearch: (s: Record<string, unknown>): { plans?: string } => ({ plans: typeof s.plans === 'string' || typeof s.plans === 'number' ? String(s.plans) : undefined }),
  component: lazyRouteComponent(() => import('./views/compare/CompareView'), 'CompareView'),
})

const routeTree = rootRoute.addChildren([
  signInRoute,
  authedRoute.addChildren([
    homeRoute, scenariosRoute, scenarioRoute, scenarioEditRoute, plansRoute, planRoute,
    uploadsRoute, uploadRoute, submissionsRoute, submissionRoute, exceptionsRoute, exceptionRoute,
    consensusListRoute, consensusRoute, fvaRoute, runsRoute, runRoute, reviewsRoute, financingRoute, financingInboxRoute, programmesRoute, fundingRoute, compareRoute,
    invoicesRoute, newInvoiceRoute, invoiceRoute,
    usersRoute, userRoute, partnersRoute,
  ]),
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
