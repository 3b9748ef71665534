// The start page: each role lands where its work is (planner, admin and finance: the scenarios
// and plans; a partner: what it can do today).
import { Navigate } from '@tanstack/react-router'

import { roleOf } from '../api/session'
import { PageHeader } from '../components/Page'
import { useSession } from '../session'

export function Home() {
  const session = useSession()
  const role = roleOf(session)
  if (role === 'planner' || role === 'admin') return <Navigate to="/scenarios" replace />
  if (role === 'finance') return <Navigate to="/plans" replace search={{}} />
  return (
    <>
      <PageHeader title={`Welcome, ${session.user.name}`} subtitle={session.user.partner_id ? `Partner ${session.user.partner_id}` : undefined} />
      <div className="panel">
        <p>
          The partner pages of the workbench (sharing sales history, submitting forecasts, the exceptions
          and consensus of your items) are not built yet. Your data can be reached through the API meanwhile
          (<a href="/docs">API documentation</a>).
        </p>
      </div>
    </>
  )
}
