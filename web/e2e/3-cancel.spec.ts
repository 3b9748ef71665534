// Starting a plan shows its progress live, and Cancel stops it. The worker is paused (SIGSTOP)
// for the test so that the plan stays queued long enough to be cancelled, then resumed.
import { apiJson, copyScenario } from './api'
import { expect, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO, readState } from './stack'

test('a queued plan shows its progress and can be cancelled', async ({ page }) => {
  const worker = readState().pids[1]!
  await signIn(page, 'planner')
  const id = await copyScenario(page, BUNDLED_SCENARIO, `cancel-${Date.now()}`)
  process.kill(worker, 'SIGSTOP')
  try {
    await page.goto(`/app/scenarios/${id}`)
    await page.getByRole('button', { name: 'Run plan' }).click()
    await expect(page).toHaveURL(/\/app\/plans\/\d+$/)
    const planId = Number(new URL(page.url()).pathname.split('/').pop())
    const progress = page.getByTestId('plan-progress')
    await expect(progress).toContainText('Waiting for a worker')
    await expect(progress.getByRole('progressbar')).toBeVisible()
    await expect(page.locator('.subtitle [data-status]')).toHaveAttribute('data-status', 'queued')
    await progress.getByRole('button', { name: 'Cancel' }).click()
    await expect(page.getByRole('heading', { name: 'Cancelled' })).toBeVisible()
    await expect(page.locator('.subtitle [data-status]')).toHaveAttribute('data-status', 'cancelled')
    expect((await apiJson<{ status: string }>(page, `/plans/${planId}`)).status).toBe('cancelled')
  } finally {
    process.kill(worker, 'SIGCONT')
  }
})
