// The start page: each role lands where its work is (admin: the users; planner: the scenarios; finance:
// the plans waiting for its review; a partner: its own overview).
import { Navigate } from '@tanstack/react-router'

import { roleOf } from '../api/session'
import { useSession } from '../session'
import { PartnerHome } from './PartnerHome'

export function Home() {
  const role = roleOf(useSession())
  if (role === 'admin') return <Navigate to="/users" replace search={{}} />
  if (role === 'planner') return <Navigate to="/scenarios" replace />
  if (role === 'finance') return <Navigate to="/reviews" replace />
  return <PartnerHome />
}
