// A scenario no plan can satisfy: the plan page says so and shows the engine's diagnosis (which
// limit must move, by how much) as the API returns it.
import { apiJson, copyScenario } from './api'
import { expect, expectAccessible, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

interface Plan { result: { status: string; diagnosis: { relaxation: { constraint: string; violation: number }[] } } }

test('an infeasible plan shows its diagnosis', async ({ page }) => {
  await signIn(page, 'planner')
  // the DC must end the horizon holding a million widgets, far more than it can store
  const id = await copyScenario(page, BUNDLED_SCENARIO, `impossible-${Date.now()}`, (c) => {
    const dc = c.sites.find((s: any) => s.id === 'dc')
    dc.products.find((p: any) => p.product === 'widget').ending_inventory = 1_000_000
  })
  await page.goto(`/app/scenarios/${id}`)
  await page.getByRole('button', { name: 'Run plan' }).click()
  await expect(page).toHaveURL(/\/app\/plans\/\d+$/)
  const planId = Number(new URL(page.url()).pathname.split('/').pop())
  await expect(page.getByTestId('result-status')).toHaveText('Infeasible', { timeout: 90_000 })
  await expect(page.getByRole('heading', { name: 'No plan exists' })).toBeVisible()
  await expect(page.locator('[data-kpi]')).toHaveCount(0)

  const plan = await apiJson<Plan>(page, `/plans/${planId}`)
  expect(plan.result.status).toBe('infeasible')
  const diagnosis = page.getByTestId('diagnosis')
  const fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  for (const r of plan.result.diagnosis.relaxation) {
    const row = diagnosis.getByRole('row').filter({ hasText: r.constraint })
    await expect(row).toContainText(fmt.format(r.violation))
  }
  await expect(diagnosis).toContainText('ending_inventory[dc,widget]')
  await expectAccessible(page, 'an infeasible plan')
})
