// The one fetch layer of the app. Every request goes through the generated client (src/client),
// configured here once:
// - same-origin requests with the session cookie (the API sets `jp_session`, HttpOnly);
// - the CSRF token (held in memory only, from /auth/login or /auth/me) on unsafe methods;
// - every refusal becomes an ApiError with the API's own message (`detail`), thrown;
// - a 401 outside /auth/* means the session ended: the app is told and shows the sign-in page.
// Retrying transient failures (5xx, unreachable) is the query layer's job (src/api/query.ts).
import { client } from '../client/client.gen'
import { ApiError, describeErrorBody, retryAfterSeconds } from './errors'

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

let csrfToken: string | null = null
let onUnauthorized: (() => void) | null = null

export function setCsrfToken(token: string | null): void {
  csrfToken = token
}

export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler
}

function isAuthRoute(url: string): boolean {
  return new URL(url, window.location.origin).pathname.startsWith('/auth/')
}

client.setConfig({
  baseUrl: import.meta.env.VITE_API_BASE ?? '',
  credentials: 'same-origin',
  throwOnError: true,
})

client.interceptors.request.use((request) => {
  if (UNSAFE.has(request.method.toUpperCase()) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken)
  return request
})

client.interceptors.error.use((error, response, request) => {
  if (error instanceof ApiError) return error
  if (!response) {
    const aborted = error instanceof DOMException && error.name === 'AbortError'
    return new ApiError(0, aborted ? 'The request was cancelled' : 'The service cannot be reached; check your connection and retry')
  }
  const { detail, fields } = describeErrorBody(response.status, error)
  if (response.status === 401 && request && !isAuthRoute(request.url)) onUnauthorized?.()
  return new ApiError(response.status, detail, fields, retryAfterSeconds(response.headers.get('Retry-After')))
})

/** The data of a generated SDK call (which throws ApiError on failure: throwOnError is set). */
export async function data<T>(call: Promise<{ data: T | undefined }>): Promise<T> {
  const result = await call
  return result.data as T
}

/** Request options that send a CSV text as the body (Content-Type text/csv) to a table route
 *  (uploads, submissions); their generated types describe only the JSON form of the body. */
export function csvBody(text: string): { body: never; bodySerializer: null; headers: Record<string, string> } {
  return { body: text as never, bodySerializer: null, headers: { 'Content-Type': 'text/csv' } }
}

export { client }
