// A planner runs the CPFR cycle on the bundled demo data: the retailer's sales history and both
// partners' forecasts are shared (through the API, as the partners' users; the partner pages
// have their own test), then, in the browser: a statistical forecast run (progress, then the
// forecast with its P10–P90 band over the history), the exceptions inbox (filtered; one resolved
// by accepting a source, one by entering a value), the consensus with its trace, forecast value
// added, the consensus turned into a new scenario version, and a plan of it. Every figure is
// compared with what the API returns.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { allItems, copyScenarioVia, userApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO, REPO } from './stack'

const EXAMPLES = join(REPO, 'scenarios', 'examples')
const units = (x: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(Math.round(x) === 0 ? 0 : x)

/** A partner's forecast for 2027 (the example file's second round), without the round column. */
function forecastOf(partner: string): string {
  const [header, ...lines] = readFileSync(join(EXAMPLES, `small_chain_submissions_${partner}.csv`), 'utf8').trim().split('\n')
  const rows = lines.filter((l) => l.startsWith('2026-12-15,')).map((l) => l.split(',').slice(1).join(','))
  return [header!.split(',').slice(1).join(','), ...rows].join('\n') + '\n'
}

interface Exception { id: string; rule: string; severity: string; unique_id: string; ds: string | null; sources: string; resolved: boolean }
interface Row { unique_id: string; ds: string; p10: number | null; p50: number; p90: number | null; basis: string }

test('a planner runs the CPFR cycle on the bundled chain and plans the consensus', async ({ page }) => {
  test.setTimeout(180_000)
  const shops = await userApi('partner')
  const wholesale = await userApi('partner2')
  const planner = await userApi('planner')
  await shops.call('POST', '/uploads', { csv: readFileSync(join(EXAMPLES, 'small_chain_history.csv'), 'utf8'), headers: { 'Idempotency-Key': 'e2e-shops-pos' } })
  await shops.call('POST', '/submissions?keys=product,site&note=round%20of%20December', { csv: forecastOf('shops'), expect: 201 })
  await wholesale.call('POST', '/submissions?keys=product,site&note=round%20of%20December', { csv: forecastOf('wholesale'), expect: 201 })
  const scenarioId = await copyScenarioVia(planner, BUNDLED_SCENARIO, `cpfr-${Date.now()}`)

  await signIn(page, 'planner')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collaboration' }).click()
  const sub = page.getByRole('navigation', { name: 'Collaboration' })
  await expect(sub.getByRole('link', { name: 'Sales history' })).toHaveAttribute('aria-current', 'page')

  // 1. a statistical forecast run: progress, then the forecast over the history
  await sub.getByRole('link', { name: 'Statistical' }).click()
  await page.getByLabel('Horizon [periods]').fill('12')
  await page.getByRole('button', { name: 'Start forecast run' }).click()
  await expect(page).toHaveURL(/\/app\/forecast-runs\/\d+$/)
  const runId = Number(new URL(page.url()).pathname.split('/').pop())
  await expect(page.getByTestId('run-progress').or(page.getByTestId('run-series'))).toBeVisible()
  await expect(page.getByTestId('run-series')).toHaveText('4', { timeout: 90_000 })
  const series = 'gadget/store-north' // the first series, shown first
  await expect(page.getByRole('combobox', { name: 'Series' })).toHaveValue(series)
  const forecast = (await planner.call<{ items: Row[] }>('GET', `/forecast-runs/${runId}/forecasts?unique_id=${encodeURIComponent(series)}&limit=200`)).items
  expect(forecast).toHaveLength(12)
  const chart = page.getByTestId('chart-forecast')
  await expect(chart.locator('svg path').first()).toBeAttached()
  await chart.getByText('Data as a table').click()
  const rows = chart.locator('tbody tr')
  await expect(rows).toHaveCount(12)
  for (const [i, r] of forecast.entries()) {
    await expect(rows.nth(i).locator('td').nth(1)).toHaveText(units(r.p10!))
    await expect(rows.nth(i).locator('td').nth(2)).toHaveText(units(r.p50))
    await expect(rows.nth(i).locator('td').nth(3)).toHaveText(units(r.p90!))
  }
  await screenshot(page, 'workbench-cpfr.png')
  await expectAccessible(page, 'a forecast run')

  // 2. exceptions: the collaboration's rules applied, the inbox filtered
  await sub.getByRole('link', { name: 'Exceptions' }).click()
  await page.getByRole('button', { name: 'Find exceptions' }).click()
  await expect(page.getByTestId('scan-result')).toContainText('exceptions found')
  const all = await allItems<Exception>(planner, '/exceptions')
  const tolerance = all.filter((e) => e.rule === 'retailer-vs-statistical')
  expect(tolerance.length).toBeGreaterThan(1)
  await page.getByRole('combobox', { name: 'Rule', exact: true }).selectOption('retailer-vs-statistical')
  const list = page.getByTestId('exception-list')
  await expect(list.locator('caption')).toHaveText(`${tolerance.length} of ${all.length} exceptions`)
  const high = tolerance.filter((e) => e.severity === 'high')
  await page.getByRole('combobox', { name: 'Severity', exact: true }).selectOption(high.length ? 'high' : tolerance[0]!.severity)
  const shown = tolerance.filter((e) => e.severity === (high.length ? 'high' : tolerance[0]!.severity))
  await expect(list.locator('tbody tr')).toHaveCount(shown.length)
  await expect(page).toHaveURL(/rule=retailer-vs-statistical/)
  await expectAccessible(page, 'the exceptions inbox')

  // resolve one by accepting the retailer's forecast
  const first = shown[0]!
  await list.getByRole('link', { name: first.id }).click()
  await expect(page.getByRole('heading', { level: 1, name: `Exception ${first.id}` })).toBeVisible()
  await page.getByRole('combobox', { name: 'Source', exact: true }).selectOption('shops')
  await page.getByLabel(/^Reason/).fill('promotion confirmed in the S&OP meeting')
  await page.getByRole('button', { name: 'Resolve' }).click()
  await expect(page.getByTestId('resolved')).toBeVisible()
  await expect(page.getByTestId('resolutions')).toContainText('the forecast of shops')
  const [accepted] = await planner.call<{ action: string; source: string; periods: string[] }[]>('GET', `/exceptions/${first.id}/resolutions`)
  expect([accepted!.action, accepted!.source, accepted!.periods]).toEqual(['accept_source', 'shops', [first.ds]])
  await expectAccessible(page, 'an exception')

  // and another by entering the agreed value, with a reason
  const second = tolerance.find((e) => e.id !== first.id && e.unique_id !== first.unique_id) ?? tolerance.find((e) => e.id !== first.id)!
  await page.goto(`/app/exceptions/${second.id}`)
  await page.getByLabel('Enter the agreed value').check()
  await page.getByRole('button', { name: 'Resolve' }).click()
  await expect(page.getByRole('alert')).toContainText('Enter the agreed value')
  await page.getByLabel('Agreed value [units per period]').fill('1,234')
  await page.getByRole('button', { name: 'Resolve' }).click()
  await expect(page.getByRole('alert')).toContainText('Say why')
  await page.getByLabel(/^Reason/).fill('store refit agreed with the retailer')
  await page.getByRole('button', { name: 'Resolve' }).click()
  await expect(page.getByTestId('resolutions')).toContainText('1,234 units')
  await page.goto('/app/exceptions?state=resolved')
  await expect(page.getByTestId('exception-list').locator('tbody tr')).toHaveCount(2)

  // 3. the consensus, with its trace
  await sub.getByRole('link', { name: 'Consensus' }).click()
  await page.getByRole('button', { name: 'Build consensus' }).click()
  await expect(page).toHaveURL(/\/app\/consensus\/\d+$/)
  const version = Number(new URL(page.url()).pathname.split('/').pop())
  const cv = await planner.call<{ items: Row[]; trace: Record<string, unknown>[] }>('GET', `/consensus/${version}`)
  await expect(page.getByTestId('consensus-rows').locator('caption')).toHaveText(`${cv.items.length} series-periods`)
  await expect(page.getByTestId('consensus-bases')).toContainText('accepted:shops 1')
  await expect(page.getByTestId('consensus-bases')).toContainText('adjusted 1')
  const adjusted = cv.items.find((r) => r.basis === 'adjusted')!
  expect(adjusted.p50).toBe(1234)
  const trace = page.getByTestId('consensus-trace')
  await expect(trace.locator('caption')).toHaveText(`Trace: ${cv.trace.length} rows`)
  await expect(trace).toContainText('store refit agreed with the retailer')
  await expect(page.getByTestId('chart-consensus').locator('svg path').first()).toBeAttached()
  await expectAccessible(page, 'a consensus version')

  // 4. forecast value added: what the API says
  await sub.getByRole('link', { name: 'Value added' }).click()
  const fva = await planner.call<{ by_partner: { partner: string }[]; notes: string[] }>('GET', '/fva')
  if (fva.by_partner.length) await expect(page.getByTestId('fva-partners').locator('tbody tr')).toHaveCount(fva.by_partner.length)
  for (const note of fva.notes) await expect(page.getByTestId('fva-notes')).toContainText(note)
  await expectAccessible(page, 'forecast value added')

  // 5. the consensus as a new scenario version, then a plan of it
  await page.goto(`/app/consensus/${version}`)
  await page.getByLabel('Scenario', { exact: true }).selectOption(String(scenarioId))
  await expect(page.getByText('Based on v1 by pia')).toBeVisible()
  await page.getByLabel('Safety stock for service level [%]').fill('95')
  await page.getByRole('button', { name: 'Save as a new scenario version' }).click()
  await expect(page).toHaveURL(new RegExp(`/app/scenarios/${scenarioId}\\?version=2&compare=1$`))
  await expect(page.getByTestId('diff-table')).toContainText('demand')
  const v2 = await planner.call<{ version: number; comment: string }>('GET', `/scenarios/${scenarioId}`)
  expect(v2.version).toBe(2)
  expect(v2.comment).toContain(`consensus v${version}`)
  await page.getByRole('button', { name: 'Run plan' }).click()
  await expect(page.getByTestId('result-status')).toHaveText('Optimal', { timeout: 90_000 })
  const planId = Number(new URL(page.url()).pathname.split('/').pop())
  const plan = await planner.call<{ version: number; result: { kpis: { chain: { fill_rate: number } } } }>('GET', `/plans/${planId}`)
  expect(plan.version).toBe(2)
  await expect(page.locator('[data-kpi="fill_rate"] .kpi-value')).toHaveText(`${(plan.result.kpis.chain.fill_rate * 100).toFixed(1)}%`)
  for (const api of [shops, wholesale, planner]) await api.dispose()
})
