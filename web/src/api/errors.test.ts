import { describe, expect, it } from 'vitest'

import { ApiError, describeErrorBody, retryAfterSeconds, retryDelay, shouldRetry } from './errors'

describe('describeErrorBody', () => {
  it("shows the API's detail text", () => {
    expect(describeErrorBody(404, { detail: 'no plan 99' })).toEqual({ detail: 'no plan 99', fields: [] })
    expect(describeErrorBody(412, { detail: 'If-Match: "1-ab" is not the current version' }).detail)
      .toBe('If-Match: "1-ab" is not the current version')
  })
  it('lists every invalid field of a 422', () => {
    const body = { detail: [
      { field: 'body.content.time.periods', loc: ['body', 'content', 'time', 'periods'], msg: 'above the limit', type: 'x' },
      { loc: ['query', 'limit'], msg: 'too large', type: 'y' },
    ] }
    const d = describeErrorBody(422, body)
    expect(d.fields).toEqual([{ field: 'content.time.periods', msg: 'above the limit' }, { field: 'limit', msg: 'too large' }])
    expect(d.detail).toBe('content.time.periods: above the limit (and 1 more)')
  })
  it('falls back to the status for bodies without a message', () => {
    expect(describeErrorBody(500, 'Internal Server Error').detail).toBe('Internal Server Error')
    expect(describeErrorBody(502, '<html>bad gateway</html>').detail).toBe('The service failed')
    expect(describeErrorBody(404, {}).detail).toBe('Not found')
    expect(describeErrorBody(418, null).detail).toBe('Error 418')
  })
})

describe('retries', () => {
  it('retries only transient failures, a few times', () => {
    expect(shouldRetry(0, new ApiError(503, 'down'))).toBe(true)
    expect(shouldRetry(0, new ApiError(0, 'unreachable'))).toBe(true)
    expect(shouldRetry(3, new ApiError(503, 'down'))).toBe(false)
    expect(shouldRetry(0, new ApiError(404, 'no plan'))).toBe(false)
    expect(shouldRetry(0, new ApiError(422, 'bad'))).toBe(false)
    expect(shouldRetry(0, new Error('bug'))).toBe(false)
  })
  it('backs off exponentially, capped', () => {
    expect([0, 1, 2, 3, 10].map(retryDelay)).toEqual([500, 1000, 2000, 4000, 8000])
  })
  it('reads Retry-After', () => {
    expect(retryAfterSeconds('30')).toBe(30)
    expect(retryAfterSeconds(null)).toBeNull()
    expect(retryAfterSeconds('soon')).toBeNull()
  })
})
