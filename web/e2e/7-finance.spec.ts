// Finance reviews plans' funding: the inbox lists the newest finished plan of each scenario; the
// funding page shows the numbers the API returns; finance approves one plan and rejects another
// with a comment; a new plan of the first scenario voids the approval, as the API says.
import { copyScenarioVia, solvePlan, userApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

interface Funding { partners: { partner: string; currency: string; kpis: Record<string, number>; tables: { cash: Record<string, number>[] } }[] }
interface Review { id: number; decision: string; comment: string; active: boolean; voided_by_plan_id: number | null }

const eur = (x: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(Math.round(x) === 0 ? 0 : x)

test('finance approves one plan, rejects another with a comment, and a new plan voids the approval', async ({ page }) => {
  const planner = await userApi('planner')
  const stamp = Date.now()
  const scenarioA = await copyScenarioVia(planner, BUNDLED_SCENARIO, `finance-a-${stamp}`)
  const scenarioB = await copyScenarioVia(planner, BUNDLED_SCENARIO, `finance-b-${stamp}`)
  const planA = await solvePlan(planner, scenarioA)
  const planB = await solvePlan(planner, scenarioB)

  await signIn(page, 'finance')
  await expect(page).toHaveURL(/\/app\/reviews$/)
  const waiting = page.getByTestId('review-waiting')
  await expect(waiting).toContainText(`Plan ${planA}`)
  await expect(waiting).toContainText(`finance-b-${stamp} v1`)
  await expectAccessible(page, 'the finance inbox')

  // plan A's funding: the numbers the API returns
  await waiting.getByRole('link', { name: `Plan ${planA}`, exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name: `Funding of plan ${planA}` })).toBeVisible()
  const funding = await planner.call<Funding>('GET', `/plans/${planA}/funding`)
  const maker = funding.partners.find((p) => p.partner === 'maker')!
  const tiles = page.getByTestId('funding-maker')
  await expect(tiles.locator('[data-kpi="peak_funding_need"] .kpi-value')).toHaveText(eur(maker.kpis.peak_funding_need!))
  await expect(tiles.locator('[data-kpi="financing_cost"] .kpi-value')).toHaveText(eur(maker.kpis.financing_cost!))
  await expect(tiles.locator('[data-kpi="cash_conversion_cycle_days"] .kpi-value')).toHaveText(`${maker.kpis.cash_conversion_cycle_days!.toFixed(1)} days`)
  const cashChart = page.getByTestId('chart-funding-cash')
  await cashChart.getByText('Data as a table').click()
  const rows = cashChart.locator('tbody tr')
  await expect(rows).toHaveCount(maker.tables.cash.length)
  for (const [i, r] of maker.tables.cash.entries()) {
    await expect(rows.nth(i).locator('td').nth(1)).toHaveText(eur(r.cash_before_financing!))
    await expect(rows.nth(i).locator('td').nth(2)).toHaveText(eur(r.closing_cash!))
  }
  for (const id of ['chart-balances', 'chart-costs', 'chart-base-abl']) await expect(page.getByTestId(id).locator('svg path').first()).toBeAttached()

  // approve, with a comment
  await page.getByLabel('Comment (required)').fill('peak need covered by the asset-based line')
  await page.getByRole('button', { name: 'Approve' }).click()
  await expect(page.getByTestId('review-state')).toContainText('Approved by finn')
  await expect(page.getByTestId('review-state')).toContainText('peak need covered by the asset-based line')
  await screenshot(page, 'workbench-finance-funding.png')
  await expectAccessible(page, 'a plan\'s funding and review')

  // reject plan B: a comment is required
  await page.goto(`/app/plans/${planB}/funding`)
  await page.getByRole('button', { name: 'Reject' }).click()
  await expect(page.getByText('Say why: a review needs a comment.')).toBeVisible()
  await page.getByLabel('Comment (required)').fill('retailer below its minimum cash in March')
  await page.getByRole('button', { name: 'Reject' }).click()
  await expect(page.getByTestId('review-state')).toContainText('Rejected by finn')

  const [a] = await planner.call<Review[]>('GET', `/plans/${planA}/reviews`)
  const [b] = await planner.call<Review[]>('GET', `/plans/${planB}/reviews`)
  expect([a!.decision, a!.active, b!.decision, b!.comment, b!.active]).toEqual(['approve', true, 'reject', 'retailer below its minimum cash in March', true])

  await page.goto('/app/reviews')
  await expect(page.getByTestId('review-decided')).toContainText(`Plan ${planA}`)
  await expect(page.getByTestId('review-waiting')).not.toContainText(`Plan ${planA}`)

  // a new plan of scenario A (other options) voids its approval
  const planC = await solvePlan(planner, scenarioA, { time_limit: 100 })
  const voided = await planner.call<Review>('GET', `/reviews/${a!.id}`)
  expect([voided.active, voided.voided_by_plan_id]).toEqual([false, planC])
  await page.reload()
  const voidedRow = page.getByTestId('review-voided').getByRole('row').filter({ hasText: 'peak need covered by the asset-based line' })
  await expect(voidedRow).toContainText(`Plan ${planA}`)
  await expect(voidedRow).toContainText(`Plan ${planC}`)
  await expect(page.getByTestId('review-waiting')).toContainText(`Plan ${planC}`)
  await expect(page.getByTestId('review-decided')).toContainText(`Plan ${planB}`)
  await screenshot(page, 'workbench-finance.png')
  await page.goto(`/app/plans/${planA}/funding`)
  await expect(page.getByTestId('review-state')).toContainText('voided by a newer plan')
  await expect(page.getByTestId('reviews')).toContainText(`plan ${planC}`)
  await planner.dispose()
})

test('the finance inbox pages the plans waiting for review as the API counts and orders them', async ({ page }) => {
  const planner = await userApi('planner')
  const PAGE = 10 // INBOX_PAGE in src/views/reviews/ReviewInbox.tsx
  type Waiting = { items: { id: number; scenario_name: string; version: number }[]; total: number }
  const waitingPage = (offset: number) => planner.call<Waiting>('GET', `/plans?review=waiting&limit=${PAGE}&offset=${offset}`)
  // enough scenarios with a finished, unreviewed plan for a second page: solved together
  const stamp = Date.now()
  const missing = Math.max(0, PAGE + 1 - (await waitingPage(0)).total)
  const scenarios: number[] = []
  for (let i = 0; i < missing; i++) scenarios.push(await copyScenarioVia(planner, BUNDLED_SCENARIO, `inbox-${stamp}-${i}`))
  const asked = await Promise.all(scenarios.map((id) => planner.call<{ id: number }>('POST', '/plans', { json: { scenario_id: id, options: {} } })))
  for (const p of asked) {
    await expect.poll(async () => (await planner.call<{ status: string }>('GET', `/plans/${p.id}`)).status, { timeout: 180_000, intervals: [500] }).toBe('done')
  }
  const first = await waitingPage(0)
  const second = await waitingPage(PAGE)
  expect(first.total).toBeGreaterThan(PAGE)

  await signIn(page, 'finance')
  const waiting = page.getByRole('region', { name: /^Waiting for review/ })
  await expect(waiting.getByRole('heading', { level: 2 })).toHaveText(`Waiting for review (${first.total})`)
  const rows = page.getByTestId('review-waiting').locator('tbody tr')
  await expect(rows).toHaveCount(PAGE)
  await expect(rows.first()).toContainText(`Plan ${first.items[0]!.id}`)
  const pages = Math.ceil(first.total / PAGE)
  await expect(waiting.getByRole('navigation', { name: 'Pages' })).toContainText(`Page 1 of ${pages}`)
  await waiting.getByRole('button', { name: 'Next' }).click()
  await expect(page).toHaveURL(/[?&]waiting=2/)
  await expect(waiting.getByRole('navigation', { name: 'Pages' })).toContainText(`Page 2 of ${pages}`)
  await expect(rows).toHaveCount(second.items.length)
  for (const [i, p] of second.items.entries()) {
    await expect(rows.nth(i)).toContainText(`Plan ${p.id}`)
    await expect(rows.nth(i)).toContainText(`${p.scenario_name} v${p.version}`)
  }
  await waiting.getByRole('button', { name: 'Previous' }).click()
  await expect(rows.first()).toContainText(`Plan ${first.items[0]!.id}`)
  await planner.dispose()
})

test('plans compared side by side: the KPIs and differences the API returns, the charts overlaid', async ({ page }) => {
  const planner = await userApi('planner')
  const list = await planner.call<{ items: { id: number; name: string }[] }>('GET', '/scenarios?limit=200')
  const base = await solvePlan(planner, list.items.find((s) => s.name === BUNDLED_SCENARIO)!.id) // the stored plan when there is one
  const bigger = await solvePlan(planner, await copyScenarioVia(planner, BUNDLED_SCENARIO, `compare-${Date.now()}`, (c) => {
    for (const p of c.partners) p.min_cash = (p.min_cash ?? 0) * 2 // every partner keeps twice the cash
  }))
  const cmp = await planner.call<{ plans: { plan_id: number; chain: Record<string, number>; partners: Record<string, Record<string, number>> }[]; differences: Record<string, number>[] }>(
    'GET', `/compare/plans?plan_id=${base}&plan_id=${bigger}`)

  await signIn(page, 'planner')
  await page.goto('/app/plans?status=done')
  await page.getByLabel(`Compare plan ${base}`, { exact: true }).check()
  await page.getByLabel(`Compare plan ${bigger}`, { exact: true }).check()
  await page.getByTestId('compare-selected').click()
  await expect(page).toHaveURL(new RegExp(`/app/compare\\?plans=${base}%2C${bigger}$|/app/compare\\?plans=${base},${bigger}$`))
  const kpis = page.getByTestId('compare-kpis')
  const profit = kpis.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Profit', exact: true }) })
  await expect(profit.locator('td').nth(1)).toHaveText(eur(cmp.plans[0]!.chain.profit!))
  await expect(profit.locator('td').nth(2)).toHaveText(eur(cmp.plans[1]!.chain.profit!))
  const d = cmp.differences[0]!.profit!
  await expect(profit.locator('td').nth(3)).toHaveText(`${d > 0 && eur(d) !== eur(0) ? '+' : ''}${eur(d)}`)
  const makerCash = kpis.getByRole('row').filter({ has: page.getByRole('cell', { name: 'maker: closing cash', exact: true }) })
  await expect(makerCash.locator('td').nth(2)).toHaveText(eur(cmp.plans[1]!.partners.maker!.closing_cash!))
  for (const id of ['chart-compare-fill', 'chart-compare-lost', 'chart-compare-cash']) await expect(page.getByTestId(id).locator('svg path').first()).toBeAttached()
  await expectAccessible(page, 'a comparison of plans')
  await screenshot(page, 'workbench-compare.png')
  await planner.dispose()
})
