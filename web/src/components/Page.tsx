// A page's heading block: breadcrumbs, the title (the page's only <h1>), a subtitle and actions.
import { Link } from '@tanstack/react-router'
import { type ReactNode, useEffect } from 'react'

export interface Crumb { label: string; to?: string; params?: Record<string, string> }

export function PageHeader({ title, subtitle, crumbs, actions }: { title: string; subtitle?: ReactNode; crumbs?: Crumb[]; actions?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · jointplan`
  }, [title])
  return (
    <div className="page-header">
      {crumbs && crumbs.length > 0 && (
        <nav aria-label="Breadcrumb" className="crumbs">
          <ol>
            {crumbs.map((c, i) => (
              <li key={i}>{c.to ? <Link to={c.to} params={c.params}>{c.label}</Link> : c.label}</li>
            ))}
          </ol>
        </nav>
      )}
      <div className="page-title-row">
        <div>
          <h1>{title}</h1>
          {subtitle && <p className="subtitle">{subtitle}</p>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
    </div>
  )
}

export function Section({ title, children, id, actions }: { title: string; children: ReactNode; id?: string; actions?: ReactNode }) {
  const hid = id ? `${id}-title` : undefined
  return (
    <section className="panel" aria-labelledby={hid} id={id}>
      <div className="panel-head">
        <h2 id={hid}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  )
}
