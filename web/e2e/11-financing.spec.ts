// Financing on confirmed invoices and a plan's funding at risk, through the pages, against the
// real service (docs/financing.md, docs/finance.md): finance creates a programme and sets the
// supplier's limit (a new supplier's credit rule gives 0: no confirmed months yet); the
// wholesaler records two invoices to the retailer, who confirms them (through the API: setup);
// the wholesaler requests an advance on the first in the invoice's page and sees it approved with
// the docs' worked figures (3,700.00 EUR at 90 %, 6 % actual/360, fee 0.2 %, 60 days: advance
// 3,330.00, discount 33.30, fee 7.40, net 3,289.30), equal to what the API holds; the second
// (6,000.00: advance 5,400.00 above the 5,000.00 ceiling of automatic decisions) goes to review
// and finance approves it in the inbox (a comment required); the retailer pays the first and the
// wholesaler sees its advance repaid; a third partner sees none of it; finance runs funding at
// risk on a finished plan and sees each partner's figures as the API gives them.
import type { Page } from '@playwright/test'

import { adminApi, type Api, fundedPlan, userApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO, PASSWORD } from './stack'

test.describe.configure({ mode: 'serial' })

const RUN = Date.now().toString(36).toUpperCase()
const PROGRAMME = `E2E factoring ${RUN}`
const THIRD = `makr${RUN.toLowerCase()}` // a user of the manufacturer: no part in any of this

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
const TODAY = day(0)
const DUE = day(60) // 60 days from the advance date (today)

/** The amount as the page must write it (en-US, euro, cents): computed here, not by the app. */
const eur = (amount: string) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2 }).format(Number(amount))

const state: { programme?: number; inv1?: number; inv2?: number; req1?: number; req2?: number; plan?: number } = {}

async function signInAs(page: Page, name: string): Promise<void> {
  await page.goto('/app/')
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('whoami')).toContainText(name)
}

async function invoice(seller: Api, buyer: Api, number: string, quantity: string, price: string): Promise<number> {
  const inv = await seller.call<{ id: number }>('POST', '/invoices', { json: {
    number, buyer_id: 'shops', issue_date: TODAY, due_date: DUE, currency: 'EUR', lines: [{ product: 'widget', quantity, unit_price: price }] }, expect: 201 })
  await buyer.call('POST', `/invoices/${inv.id}/confirm`)
  return inv.id
}

test('finance creates a programme and sets the supplier\'s limit with a comment', async ({ page }) => {
  await signIn(page, 'finance')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Financing' }).click()
  await page.getByRole('link', { name: 'Programmes and limits' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Financing programmes' })).toBeVisible()
  const form = page.getByTestId('new-programme')
  await form.getByLabel('Name').fill(PROGRAMME)
  await form.getByLabel('Kind').selectOption('factoring')
  await form.getByLabel('Currency').fill('EUR')
  await form.getByLabel('Buyer (optional)').fill('shops')
  await form.getByLabel('Advance rate (0–1)').fill('1.5') // the API refuses it on its field
  await form.getByLabel('Annual rate').fill('0.06')
  await form.getByLabel('Fee rate').fill('0.002')
  await form.getByLabel('Automatic decision up to (optional)').fill('5000')
  await form.getByRole('button', { name: 'Create programme' }).click()
  await expect(page.getByTestId('prog-advance_rate-problem')).toBeVisible()
  await form.getByLabel('Advance rate (0–1)').fill('0.9')
  await form.getByRole('button', { name: 'Create programme' }).click()
  await expect(page.getByTestId('programme-created')).toContainText(PROGRAMME)
  const admin = await adminApi()
  const progs = await admin.call<{ items: { id: number; name: string; advance_rate: string; fee_rate: string; auto_decision_ceiling: string }[] }>('GET', '/financing-programmes?limit=200')
  const prog = progs.items.find((p) => p.name === PROGRAMME)!
  expect([prog.advance_rate, prog.fee_rate, prog.auto_decision_ceiling]).toEqual(['0.9', '0.002', '5000.00'])
  state.programme = prog.id
  await expect(page.getByTestId('programmes')).toContainText(PROGRAMME)

  // the wholesaler's limit: the credit rule's (no confirmed month yet: 0), then finance's override
  await page.getByLabel('Programme', { exact: true }).selectOption(String(prog.id))
  await page.getByLabel('Supplier (partner id)').fill('wholesale')
  await page.getByRole('button', { name: 'Show limit' }).click()
  await expect(page.getByTestId('limit-amount')).toHaveText(eur('0'))
  await page.getByLabel(/New limit/).fill('100,000.00')
  await page.getByRole('button', { name: 'Override limit' }).click()
  await expect(page.getByTestId('override-comment-problem')).toContainText('comment is required')
  await page.getByLabel('Comment (required)').fill('e2e: trading history outside the platform checked')
  await page.getByRole('button', { name: 'Override limit' }).click()
  await expect(page.getByTestId('limit-amount')).toHaveText(eur('100000'))
  await expect(page.getByTestId('limit-overrides')).toContainText('trading history outside the platform checked')
  const lim = await admin.call<{ limit: string; overrides: unknown[] }>('GET', `/financing-programmes/${prog.id}/suppliers/wholesale/limit`)
  expect(lim.limit).toBe('100000.00')
  expect(lim.overrides).toHaveLength(1)
  await expectAccessible(page, 'the programmes page')
  await admin.dispose()
})

test('the seller requests an advance on a confirmed invoice and sees it approved with the API\'s figures', async ({ page }) => {
  const seller = await userApi('partner2')
  const buyer = await userApi('partner')
  state.inv1 = await invoice(seller, buyer, `FIN-${RUN}-1`, '100', '37.00') // 3,700.00
  state.inv2 = await invoice(seller, buyer, `FIN-${RUN}-2`, '100', '60.00') // 6,000.00
  await seller.dispose(); await buyer.dispose()

  await signIn(page, 'partner2')
  await page.goto(`/app/invoices/${state.inv1}`)
  const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Request an advance' }) })
  await expect(panel).toBeVisible()
  await panel.getByLabel('Programme').selectOption(String(state.programme))
  await expect(panel.getByTestId('limit-amount')).toHaveText(eur('100000'))
  await expect(panel.getByTestId('limit-drawn')).toHaveText(eur('0'))
  await expect(panel.getByText(`FIN-${RUN}-2 to shops`)).toBeVisible() // the other confirmed invoice, offered but not ticked
  await panel.getByRole('button', { name: 'Request an advance' }).click()
  const decision = panel.getByTestId('decision')
  await expect(decision.getByTestId('request-status')).toHaveText('approved')
  // by hand (docs/financing.md): A = ⌊0.9 × 3,700.00⌋ = 3,330.00; D = round(3,330 × 0.06 × 60/360) = 33.30;
  // F = round(0.002 × 3,700.00) = 7.40; net = 3,330.00 − 33.30 − 7.40 = 3,289.30
  await expect(decision.getByTestId('amount-advance')).toHaveText(eur('3330.00'))
  await expect(decision.getByTestId('amount-discount')).toHaveText(eur('33.30'))
  await expect(decision.getByTestId('amount-fee')).toHaveText(eur('7.40'))
  await expect(decision.getByTestId('amount-net')).toHaveText(eur('3289.30'))
  await expect(decision.getByTestId('decision-checks')).toContainText('Supplier limit')
  await expect(decision.getByTestId('decision-checks')).not.toContainText('failed')
  const admin = await adminApi()
  const reqs = await admin.call<{ items: { id: number; status: string; advance: string; net: string; items: { invoice_id: number; discount: string; fee: string }[] }[] }>(
    'GET', `/financing-requests?programme_id=${state.programme}`)
  const r1 = reqs.items.find((r) => r.items.some((i) => i.invoice_id === state.inv1))!
  expect([r1.status, r1.advance, r1.net, r1.items[0]!.discount, r1.items[0]!.fee]).toEqual(['approved', '3330.00', '3289.30', '33.30', '7.40'])
  state.req1 = r1.id
  await expectAccessible(page, 'an invoice with its financing decision')
  await screenshot(page, 'workbench-financing-request.png')
  // read again, the invoice says it is financed instead of offering another request
  await page.reload()
  await expect(page.getByTestId('already-financed')).toContainText(`request ${r1.id}`)
  await expect(page.getByRole('button', { name: 'Request an advance' })).toHaveCount(0)

  // the second: its advance 5,400.00 is above the 5,000.00 ceiling of automatic decisions
  await page.goto(`/app/invoices/${state.inv2}`)
  await panel.getByLabel('Programme').selectOption(String(state.programme))
  await expect(panel.getByTestId('limit-drawn')).toHaveText(eur('3330.00'))
  await panel.getByRole('button', { name: 'Request an advance' }).click()
  await expect(decision.getByTestId('request-status')).toHaveText('in review')
  await expect(decision.getByTestId('amount-advance')).toHaveText(eur('5400.00'))
  const failedRow = decision.getByTestId('decision-checks').getByRole('row', { name: /Automatic decision ceiling/ })
  await expect(failedRow).toContainText('failed')
  await expect(failedRow).toContainText('soft')
  const r2 = (await admin.call<{ items: { id: number; status: string; items: { invoice_id: number }[] }[] }>('GET', '/financing-requests?status=in_review&limit=200'))
    .items.find((r) => r.items.some((i) => i.invoice_id === state.inv2))!
  expect(r2.status).toBe('in_review')
  state.req2 = r2.id
  await admin.dispose()
})

test('finance approves the request in review in its inbox, with a comment', async ({ page }) => {
  await signIn(page, 'finance')
  await page.goto('/app/financing/inbox')
  const item = page.getByTestId(`inbox-request-${state.req2}`)
  await expect(item).toContainText(eur('5400.00'))
  await expect(item.getByTestId(`inbox-failed-${state.req2}`)).toContainText('Automatic decision ceiling')
  await expectAccessible(page, 'the financing inbox')
  await screenshot(page, 'workbench-financing-inbox.png')
  await item.getByRole('button', { name: 'Approve' }).click()
  await expect(item.getByTestId(`comment-${state.req2}-problem`)).toContainText('comment is required')
  await item.getByLabel('Comment (required)').fill('e2e: a known buyer, above the ceiling on purpose')
  await item.getByRole('button', { name: 'Approve' }).click()
  const decided = page.getByTestId(`decided-${state.req2}`)
  await expect(decided.getByTestId('request-status')).toHaveText('approved')
  await expect(page.getByTestId(`inbox-request-${state.req2}`)).toHaveCount(0)
  const admin = await adminApi()
  const r2 = await admin.call<{ status: string; comment: string; advance: string }>('GET', `/financing-requests/${state.req2}`)
  expect([r2.status, r2.comment, r2.advance]).toEqual(['approved', 'e2e: a known buyer, above the ceiling on purpose', '5400.00'])
  // the book links back and counts no request in review of this run
  await page.getByRole('link', { name: 'Book', exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Financing book' })).toBeVisible()
  await admin.dispose()
})

test('the buyer pays and the seller sees the advance repaid; its ledger balances sum to zero', async ({ page }) => {
  const buyer = await userApi('partner')
  await buyer.call('POST', `/invoices/${state.inv1}/settlements`, { json: { amount: '3700.00', paid_on: TODAY }, expect: 201 })
  await buyer.dispose()
  const seller = await userApi('partner2')
  await signIn(page, 'partner2')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Financing' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Financing' })).toBeVisible()
  const adv = page.getByTestId('my-advances')
  const row1 = adv.getByRole('row').filter({ has: page.getByRole('link', { name: String(state.inv1), exact: true }) })
  await expect(row1).toContainText('repaid')
  await expect(row1).toContainText(eur('3330.00'))
  const row2 = adv.getByRole('row').filter({ has: page.getByRole('link', { name: String(state.inv2), exact: true }) })
  await expect(row2).toContainText(eur('5400.00'))
  const admin = await adminApi()
  const advances = await admin.call<{ items: { invoice_id: number; status: string; outstanding: string }[] }>('GET', `/financing/advances?supplier_id=wholesale&programme_id=${state.programme}`)
  expect(advances.items.find((a) => a.invoice_id === state.inv1)).toMatchObject({ status: 'repaid', outstanding: '0.00' })
  expect(advances.items.find((a) => a.invoice_id === state.inv2)).toMatchObject({ outstanding: '5400.00' })
  const requests = page.getByTestId('my-requests')
  await expect(requests).toContainText(`Request ${state.req1}`)
  await expect(requests).toContainText(`Request ${state.req2}`)
  // by hand: advance 1 pays 3,330.00 − 33.30 − 7.40 = 3,289.30; advance 2 pays 5,400.00 − 54.00
  // (5,400 × 0.06 × 60/360) − 12.00 (0.2 % of 6,000) = 5,334.00; the payment of 3,700.00 repays
  // 3,330.00 and remits 370.00. Balances (received − given): supplier 3,289.30 + 5,334.00 + 370.00
  // = 8,993.30; financier −3,330.00 − 5,400.00 + 3,330.00 = −5,400.00; income 33.30 + 7.40 +
  // 54.00 + 12.00 = 106.70; buyer −3,700.00; collection 0.00: they sum to 0
  const want: [string, string][] = [['buyer', '-3700.00'], ['collection', '0.00'], ['financier', '-5400.00'], ['income', '106.70'], ['supplier', '8993.30']]
  expect(want.reduce((t, [, a]) => t + BigInt(a.replace('.', '')), 0n)).toBe(0n)
  const mine = await seller.call<{ balances: Record<string, Record<string, string>> }>('GET', '/financing/ledger?limit=1')
  for (const [account, amount] of want) {
    if (amount !== '0.00' || mine.balances.EUR?.[account] !== undefined) expect(mine.balances.EUR?.[account], account).toBe(amount)
    const row = page.getByTestId('my-balances').getByRole('row').filter({ has: page.getByText(account, { exact: true }) })
    if (mine.balances.EUR?.[account] !== undefined) await expect(row, account).toContainText(amount.startsWith('-') ? `-${eur(amount.slice(1))}` : eur(amount))
  }
  await seller.dispose()
  await expectAccessible(page, "the supplier's financing page")
  await admin.dispose()
})

test('a third partner sees none of it', async ({ page }) => {
  const admin = await adminApi()
  await admin.call('POST', '/users', { json: { name: THIRD, role: 'partner', partner_id: 'maker', password: PASSWORD }, expect: 201 })
  await admin.dispose()
  await signInAs(page, THIRD)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Financing' }).click()
  await expect(page.getByTestId('my-requests')).toContainText('No request yet')
  await expect(page.getByTestId('my-advances')).toContainText('No advance')
  await expect(page.getByTestId('my-balances')).toContainText('No entry yet')
  await page.goto(`/app/invoices/${state.inv1}`)
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible()
  const r = await page.request.get(`/financing-requests/${state.req1}`)
  expect(r.status()).toBe(404)
})

test('finance runs funding at risk on a finished plan and sees the API\'s figures', async ({ page }) => {
  test.setTimeout(240_000)
  const admin = await adminApi()
  state.plan = await fundedPlan(admin, () => userApi('planner'), BUNDLED_SCENARIO)
  await signIn(page, 'finance')
  await page.goto(`/app/plans/${state.plan}/funding`)
  const form = page.getByTestId('at-risk-form')
  await expect(form).toBeVisible()
  await form.getByLabel('Demand scenarios').fill('20')
  await form.getByLabel('Seed').fill('7')
  await form.getByLabel('Coefficient of variation', { exact: true }).fill('0.25')
  await form.getByLabel('Frozen periods (blank: all)').fill('1')
  await form.getByRole('button', { name: 'Compute funding at risk' }).click()
  const result = page.getByTestId('at-risk-result')
  await expect(result).toBeVisible({ timeout: 180_000 })
  const runId = Number(/Run (\d+)/.exec((await page.getByTestId('at-risk-summary').textContent()) ?? '')![1])
  const run = await admin.call<{ status: string; currency: string; params: Record<string, unknown>; partners: Record<string, number | string | null>[] }>(
    'GET', `/plans/${state.plan}/at-risk/${runId}`)
  expect(run.status).toBe('done')
  expect(run.params).toMatchObject({ scenarios: 20, seed: 7, cv: 0.25, frozen_periods: 1 })
  const money = (x: unknown) => (typeof x === 'number'
    ? new Intl.NumberFormat('en-US', { style: 'currency', currency: run.currency, minimumFractionDigits: 0, maximumFractionDigits: 0 }).format(x)
    : '—')
  const table = page.getByTestId('at-risk-partners')
  expect(run.partners.length).toBeGreaterThan(0)
  // with every period frozen only the retailer's sales move (and small_chain's retailer needs no
  // funding): one frozen period lets the re-plan move the upstream partners' needs
  expect(run.partners.some((p) => Number(p.peak_need_p95) > Number(p.peak_need_p50)), 'the scenarios spread some need').toBe(true)
  for (const p of run.partners) {
    const row = table.getByRole('row').filter({ has: page.getByRole('cell', { name: String(p.partner), exact: true }) })
    // each figure in its own column (the row holds all of them: P90 beside P95)
    const cells = row.getByRole('cell')
    const columns: [string, number, string][] = [['point_peak_need', 1, money(p.point_peak_need)], ['peak_need_p50', 2, money(p.peak_need_p50)],
      ['peak_need_p90', 3, money(p.peak_need_p90)], ['peak_need_p95', 4, money(p.peak_need_p95)],
      ['probability_lines_not_enough', 5, `${(100 * Number(p.probability_lines_not_enough)).toFixed(1)}%`],
      ['expected_financing_cost', 6, money(p.expected_financing_cost)]]
    for (const [k, i, text] of columns) await expect(cells.nth(i), `${String(p.partner)} ${k}`).toHaveText(text)
    await expect(page.getByTestId(`at-risk-fan-${String(p.partner)}`)).toBeVisible()
  }
  await expectAccessible(page, 'funding at risk')
  await page.getByTestId('at-risk-result').scrollIntoViewIfNeeded()
  await screenshot(page, 'workbench-at-risk.png')
  await admin.dispose()
})

test('the financing pages by keyboard and on a narrow screen (axe, no wider than a phone)', async ({ page }) => {
  const pages: ['finance' | 'partner2', string][] = [
    ['finance', '/app/financing'], ['finance', '/app/financing/inbox'], ['finance', '/app/financing/programmes'],
    ['partner2', '/app/financing'], ['partner2', `/app/invoices/${state.inv2}`],
  ]
  let who = ''
  for (const [role, url] of pages) {
    if (who !== role) {
      await page.setViewportSize({ width: 1280, height: 800 })
      if (who) await page.getByRole('button', { name: 'Sign out' }).click()
      await signIn(page, role)
      who = role
    }
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(url)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
    await expect(page.locator('.state-loading')).toHaveCount(0)
    await expectAccessible(page, `${url} as ${role} (narrow screen)`)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width, `${url} as ${role} is wider than the screen`).toBeLessThanOrEqual(390)
  }
  // the seller's request by keyboard: its confirmed invoice's programme, then the button
  await page.setViewportSize({ width: 1280, height: 800 })
  const seller = await userApi('partner2')
  const buyer = await userApi('partner')
  const id = await invoice(seller, buyer, `FIN-${RUN}-3`, '10', '10.00')
  await seller.dispose(); await buyer.dispose()
  await page.goto(`/app/invoices/${id}`)
  await page.getByLabel('Programme').focus()
  await page.keyboard.press('Tab')
  for (let i = 0; i < 12; i++) {
    if (await page.getByRole('button', { name: 'Request an advance' }).evaluate((b) => b === document.activeElement)) break
    await page.keyboard.press('Tab')
  }
  await expect(page.getByRole('button', { name: 'Request an advance' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('decision').getByTestId('request-status')).toHaveText('approved')
})
