// axe-core on every page of the workbench (WCAG 2.1 A and AA rules): no serious or critical
// violation, at 1280×800 and on a narrow screen; and the pages are reachable by keyboard.
import { apiJson, copyScenario, csrf, scenarioId } from './api'
import { expect, expectAccessible, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

async function solvedPlan(page: import('@playwright/test').Page): Promise<number> {
  const id = await scenarioId(page, BUNDLED_SCENARIO)
  const r = await page.request.post('/plans', { headers: { 'X-CSRF-Token': await csrf(page) }, data: { scenario_id: id } })
  expect([200, 202]).toContain(r.status())
  const planId = ((await r.json()) as { id: number }).id
  await expect.poll(async () => (await apiJson<{ status: string }>(page, `/plans/${planId}`)).status, { timeout: 90_000 }).toBe('done')
  return planId
}

test('the sign-in page, and signing in by keyboard', async ({ page }) => {
  await page.goto('/app/')
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  await expectAccessible(page, 'the sign-in page')
  await expect(page.getByLabel('Name')).toBeFocused()
  await page.keyboard.type('pia')
  await page.keyboard.press('Tab')
  await page.keyboard.type('wrong password here')
  await page.keyboard.press('Enter')
  await expect(page.getByRole('alert')).toHaveText('Wrong name or password.')
  await expectAccessible(page, 'the sign-in page with an error')
})

test('every planner page', async ({ page }) => {
  await signIn(page, 'planner')
  const pages: [string, string, () => Promise<void>][] = []
  const copy = await copyScenario(page, BUNDLED_SCENARIO, `a11y-${Date.now()}`)
  // a second version, so that the diff shows
  const v1 = await apiJson<{ etag: string; content: Record<string, any> }>(page, `/scenarios/${copy}`)
  v1.content.description = 'edited for the accessibility check'
  const edit = await page.request.post(`/scenarios/${copy}/versions`, {
    headers: { 'X-CSRF-Token': await csrf(page), 'If-Match': v1.etag }, data: { content: v1.content, comment: 'v2' } })
  expect(edit.status()).toBe(201)
  const planId = await solvedPlan(page)

  pages.push(['the scenario list', '/app/scenarios', async () => { await expect(page.getByTestId('scenario-list')).toBeVisible() }])
  pages.push(['a scenario with its diff', `/app/scenarios/${copy}?version=2&compare=1`, async () => {
    await expect(page.getByTestId('diff-table')).toContainText('description')
    await expect(page.getByText('Loading plans')).toHaveCount(0)
  }])
  pages.push(['the scenario editor', `/app/scenarios/${copy}/edit`, async () => { await expect(page.getByTestId('scenario-editor')).toBeVisible() }])
  pages.push(['the plan list', '/app/plans', async () => { await expect(page.getByTestId('plan-list')).toContainText(`Plan ${planId}`) }])
  pages.push(['a plan', `/app/plans/${planId}`, async () => {
    await expect(page.getByTestId('result-status')).toHaveText('Optimal')
    await expect(page.getByTestId('result-table')).toBeVisible()
  }])
  pages.push(['an unknown page', '/app/no-such-page', async () => { await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible() }])
  pages.push(['a scenario that does not exist', '/app/scenarios/999999', async () => {
    await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible()
    await expect(page.getByText('scenario 999999 not found')).toBeVisible()
  }])
  pages.push(['a plan that does not exist', '/app/plans/999999', async () => {
    await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible()
    await expect(page.getByText('plan 999999 not found')).toBeVisible() // the API's own words
  }])

  for (const [what, url, ready] of pages) {
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.goto(url)
    await ready()
    await expectAccessible(page, what)
    await page.setViewportSize({ width: 390, height: 844 })
    await expectAccessible(page, `${what} (narrow screen)`)
  }
})

test('the main navigation is reachable by keyboard', async ({ page }) => {
  await signIn(page, 'planner')
  await page.keyboard.press('Tab')
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused()
  const seen: string[] = []
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab')
    seen.push((await page.evaluate(() => document.activeElement?.textContent ?? '')).trim())
  }
  expect(seen).toEqual(expect.arrayContaining(['Scenarios', 'Plans', 'Sign out']))
  await page.getByRole('link', { name: 'Plans' }).focus()
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(/\/app\/plans$/)
})
