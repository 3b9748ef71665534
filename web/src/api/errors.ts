// What the API says when it refuses: `{"detail": "text"}` or, for invalid input, `{"detail":
// [{"field", "msg", ...}]}` (api/app.py). ApiError carries the status and the message to show.

export interface FieldProblem { field: string; msg: string }

export class ApiError extends Error {
  /** HTTP status; 0 when the service could not be reached. */
  readonly status: number
  /** One message a person can read (the API's own words). */
  readonly detail: string
  /** For 422: each invalid field with its message. */
  readonly fields: FieldProblem[]
  /** For 429: seconds to wait (Retry-After). */
  readonly retryAfter: number | null

  constructor(status: number, detail: string, fields: FieldProblem[] = [], retryAfter: number | null = null) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.fields = fields
    this.retryAfter = retryAfter
  }

  /** 5xx or unreachable: worth retrying the same request. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500
  }
}

const STATUS_TEXT: Record<number, string> = {
  0: 'The service cannot be reached',
  400: 'Bad request',
  401: 'Please sign in',
  403: 'Not allowed for your role',
  404: 'Not found',
  409: 'Conflict',
  412: 'Edited meanwhile',
  413: 'Too large',
  422: 'Invalid input',
  428: 'Precondition required',
  429: 'Too many attempts',
}

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? 'The service failed' : `Error ${status}`)
}

/** A field path as people read it: "body.content.time.periods" → "content.time.periods". */
export function fieldLabel(field: string): string {
  return field.replace(/^(body|query|path|header)\./, '')
}

/** The message and field problems of an error body (any shape: text, `{detail}`, garbage). */
export function describeErrorBody(status: number, body: unknown): { detail: string; fields: FieldProblem[] } {
  const detail = body && typeof body === 'object' && 'detail' in body ? (body as { detail: unknown }).detail : body
  if (typeof detail === 'string' && detail.trim()) {
    // a proxy's HTML page is no message
    if (/^\s*</.test(detail)) return { detail: statusText(status), fields: [] }
    return { detail: detail.trim(), fields: [] }
  }
  if (Array.isArray(detail) && detail.length) {
    const fields = detail.map((d): FieldProblem => {
      if (d && typeof d === 'object') {
        const o = d as Record<string, unknown>
        const field = typeof o.field === 'string' ? o.field
          : Array.isArray(o.loc) ? o.loc.map(String).join('.') : '(request)'
        return { field: fieldLabel(field), msg: typeof o.msg === 'string' ? o.msg : JSON.stringify(o) }
      }
      return { field: '(request)', msg: String(d) }
    })
    const first = fields[0]!
    const more = fields.length > 1 ? ` (and ${fields.length - 1} more)` : ''
    return { detail: `${first.field}: ${first.msg}${more}`, fields }
  }
  return { detail: statusText(status), fields: [] }
}

export function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null
  const n = Number(header)
  if (Number.isFinite(n) && n >= 0) return n
  const when = Date.parse(header)
  return Number.isNaN(when) ? null : Math.max(0, Math.round((when - Date.now()) / 1000))
}

/** Whether a failed query should be tried again: only a transient failure, a few times. */
export function shouldRetry(failureCount: number, error: unknown, maxRetries = 3): boolean {
  return error instanceof ApiError && error.transient && failureCount < maxRetries
}

/** Wait before retry n (0-based): 0.5 s, 1 s, 2 s ... capped at 8 s. */
export function retryDelay(attempt: number): number {
  return Math.min(8000, 500 * 2 ** attempt)
}
