// Every page added for partners, finance, admins and the CPFR cycle, once the other tests have
// filled the database (this file runs last): axe-core (WCAG 2.1 A/AA) with no serious or
// critical violation at 1280×800 and at 390 px, no page wider than a phone's screen, the
// collaboration's navigation by keyboard, and a transient failure's retry.
import { adminApi, allItems, fundedPlan, userApi } from './api'
import { expect, expectAccessible, signIn, test, type RoleName } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

async function ids() {
  const admin = await adminApi()
  const first = async <T>(path: string) => (await admin.call<{ items: T[] }>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=1`)).items[0]
  const plans = await allItems<{ id: number }>(admin, '/plans?status=done')
  const exceptions = await allItems<{ id: string; partners: string[] }>(admin, '/exceptions')
  const out = {
    upload: (await first<{ id: number; partner_id: string }>('/uploads?partner_id=shops'))!.id,
    submission: (await first<{ id: number }>('/submissions?partner_id=shops'))!.id,
    exception: exceptions.find((e) => e.partners.includes('shops'))!.id,
    consensus: (await first<{ version: number }>('/consensus'))!.version,
    run: (await first<{ id: number }>('/forecast-runs?status=done'))!.id,
    plan: await fundedPlan(admin, () => userApi('planner'), BUNDLED_SCENARIO),
    plans: plans.slice(0, 2).map((p) => p.id),
    user: (await first<{ id: number }>('/users'))!.id,
    scenario: (await allItems<{ id: number; name: string }>(admin, '/scenarios')).find((s) => s.name === BUNDLED_SCENARIO)!.id,
  }
  await admin.dispose()
  return out
}

test('every new page passes axe at 1280 px and 390 px and fits a phone', async ({ page }) => {
  test.setTimeout(240_000)
  const x = await ids()
  const loaded = async () => {
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
    await expect(page.locator('.state-loading')).toHaveCount(0)
  }
  const byRole: [RoleName, string[]][] = [
    ['partner', ['/app/', '/app/uploads', `/app/uploads/${x.upload}`, '/app/submissions', `/app/submissions/${x.submission}`,
      '/app/exceptions', `/app/exceptions/${x.exception}`, '/app/consensus', `/app/consensus/${x.consensus}`, '/app/fva',
      `/app/plans/${x.plan}/funding`, '/app/financing']],
    ['planner', ['/app/forecast-runs', `/app/forecast-runs/${x.run}`, '/app/exceptions?state=open', `/app/exceptions/${x.exception}`,
      `/app/consensus/${x.consensus}`, '/app/fva', `/app/compare?plans=${x.plans.join(',')}`, `/app/scenarios/${x.scenario}/edit`]],
    ['finance', ['/app/reviews', `/app/plans/${x.plan}/funding`, '/app/financing', '/app/financing/inbox', '/app/financing/programmes']],
    ['admin', ['/app/users', `/app/users/${x.user}`, '/app/partners']],
  ]
  for (const [role, urls] of byRole) {
    await page.setViewportSize({ width: 1280, height: 800 })
    await signIn(page, role)
    for (const url of urls) {
      await page.setViewportSize({ width: 1280, height: 800 })
      await page.goto(url)
      await loaded()
      await expectAccessible(page, `${url} as ${role}`)
      await page.setViewportSize({ width: 390, height: 844 })
      await loaded()
      await expectAccessible(page, `${url} as ${role} (narrow screen)`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      expect(width, `${url} as ${role} is wider than the screen`).toBeLessThanOrEqual(390)
    }
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  }
})

test('the collaboration pages are reachable by keyboard', async ({ page }) => {
  await signIn(page, 'planner')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collaboration' }).focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { level: 1, name: 'Sales history' })).toBeVisible()
  // Tab from the main navigation reaches the collaboration's own row
  const seen: string[] = []
  for (let i = 0; i < 6 && !seen.includes('Exceptions'); i++) {
    await page.keyboard.press('Tab')
    seen.push((await page.evaluate(() => document.activeElement?.textContent ?? '')).trim())
  }
  expect(seen).toContain('Exceptions')
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { level: 1, name: 'Exceptions' })).toBeVisible()
  // the inbox's filters and its first exception, by keyboard
  await page.getByRole('combobox', { name: 'Severity', exact: true }).focus()
  await page.keyboard.press('Tab')
  await expect(page.getByRole('combobox', { name: 'Partner', exact: true })).toBeFocused()
  const link = page.getByTestId('exception-list').getByRole('link').first()
  const id = (await link.textContent())!
  await link.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { level: 1, name: `Exception ${id}` })).toBeVisible()
})

test('a failed request shows the error with a retry, and the retry loads the page', async ({ page }) => {
  await signIn(page, 'planner')
  // the service fails once (503) for the exceptions list: the page says so and offers a retry
  let fail = true
  await page.route(/\/exceptions\?/, async (route) => {
    if (fail) await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ detail: 'the database is restarting' }) })
    else await route.continue()
  })
  await page.goto('/app/exceptions')
  const alert = page.getByRole('alert').filter({ hasText: 'the database is restarting' })
  await expect(alert).toBeVisible({ timeout: 30_000 }) // after the query layer's own retries
  await expectAccessible(page, 'an error state')
  fail = false
  await alert.getByRole('button', { name: 'Retry' }).click()
  await expect(page.getByTestId('exception-list')).toBeVisible()
})
