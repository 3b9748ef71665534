// The links between finance's financing pages: the book, the inbox of requests in review, the
// programmes and supplier limits.
import { Link } from '@tanstack/react-router'

export function FinancingNav() {
  return (
    <nav className="toolbar" aria-label="Financing pages">
      <Link to="/financing" activeOptions={{ exact: true }} activeProps={{ 'aria-current': 'page' }}>Book</Link>
      {' · '}
      <Link to="/financing/inbox" activeProps={{ 'aria-current': 'page' }}>Requests in review</Link>
      {' · '}
      <Link to="/financing/programmes" activeProps={{ 'aria-current': 'page' }}>Programmes and limits</Link>
    </nav>
  )
}
