// Test fixtures: the base URL of the service started by global setup, signing in through the
// sign-in page, and an axe-core check.
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

import AxeBuilder from '@axe-core/playwright'
import { expect, type Page, test as base } from '@playwright/test'

import { PASSWORD, readState, REPO, USERS } from './stack'

export type RoleName = keyof typeof USERS

export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(process.env.E2E_BASE_URL ?? readState().baseURL)
  },
})
export { expect }

/** Sign in through the page, as a person would; lands on the role's start page. */
export async function signIn(page: Page, role: RoleName): Promise<void> {
  await page.goto('/app/')
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  await page.getByLabel('Name').fill(USERS[role].name)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('whoami')).toContainText(USERS[role].name)
}

/** The CSRF token of the page's session (for API calls made by the test itself). */
export async function csrfToken(page: Page): Promise<string> {
  const r = await page.request.get('/auth/me')
  expect(r.status()).toBe(200)
  return ((await r.json()) as { csrf_token: string }).csrf_token
}

/** No serious or critical axe-core violation (WCAG 2 A and AA rules) on the page as it is. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  const report = serious.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')}`)
  expect(report, `accessibility of ${what}`).toEqual([])
}

/** Where the tests put their screenshots; JOINTPLAN_UPDATE_SCREENSHOTS=1 also copies them to docs/img. */
export function screenshotPath(name: string): string {
  const dir = join(process.cwd(), 'test-results', 'screenshots')
  mkdirSync(dir, { recursive: true })
  return join(dir, name)
}

export function publish(name: string): void {
  if (process.env.JOINTPLAN_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(REPO, 'docs', 'img'), { recursive: true })
    copyFileSync(screenshotPath(name), join(REPO, 'docs', 'img', name))
  }
}

/** A screenshot of the whole window (the sticky top bar made static, so it is not repeated). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: screenshotPath(name), fullPage: true, style: '.topbar { position: static !important; }' })
  publish(name)
}
