// A planner signs in, opens the bundled scenario, runs a plan and reads it: the KPIs, the
// partner table and a chart's numbers are those the API returns for the same plan. (The files
// are numbered: this one runs first, on the database as global setup left it, and takes the
// screenshots of docs/img with JOINTPLAN_UPDATE_SCREENSHOTS=1.)
import { apiJson } from './api'
import { expect, expectAccessible, publish, screenshotPath, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

// Formatting written here independently of the app's own helpers: what a reader expects to see.
const eur = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', minimumFractionDigits: 0, maximumFractionDigits: 0 })
const money = (x: number) => eur.format(Math.round(x) === 0 ? 0 : x)
const units = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

interface Plan {
  id: number
  status: string
  result: { status: string; objective: number; kpis: { chain: Record<string, number>; partners: Record<string, Record<string, number>> } }
}
interface TablePage { items: Record<string, number | string>[]; total: number }

test('a planner runs a plan of the bundled scenario and sees the numbers the API returns', async ({ page }) => {
  await signIn(page, 'planner')
  await expect(page).toHaveURL(/\/app\/scenarios$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Scenarios' })).toBeVisible()
  await page.screenshot({ path: screenshotPath('workbench-scenarios.png') })
  publish('workbench-scenarios.png')

  await page.getByRole('link', { name: BUNDLED_SCENARIO, exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name: BUNDLED_SCENARIO })).toBeVisible()
  await expect(page.getByTestId('version-detail')).toContainText('EUR')

  await page.getByRole('button', { name: 'Run plan' }).click()
  await expect(page).toHaveURL(/\/app\/plans\/\d+$/)
  const planId = Number(new URL(page.url()).pathname.split('/').pop())
  // live progress or, for a fast solve, already the result
  await expect(page.getByTestId('plan-progress').or(page.getByTestId('result-status'))).toBeVisible()
  await expect(page.getByTestId('result-status')).toHaveText('Optimal', { timeout: 90_000 })

  const plan = await apiJson<Plan>(page, `/plans/${planId}`)
  expect(plan.status).toBe('done')
  const chain = plan.result.kpis.chain
  const penalties = Object.values(chain.penalties as unknown as Record<string, number>).reduce((a, b) => a + b, 0)
  const expected: Record<string, [number, string]> = {
    revenue: [chain.revenue!, money(chain.revenue!)],
    total_cost: [chain.total_cost!, money(chain.total_cost!)],
    penalties: [penalties, money(penalties)],
    profit: [chain.profit!, money(chain.profit!)],
    fill_rate: [chain.fill_rate!, `${(chain.fill_rate! * 100).toFixed(1)}%`],
    unmet_demand: [chain.unmet_demand!, `${units.format(chain.unmet_demand!)} units`],
    average_inventory_value: [chain.average_inventory_value!, money(chain.average_inventory_value!)],
    total_funding_gap: [chain.total_funding_gap!, money(chain.total_funding_gap!)],
  }
  for (const [id, [value, text]] of Object.entries(expected)) {
    const tile = page.locator(`[data-kpi="${id}"]`)
    await expect(tile.locator('.kpi-value'), id).toHaveText(text)
    expect(Number(await tile.getAttribute('data-value')), id).toBeCloseTo(value, 9)
  }
  await expect(page.getByTestId('objective')).toHaveText(money(plan.result.objective))

  // each partner's profit and closing cash, as the API has them
  const partners = page.getByTestId('partner-kpis')
  for (const [id, k] of Object.entries(plan.result.kpis.partners)) {
    const row = partners.getByRole('row').filter({ has: page.getByRole('cell', { name: `(${id})` }) })
    await expect(row).toContainText(money(k.profit!))
    await expect(row).toContainText(money(k.closing_cash!))
  }

  // a chart's numbers: the manufacturer's closing cash per period, from its data table
  const cash = await apiJson<TablePage>(page, `/plans/${planId}/tables/cash?limit=200`)
  const maker = cash.items.filter((r) => r.partner === 'maker').sort((a, b) => Number(a.period) - Number(b.period))
  const chart = page.getByTestId('chart-cash-maker')
  await expect(chart.locator('svg').first()).toBeVisible()
  await page.locator('#cash').screenshot({ path: screenshotPath('workbench-plan-cash.png'), style: '.topbar { position: static !important; }' })
  publish('workbench-plan-cash.png')
  await chart.getByText('Data as a table').click()
  const rows = chart.locator('tbody tr')
  await expect(rows).toHaveCount(maker.length)
  for (let i = 0; i < maker.length; i++) {
    await expect(rows.nth(i).locator('td').nth(1)).toHaveText(money(Number(maker[i]!.closing_cash)))
  }
  for (const id of ['chart-capacity', 'chart-production', 'chart-inventory', 'chart-service']) {
    await expect(page.getByTestId(id).locator('svg path').first()).toBeAttached()
  }
  await expect(page.getByTestId('binding-limits')).toContainText('production_capacity[plant,')

  // the biggest result table, read page by page from the API, shown whole (virtualised)
  const flows = await apiJson<TablePage>(page, `/plans/${planId}/tables/cash_flows?limit=1`)
  expect(flows.total).toBeGreaterThan(200) // more than one API page
  await page.getByLabel('Table', { exact: true }).selectOption('cash_flows')
  const table = page.getByTestId('result-table')
  await expect(table.locator('caption')).toHaveText(`Cash flows: ${units.format(flows.total)} rows`)
  await expect(table.locator('table')).toHaveAttribute('aria-rowcount', String(flows.total + 1))
  expect(await table.locator('tbody tr:not(.spacer)').count()).toBeLessThan(100)

  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: screenshotPath('workbench-plan.png') })
  publish('workbench-plan.png')
  await expectAccessible(page, 'the plan page')
})
