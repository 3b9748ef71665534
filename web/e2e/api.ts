// Calls the tests make to the API themselves (with the page's session cookie): to set up data
// and to read what the API says, to compare with what the page shows.
import type { Page } from '@playwright/test'

import { expect } from './fixtures'

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
