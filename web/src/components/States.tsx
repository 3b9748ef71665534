// Loading, error and not-found states, used by every view: a 4xx shows the API's message, a 404
// reads as "not found" (as the API answers for objects the user may not see), a transient
// failure (5xx, unreachable) offers a retry. Never a blank page.
import { Link } from '@tanstack/react-router'
import type { ReactNode } from 'react'

import { ApiError, statusText } from '../api/errors'

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}…</span>
    </div>
  )
}

/** "Not found", as the API answers for an object that does not exist or that the user may not
 *  see. A page's own not-found (heading level 1), or a part's inside a page (level 2). */
export function NotFound({ what, detail, level = 1 }: { what?: string; detail?: string; level?: 1 | 2 }) {
  const Heading = level === 1 ? 'h1' : 'h2'
  return (
    <section className="state state-notfound" aria-labelledby="notfound-title">
      <Heading id="notfound-title">Not found</Heading>
      <p>{detail ?? `There is no ${what ?? 'such page'}, or it is not visible to you.`}</p>
      <p><Link to="/">Back to the start page</Link></p>
    </section>
  )
}

export function FieldProblems({ error }: { error: ApiError }) {
  if (error.fields.length < 2) return null
  return (
    <ul className="field-problems">
      {error.fields.map((f, i) => <li key={i}><code>{f.field}</code>: {f.msg}</li>)}
    </ul>
  )
}

/** An error in a view: the API's message; a retry button for transient failures. */
export function ErrorView({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  if (error instanceof ApiError && error.status === 404) return <NotFound detail={error.detail} level={2} />
  const api = error instanceof ApiError ? error : null
  const heading = title ?? (api ? statusText(api.status) : 'Something went wrong')
  return (
    <div className="state state-error" role="alert">
      <strong>{heading}</strong>
      <p>{api ? api.detail : error instanceof Error ? error.message : String(error)}</p>
      {api && <FieldProblems error={api} />}
      {onRetry && (!api || api.transient) && <button type="button" onClick={onRetry}>Retry</button>}
    </div>
  )
}

/** Inline message for a failed action (a form's submit): the API's words, fields listed. */
export function ActionError({ error }: { error: unknown }) {
  if (!error) return null
  const api = error instanceof ApiError ? error : null
  return (
    <div className="action-error" role="alert">
      <strong>{api ? statusText(api.status) : 'Failed'}:</strong> {api ? api.detail : String(error)}
      {api && <FieldProblems error={api} />}
    </div>
  )
}

/** What a view needs of a query (React Query's result has it). */
export interface QueryState<T> { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown }

/** The API's 404 for the object a page is about: the page is then only "Not found". */
export function isNotFound(query: { error: unknown }): query is { error: ApiError } {
  return query.error instanceof ApiError && query.error.status === 404
}

/** Render a query's data, or its loading or error state. */
export function Loaded<T>({ query, children, label }: { query: QueryState<T>; children: (data: T) => ReactNode; label?: string }) {
  if (query.isPending) return <Loading label={label} />
  if (query.isError) return <ErrorView error={query.error} onRetry={() => void query.refetch()} />
  return <>{children(query.data as T)}</>
}

/** Two queries as one: pending while either is, failed when either fails. */
export function both<A, B>(a: QueryState<A>, b: QueryState<B>): QueryState<[A, B]> {
  const failed = a.isError ? a : b.isError ? b : null
  return {
    isPending: !failed && (a.isPending || b.isPending),
    isError: !!failed,
    error: failed?.error ?? null,
    data: a.data !== undefined && b.data !== undefined ? [a.data, b.data] : undefined,
    refetch: () => { void a.refetch(); void b.refetch() },
  }
}
