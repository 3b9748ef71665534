// The frame of every signed-in page: a skip link, the header (who is signed in, sign out), the
// navigation for the user's role, and the page itself.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router'

import { type Role, roleOf, signOut } from '../api/session'
import { useSession } from '../session'

type NavTarget = '/users' | '/partners' | '/scenarios' | '/plans' | '/compare' | '/reviews' | '/financing' | '/uploads' | '/submissions' | '/forecast-runs' | '/exceptions' | '/consensus' | '/fva' | '/invoices'
interface NavItem { to: NavTarget; label: string; roles: Role[]; cpfr?: true }

// Only what the API lets each role read (api/access.py): scenarios and plans are staff-only;
// a partner shares its history and forecasts and sees the exceptions, consensus and forecast
// value added of its own items, the invoices it sells or buys (finance and admin: all) and its
// financing (its requests, advances and ledger; finance and admin: the book).
export const NAV: NavItem[] = [
  { to: '/users', label: 'Users', roles: ['admin'] },
  { to: '/partners', label: 'Partners', roles: ['admin'] },
  { to: '/scenarios', label: 'Scenarios', roles: ['admin', 'planner', 'finance'] },
  { to: '/reviews', label: 'Reviews', roles: ['finance', 'admin'] },
  { to: '/financing', label: 'Financing', roles: ['finance', 'admin', 'partner'] },
  { to: '/plans', label: 'Plans', roles: ['admin', 'planner', 'finance'] },
  { to: '/compare', label: 'Compare', roles: ['admin', 'planner', 'finance'] },
  { to: '/uploads', label: 'Sales history', roles: ['admin', 'planner', 'partner'], cpfr: true },
  { to: '/submissions', label: 'Forecasts', roles: ['admin', 'planner', 'partner'], cpfr: true },
  { to: '/forecast-runs', label: 'Statistical', roles: ['admin', 'planner'], cpfr: true },
  { to: '/exceptions', label: 'Exceptions', roles: ['admin', 'planner', 'partner'], cpfr: true },
  { to: '/consensus', label: 'Consensus', roles: ['admin', 'planner', 'partner'], cpfr: true },
  { to: '/fva', label: 'Value added', roles: ['admin', 'planner', 'partner'], cpfr: true },
  { to: '/invoices', label: 'Invoices', roles: ['admin', 'finance', 'partner'] },
]

/** The top navigation of a role, and the collaboration's pages as a second row when the role
 *  also has staff pages (planning, reviewing, administering); a partner's pages (the
 *  collaboration's and its invoices) are all its top navigation. */
export function navFor(role: Role | null): { top: NavItem[]; cpfr: NavItem[]; grouped: boolean } {
  const items = NAV.filter((n) => role && n.roles.includes(role))
  const cpfr = items.filter((n) => n.cpfr)
  const other = items.filter((n) => !n.cpfr)
  if (!other.some((n) => !n.roles.includes('partner')) || cpfr.length < 2) return { top: items, cpfr: [], grouped: false }
  return { top: [...other, { to: cpfr[0]!.to, label: 'Collaboration', roles: [], cpfr: true }], cpfr, grouped: true }
}

const ROLE_LABEL: Record<Role, string> = { admin: 'Administrator', planner: 'Planner', finance: 'Finance', partner: 'Partner' }

export function Shell() {
  const session = useSession()
  const role = roleOf(session)
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const out = useMutation({
    mutationFn: signOut,
    onSettled: async () => {
      queryClient.clear()
      await navigate({ to: '/signin', search: { next: undefined } })
    },
  })
  const { top, cpfr, grouped } = navFor(role)
  const path = useRouterState({ select: (st) => st.location.pathname })
  const inCpfr = grouped && cpfr.some((n) => path === n.to || path.startsWith(`${n.to}/`))
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="jointplan, start page">
          <span className="brand-mark" aria-hidden="true">◆</span> jointplan
        </Link>
        <nav aria-label="Main" className="mainnav">
          <ul>
            {top.map((n) => (
              <li key={n.label}>
                {grouped && n.label === 'Collaboration'
                  ? <Link to={n.to} className={inCpfr ? 'active' : undefined} aria-current={inCpfr ? 'true' : undefined}>{n.label}</Link>
                  : <Link to={n.to} activeProps={{ className: 'active', 'aria-current': 'page' }}>{n.label}</Link>}
              </li>
            ))}
          </ul>
        </nav>
        <div className="whoami">
          <span className="user" data-testid="whoami">
            {session.user.name}
            <span className="role-badge">{role ? ROLE_LABEL[role] : session.user.role}{session.user.partner_id ? ` · ${session.user.partner_id}` : ''}</span>
          </span>
          <button type="button" className="secondary" onClick={() => out.mutate()} disabled={out.isPending}>
            Sign out
          </button>
        </div>
      </header>
      {inCpfr && (
        <nav aria-label="Collaboration" className="subnav">
          <ul>
            {cpfr.map((n) => (
              <li key={n.to}><Link to={n.to} activeProps={{ className: 'active', 'aria-current': 'page' }}>{n.label}</Link></li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  )
}
