// Calls the tests make to the API themselves (with the page's session cookie): to set up data
// and to read what the API says, to compare with what the page shows.
import { type Page, request } from '@playwright/test'

import { expect } from './fixtures'
import { PASSWORD, readState, USERS } from './stack'

export async function apiJson<T>(page: Page, path: string): Promise<T> {
  const r = await page.request.get(path)
  expect(r.status(), `GET ${path}: ${await r.text()}`).toBe(200)
  return (await r.json()) as T
}

export async function csrf(page: Page): Promise<string> {
  return (await apiJson<{ csrf_token: string }>(page, '/auth/me')).csrf_token
}

interface ScenarioPage { items: { id: number; name: string }[] }

export async function scenarioId(page: Page, name: string): Promise<number> {
  const list = await apiJson<ScenarioPage>(page, '/scenarios?limit=200')
  const found = list.items.find((s) => s.name === name)
  expect(found, `scenario ${name}`).toBeTruthy()
  return found!.id
}

/** A new scenario with the content of an existing one (tests that edit work on their own copy),
 *  changed by `edit` when given. */
export async function copyScenario(page: Page, fromName: string, name: string,
  edit?: (content: Record<string, any>) => void): Promise<number> {
  const from = await scenarioId(page, fromName)
  const latest = await apiJson<{ content: Record<string, any> }>(page, `/scenarios/${from}`)
  edit?.(latest.content)
  const r = await page.request.post('/scenarios', {
    headers: { 'X-CSRF-Token': await csrf(page) },
    data: { name, content: latest.content, comment: `copy of ${fromName}` },
  })
  expect(r.status(), await r.text()).toBe(201)
  return ((await r.json()) as { scenario_id: number }).scenario_id
}

/** An API client of its own (no browser page): a user's cookie session with its CSRF token, or
 *  the admin's bearer token. `call` checks the status and returns the JSON body. */
export interface Api {
  call<T = any>(method: string, path: string, options?: { json?: unknown; csv?: string; headers?: Record<string, string>; expect?: number }): Promise<T>
  dispose(): Promise<void>
}

async function client(extraHTTPHeaders: Record<string, string>, csrfFrom?: { name: string }): Promise<Api> {
  const ctx = await request.newContext({ baseURL: readState().baseURL, extraHTTPHeaders })
  let token = ''
  if (csrfFrom) {
    const r = await ctx.post('/auth/login', { data: { name: csrfFrom.name, password: PASSWORD } })
    expect(r.status(), await r.text()).toBe(200)
    token = ((await r.json()) as { csrf_token: string }).csrf_token
  }
  return {
    async call(method, path, { json, csv, headers = {}, expect: status } = {}) {
      const r = await ctx.fetch(path, {
        method,
        headers: { ...(token ? { 'X-CSRF-Token': token } : {}), ...(csv !== undefined ? { 'Content-Type': 'text/csv' } : {}), ...headers },
        ...(json !== undefined ? { data: json } : csv !== undefined ? { data: csv } : {}),
      })
      const text = await r.text()
      if (status !== undefined) expect(r.status(), `${method} ${path}: ${text}`).toBe(status)
      else expect(r.ok(), `${method} ${path}: ${r.status()} ${text}`).toBe(true)
      return (text ? JSON.parse(text) : null) as never
    },
    dispose: () => ctx.dispose(),
  }
}

/** The admin's bearer token: what the API holds, read independently of any page. */
export const adminApi = () => client({ Authorization: `Bearer ${readState().adminToken}` })

/** A user's own browser-like session (sign-in with its password). */
export const userApi = (role: keyof typeof USERS) => client({}, { name: USERS[role].name })

/** Every item of a paged API list. */
export async function allItems<T>(api: Api, path: string): Promise<T[]> {
  const out: T[] = []
  const sep = path.includes('?') ? '&' : '?'
  for (let offset = 0; ; offset += 200) {
    const page = await api.call<{ items: T[]; total: number }>('GET', `${path}${sep}limit=200&offset=${offset}`)
    out.push(...page.items)
    if (!page.items.length || out.length >= page.total) return out
  }
}

/** A new scenario with the latest content of an existing one (changed by `edit`), through the API. */
export async function copyScenarioVia(api: Api, fromName: string, name: string, edit?: (content: Record<string, any>) => void): Promise<number> {
  const list = await allItems<{ id: number; name: string }>(api, '/scenarios')
  const from = list.find((s) => s.name === fromName)
  expect(from, `scenario ${fromName}`).toBeTruthy()
  const latest = await api.call<{ content: Record<string, any> }>('GET', `/scenarios/${from!.id}`)
  edit?.(latest.content)
  const made = await api.call<{ scenario_id: number }>('POST', '/scenarios', { json: { name, content: latest.content, comment: `copy of ${fromName}` }, expect: 201 })
  return made.scenario_id
}

/** Solve a scenario's latest version (as a planner) and wait until the plan is done. */
export async function solvePlan(api: Api, scenarioId: number, options: Record<string, unknown> = {}): Promise<number> {
  const plan = await api.call<{ id: number }>('POST', '/plans', { json: { scenario_id: scenarioId, options } })
  await expect.poll(async () => (await api.call<{ status: string }>('GET', `/plans/${plan.id}`)).status, { timeout: 90_000, intervals: [500] }).toBe('done')
  return plan.id
}

/** A finished plan with funding per partner (the newest), solving one of `scenario` when none has. */
export async function fundedPlan(admin: Api, planner: () => Promise<Api>, scenario: string): Promise<number> {
  for (const p of await allItems<{ id: number }>(admin, '/plans?status=done')) {
    if ((await admin.call<{ summary: unknown }>('GET', `/plans/${p.id}/funding`)).summary) return p.id
  }
  const api = await planner()
  const id = await solvePlan(api, await copyScenarioVia(api, scenario, `funded-${Date.now()}`), { size_funding: true })
  await api.dispose()
  return id
}
