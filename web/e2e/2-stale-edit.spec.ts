// Two tabs edit the same scenario version: the first save becomes the new version, the second is
// refused (the API's If-Match check, 412) with a clear message, and nothing is overwritten.
import { apiJson, copyScenario } from './api'
import { expect, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

interface Version { version: number; comment: string; author: string }

async function editJson(page: import('@playwright/test').Page, change: (c: Record<string, any>) => void) {
  const editor = page.getByLabel('Scenario content (JSON)')
  const content = JSON.parse(await editor.inputValue()) as Record<string, any>
  change(content)
  await editor.fill(JSON.stringify(content, null, 2))
}

test('a stale edit from a second tab is refused and says why', async ({ page, context }) => {
  await signIn(page, 'planner')
  const id = await copyScenario(page, BUNDLED_SCENARIO, `stale-edit-${Date.now()}`)

  const tabA = page
  const tabB = await context.newPage()
  for (const tab of [tabA, tabB]) {
    await tab.goto(`/app/scenarios/${id}/edit`)
    await expect(tab.getByTestId('scenario-editor')).toBeVisible()
  }

  // tab A raises the retailer's minimum cash (the quick-edit form) and saves: version 2
  const minCash = tabA.getByLabel('Minimum cash of Corner Shops [EUR]')
  await expect(minCash).toHaveValue('10000')
  await minCash.fill('12000')
  await minCash.press('Enter')
  await expect(tabA.getByLabel('Scenario content (JSON)')).toHaveValue(/"min_cash": 12000/)
  await expect(tabA.getByTestId('draft-changes')).toContainText('partners[shops].min_cash')
  await tabA.getByLabel('What changed').fill('retailer keeps more cash')
  await tabA.getByRole('button', { name: 'Save as a new version' }).click()
  await expect(tabA).toHaveURL(new RegExp(`/app/scenarios/${id}\\?version=2$`))
  await expect(tabA.getByTestId('version-detail')).toHaveAttribute('data-version', '2')

  // tab B, still on version 1, changes something else and saves: refused
  await editJson(tabB, (c) => { c.partners.find((p: any) => p.id === 'maker').min_cash = 25000 })
  await tabB.getByLabel('What changed').fill('maker keeps more cash')
  await tabB.getByRole('button', { name: 'Save as a new version' }).click()
  const stale = tabB.getByTestId('stale-edit')
  await expect(stale).toBeVisible()
  await expect(stale).toContainText('Someone saved a newer version of this scenario while you were editing v1')
  await expect(stale).toContainText('nothing was overwritten')
  await expect(tabB).toHaveURL(new RegExp(`/app/scenarios/${id}/edit`))
  // the draft is kept for reapplying
  await expect(tabB.getByLabel('Scenario content (JSON)')).toHaveValue(/"min_cash": 25000/)

  const versions = await apiJson<Version[]>(page, `/scenarios/${id}/versions`)
  expect(versions.map((v) => [v.version, v.comment])).toEqual([[1, `copy of ${BUNDLED_SCENARIO}`], [2, 'retailer keeps more cash']])

  // the diff view shows tab A's change between the two versions
  await tabA.goto(`/app/scenarios/${id}?version=2&compare=1`)
  await expect(tabA.getByTestId('diff-table')).toContainText('partners[shops].min_cash')
  await expect(tabA.getByTestId('diff-table')).toContainText('12000')
})
