// Invoices between partners, through the pages as people use them, against the real service: the
// wholesaler (seller) records an invoice and uploads a CSV file, the retailer (buyer) confirms one,
// disputes another and pays the first in two parts until it is settled; finance sees them all and
// the hash chain intact; a third partner (the manufacturer) sees none of them. The amounts were
// worked by hand from docs/invoices.md (a line is quantity × price rounded half up to the cent) and
// each figure the page shows is compared with what the API holds (the admin's bearer token).
import type { Page } from '@playwright/test'

import { adminApi, allItems, type Api, fundedPlan, userApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO, PASSWORD } from './stack'

test.describe.configure({ mode: 'serial' })

const RUN = Date.now().toString(36).toUpperCase()
const N1 = `E2E-${RUN}-1` // recorded in the form: confirmed, then paid in two parts
const N2 = `E2E-${RUN}-2` // from the CSV file: disputed
const N3 = `E2E-${RUN}-3` // from the CSV file: confirmed behind the page's back, so its dispute is refused (409)

// by hand: 100 × 35.005 = 3,500.50; 3 × 0.335 = 1.005 → 1.01 (half up); total 3,501.51
const TOTAL1 = '3501.51'
const FIRST_PAYMENT = '1500.10'
const OPEN_AFTER_FIRST = '2001.41' // 3,501.51 − 1,500.10
// by hand: 10 × 12.50 + 4 × 7.25 = 125.00 + 29.00 = 154.00; 1 × 99.99 = 99.99
const TOTAL2 = '154.00'
const TOTAL3 = '99.99'

const HEADER = 'number,buyer_id,issue_date,due_date,currency,product,quantity,unit_price'
const GOOD_CSV = [HEADER,
  `${N2},shops,2027-01-15,2027-02-15,EUR,widget,10,12.50`,
  `${N2},shops,2027-01-15,2027-02-15,EUR,gadget,4,7.25`,
  `${N3},shops,2027-01-20,2027-02-19,EUR,widget,1,99.99`,
].join('\n') + '\n'
const BAD_CSV = [HEADER,
  `${N2},shops,2027-01-15,2027-02-15,EUR,widget,10,12.50`,
  `${N2},maker,2027-01-15,2027-02-15,EUR,gadget,4,7.25`, // row 2: another buyer than row 1 of the invoice
  `${N3},shops,2027-01-20,2027-02-19,EUR,widget,-1,99.99`, // row 3: a negative quantity
].join('\n') + '\n'

/** The amount as the page must write it (en-US, euro, cents): computed here, not by the app. */
const eur = (amount: string) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2 }).format(Number(amount))

interface Invoice { id: number; number: string; seller_id: string; buyer_id: string; total: string; paid: string; open: string; status: string }

async function byNumber(api: Api, number: string): Promise<Invoice> {
  const found = (await allItems<Invoice>(api, '/invoices?seller_id=wholesale')).find((i) => i.number === number)
  expect(found, `invoice ${number} in the API`).toBeTruthy()
  return found!
}

async function signInAs(page: Page, name: string): Promise<void> {
  await page.goto('/app/')
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('whoami')).toContainText(name)
}

const kpi = (page: Page, id: string) => page.locator(`[data-kpi="${id}"] .kpi-value`)

test('the seller records an invoice (the API\'s problems on their fields) and uploads a CSV file', async ({ page }) => {
  const admin = await adminApi()
  const before = (await admin.call<{ total: number }>('GET', '/invoices?limit=1')).total
  await signIn(page, 'partner2')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invoices' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Invoices' })).toBeVisible()
  await page.getByRole('link', { name: 'Record invoices' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Record invoices' })).toBeVisible()

  // an unknown buyer and a due date before the issue date: each named by the API on its own field;
  // then no such currency and a negative quantity (the API's schema refuses those first, together)
  await page.getByLabel('Invoice number').fill(N1)
  await page.getByLabel('Buyer (partner id)').fill('nobody')
  await page.getByLabel('Issue date').fill('2027-01-31')
  await page.getByLabel('Due date').fill('2027-01-01')
  await page.getByLabel('Line 1 product').fill('widget')
  await page.getByLabel('Line 1 quantity').fill('100')
  await page.getByLabel('Line 1 unit price').fill('35.005')
  await page.getByRole('button', { name: 'Record invoice' }).click()
  await expect(page.getByTestId('invoice-problems')).toContainText('Not recorded')
  await expect(page.getByTestId('inv-buyer_id-problem')).toContainText('nobody')
  await expect(page.getByLabel('Buyer (partner id)')).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByTestId('inv-due_date-problem')).toContainText('2027-01-01 is before the issue date 2027-01-31')
  await expect(page.getByTestId('inv-number-problem')).toHaveCount(0)
  await expectAccessible(page, 'the invoice form with problems')
  await page.getByLabel('Buyer (partner id)').fill('shops')
  await page.getByLabel('Due date').fill('2027-03-02')
  await page.getByLabel('Currency (ISO 4217)').fill('XYZ')
  await page.getByLabel('Line 1 quantity').fill('-100')
  await page.getByRole('button', { name: 'Record invoice' }).click()
  await expect(page.getByTestId('inv-currency-problem')).toContainText('ISO 4217')
  await expect(page.getByTestId('inv-line-0-quantity-problem')).toBeVisible()
  await expect(page.getByLabel('Line 1 quantity')).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByTestId('inv-buyer_id-problem')).toHaveCount(0)
  await page.getByLabel('Currency (ISO 4217)').fill('EUR')
  expect((await admin.call<{ total: number }>('GET', '/invoices?limit=1')).total).toBe(before) // nothing stored

  // corrected, with a second line whose amount rounds half up
  await page.getByLabel('Line 1 quantity').fill('100')
  await page.getByRole('button', { name: 'Add a line' }).click()
  await page.getByLabel('Line 2 product').fill('gadget')
  await page.getByLabel('Line 2 quantity').fill('3')
  await page.getByLabel('Line 2 unit price').fill('0.335')
  await page.getByRole('button', { name: 'Record invoice' }).click()
  await expect(page.getByTestId('invoice-recorded')).toContainText(`Recorded: invoice ${N1}, total ${eur(TOTAL1)} to shops`)
  const one = await byNumber(admin, N1)
  expect([one.seller_id, one.buyer_id, one.total, one.status]).toEqual(['wholesale', 'shops', TOTAL1, 'recorded'])
  // the same content again: nothing written
  await page.getByRole('button', { name: 'Record invoice' }).click()
  await expect(page.getByTestId('invoice-recorded')).toContainText(`Already recorded with the same content (nothing written): invoice ${N1}`)

  // the CSV template, from the link
  const template = page.getByRole('link', { name: 'Download the template' })
  const r = await page.request.get((await template.getAttribute('href'))!)
  expect(r.status()).toBe(200)
  expect((await r.text()).split('\n')[0]).toBe(HEADER)

  // a bad file: both bad rows listed with the API's reasons; nothing recorded
  const file = page.getByLabel('Invoices file (CSV)')
  await file.setInputFiles({ name: 'invoices-bad.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD_CSV) })
  await page.getByRole('button', { name: 'Check and record' }).click()
  await expect(page.getByTestId('refused')).toContainText('Nothing was stored')
  const rows = page.getByTestId('refused-rows').locator('tbody tr')
  await expect(rows).toHaveCount(2)
  await expect(rows.nth(0)).toHaveAttribute('data-row', '2')
  await expect(rows.nth(0)).toContainText(`buyer_id: maker differs from row 1 of invoice '${N2}' (shops)`)
  await expect(rows.nth(0).locator('td').nth(1)).toHaveText('3') // line 3 of the file
  await expect(rows.nth(1)).toHaveAttribute('data-row', '3')
  await expect(rows.nth(1)).toContainText(`${N3},shops,2027-01-20,2027-02-19,EUR,widget,-1,99.99`)
  await expect(rows.nth(1)).toContainText('quantity:')
  await expectAccessible(page, 'a refused invoice file')
  expect((await admin.call<{ total: number }>('GET', '/invoices?limit=1')).total).toBe(before + 1)

  // the good file: two invoices; sent again, both already there
  await file.setInputFiles({ name: 'invoices.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD_CSV) })
  await page.getByRole('button', { name: 'Check and record' }).click()
  await expect(page.getByTestId('upload-result')).toContainText('2 invoices recorded.')
  await expect(page.getByTestId('upload-result').getByRole('row').filter({ hasText: N2 })).toContainText(eur(TOTAL2))
  await expect(page.getByTestId('upload-result').getByRole('row').filter({ hasText: N3 })).toContainText(eur(TOTAL3))
  expect((await byNumber(admin, N2)).total).toBe(TOTAL2)
  expect((await byNumber(admin, N3)).total).toBe(TOTAL3)
  await file.setInputFiles({ name: 'invoices.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD_CSV) })
  await page.getByRole('button', { name: 'Check and record' }).click()
  await expect(page.getByTestId('upload-result')).toContainText('0 invoices recorded, 2 already recorded with the same content.')

  // its sales, filtered by the buyer: the three, as the API has them
  await page.goto('/app/invoices?side=sales&buyer=shops')
  const list = page.getByTestId('invoice-list')
  for (const [n, total] of [[N1, TOTAL1], [N2, TOTAL2], [N3, TOTAL3]] as const) {
    await expect(list.getByRole('row').filter({ hasText: n })).toContainText(eur(total))
  }
  // the seller sees its invoice, but has no buyer's step on it
  await list.getByRole('link', { name: N1 }).click()
  await expect(page.getByRole('heading', { level: 1, name: `Invoice ${N1}` })).toBeVisible()
  await expect(kpi(page, 'total')).toHaveText(eur(TOTAL1))
  await expect(page.getByTestId('invoice-lines').locator('tbody tr').nth(1)).toContainText(eur('1.01'))
  await expect(page.getByRole('button', { name: 'Confirm invoice' })).toHaveCount(0)
  await admin.dispose()
})

test('the buyer confirms one, disputes another (a reason required) and pays the first in two parts until settled', async ({ page }) => {
  const admin = await adminApi()
  const [i1, i2, i3] = [await byNumber(admin, N1), await byNumber(admin, N2), await byNumber(admin, N3)]
  await signIn(page, 'partner')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invoices' }).click()
  await page.getByLabel('Side').selectOption('purchases')
  await page.getByLabel('Seller').fill('wholesale')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await expect(page).toHaveURL(/side=purchases/)
  await expect(page.getByTestId('invoice-list').getByRole('row').filter({ hasText: N1 })).toContainText('recorded')
  await expectAccessible(page, "the buyer's invoices")

  // confirm the first
  await page.getByTestId('invoice-list').getByRole('link', { name: N1 }).click()
  await expect(page.getByRole('heading', { level: 1, name: `Invoice ${N1}` })).toBeVisible()
  await expectAccessible(page, 'an invoice to confirm')
  await page.getByRole('button', { name: 'Confirm invoice' }).click()
  await expect(kpi(page, 'status')).toHaveText('confirmed')
  expect((await admin.call<Invoice>('GET', `/invoices/${i1.id}`)).status).toBe('confirmed')

  // the first payment: more than is open is the API's 409, a date before the issue its 422 on the field
  await expect(page.getByTestId('open-amount')).toContainText(`Open: ${eur(TOTAL1)} of ${eur(TOTAL1)}`)
  await page.getByLabel(/Amount paid/).fill('4000')
  await expect(page.getByTestId('open-after')).toContainText(`${eur('498.49')} more than is open`)
  await page.getByLabel('Paid on').fill('2027-02-10')
  await page.getByRole('button', { name: 'Record payment' }).click()
  await expect(page.getByTestId('buyer-refusal')).toContainText(`Conflict: amount 4000.00 EUR is more than the ${TOTAL1} EUR open on invoice ${i1.id}`)
  await page.getByLabel(/Amount paid/).fill(FIRST_PAYMENT)
  await page.getByLabel('Paid on').fill('2027-01-30')
  await page.getByRole('button', { name: 'Record payment' }).click()
  await expect(page.getByTestId('pay-date-problem')).toContainText("is before the invoice's issue date 2027-01-31")
  await expect(page.getByLabel('Paid on')).toHaveAttribute('aria-invalid', 'true')
  await expectAccessible(page, 'a refused payment')
  await page.getByLabel('Paid on').fill('2027-02-10')
  await page.getByLabel('Reference (optional)').fill('T-1')
  await expect(page.getByTestId('open-after')).toContainText(`Open after this payment: ${eur(OPEN_AFTER_FIRST)}`)
  await page.getByRole('button', { name: 'Record payment' }).click()
  await expect(page.getByTestId('paid')).toContainText(`${eur(FIRST_PAYMENT)} recorded; ${eur(OPEN_AFTER_FIRST)} still open.`)
  await expect(kpi(page, 'open')).toHaveText(eur(OPEN_AFTER_FIRST))
  await expect(kpi(page, 'paid')).toHaveText(eur(FIRST_PAYMENT))
  let api = await admin.call<Invoice>('GET', `/invoices/${i1.id}`)
  expect([api.paid, api.open, api.status]).toEqual([FIRST_PAYMENT, OPEN_AFTER_FIRST, 'confirmed'])

  // the second: all that is open; settled
  await page.getByRole('button', { name: 'Pay all that is open' }).click()
  await expect(page.getByLabel(/Amount paid/)).toHaveValue(OPEN_AFTER_FIRST)
  await page.getByLabel('Paid on').fill('2027-03-01')
  await page.getByRole('button', { name: 'Record payment' }).click()
  await expect(kpi(page, 'status')).toHaveText('settled')
  await expect(kpi(page, 'open')).toHaveText(eur('0.00'))
  await expect(kpi(page, 'paid')).toHaveText(eur(TOTAL1))
  await expect(page.getByTestId('buyer-done')).toContainText('Paid in full')
  const payments = page.getByTestId('invoice-payments').locator('tbody tr')
  await expect(payments).toHaveCount(2)
  await expect(payments.nth(0)).toContainText(eur(FIRST_PAYMENT))
  await expect(payments.nth(0)).toContainText('T-1')
  await expect(payments.nth(1)).toContainText(eur(OPEN_AFTER_FIRST))
  await expect(payments.nth(1)).toContainText(eur(TOTAL1)) // paid so far
  api = await admin.call<Invoice>('GET', `/invoices/${i1.id}`)
  expect([api.paid, api.open, api.status]).toEqual([TOTAL1, '0.00', 'settled'])
  // its history: recorded, confirmed, two payments, each a link of the chain
  await expect(page.getByTestId('invoice-events').locator('tbody tr')).toHaveCount(4)
  await screenshot(page, 'workbench-invoice.png')

  // dispute the second: a reason is required
  await page.goto(`/app/invoices/${i2.id}`)
  await page.getByRole('button', { name: 'Dispute invoice' }).click()
  await expect(page.getByTestId('dispute-reason-problem')).toContainText('a dispute needs a reason')
  await page.getByLabel('Reason for a dispute (required)').fill('4 gadgets invoiced, 3 delivered')
  await page.getByRole('button', { name: 'Dispute invoice' }).click()
  await expect(kpi(page, 'status')).toHaveText('disputed')
  await expect(page.getByTestId('invoice-events')).toContainText('reason: 4 gadgets invoiced, 3 delivered')
  expect((await admin.call<Invoice>('GET', `/invoices/${i2.id}`)).status).toBe('disputed')

  // the third, confirmed meanwhile (another session of the buyer): the stale page's dispute is the API's 409
  await page.goto(`/app/invoices/${i3.id}`)
  await expect(page.getByRole('button', { name: 'Dispute invoice' })).toBeVisible()
  const buyer = await userApi('partner')
  await buyer.call('POST', `/invoices/${i3.id}/confirm`, { expect: 200 })
  await page.getByLabel('Reason for a dispute (required)').fill('late')
  await page.getByRole('button', { name: 'Dispute invoice' }).click()
  await expect(page.getByTestId('buyer-refusal')).toContainText(`Conflict: invoice ${i3.id} is confirmed: only a recorded invoice can be disputed`)
  await expect(kpi(page, 'status')).toHaveText('confirmed') // the page read the invoice again
  await buyer.dispose()
  await admin.dispose()
})

test('finance sees every invoice with the figures the API holds, and the hash chain intact', async ({ page }) => {
  const admin = await adminApi()
  await signIn(page, 'finance')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invoices' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Invoices' })).toBeVisible()
  await page.getByLabel('Seller').selectOption('wholesale')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  const list = page.getByTestId('invoice-list')
  for (const n of [N1, N2, N3]) {
    const api = await byNumber(admin, n)
    const row = list.getByRole('row').filter({ hasText: n })
    await expect(row).toContainText(api.status)
    await expect(row.locator('td').nth(5)).toHaveText(eur(api.total))
    await expect(row.locator('td').nth(6)).toHaveText(eur(api.paid))
    await expect(row.locator('td').nth(7)).toHaveText(eur(api.open))
  }
  // due before 2027-03-01: the two of the file (due in February), not the first (due 2 March)
  await page.getByLabel('Due before').fill('2027-03-01')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await expect(list.getByRole('row').filter({ hasText: N2 })).toHaveCount(1)
  await expect(list.getByRole('row').filter({ hasText: N1 })).toHaveCount(0)
  await page.getByLabel('Status').selectOption('disputed')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await expect(list.getByRole('row').filter({ hasText: N3 })).toHaveCount(0)
  await expect(list.getByRole('row').filter({ hasText: N2 })).toContainText('disputed')

  await page.getByRole('button', { name: 'Verify the chain' }).click()
  const chain = page.getByTestId('chain-state')
  await expect(chain).toHaveAttribute('data-intact', 'true')
  const v = await admin.call<{ intact: boolean; events: number; invoices: number; head: { seq: number; hash: string } }>('GET', '/invoices/verify')
  expect(v.intact).toBe(true)
  // this file's steps, each one link: N1 recorded, confirmed, paid twice; N2 recorded, disputed; N3 recorded, confirmed
  const kinds = await Promise.all([N1, N2, N3].map(async (n) =>
    (await admin.call<{ events: { kind: string }[] }>('GET', `/invoices/${(await byNumber(admin, n)).id}`)).events.map((e) => e.kind)))
  expect(kinds).toEqual([['recorded', 'confirmed', 'settlement', 'settlement'], ['recorded', 'disputed'], ['recorded', 'confirmed']])
  expect(v.events).toBeGreaterThanOrEqual(8)
  await expect(chain).toContainText(`Intact: ${v.events.toLocaleString('en-US')} events of ${v.invoices.toLocaleString('en-US')} invoice`)
  await expect(page.getByTestId('chain-head')).toHaveText(v.head.hash)
  await expectAccessible(page, "finance's invoices")
  await screenshot(page, 'workbench-invoices-finance.png')

  // an invoice's page: no buyer's step for finance
  await page.goto(`/app/invoices/${(await byNumber(admin, N1)).id}`)
  await expect(kpi(page, 'status')).toHaveText('settled')
  await expect(page.getByRole('button', { name: 'Record payment' })).toHaveCount(0)
  await admin.dispose()
})

test('a third partner sees none of them: not listed, and "not found" by URL as the API says', async ({ page }) => {
  const admin = await adminApi()
  const name = `maker-${RUN.toLowerCase()}`
  await admin.call('POST', '/users', { json: { name, role: 'partner', partner_id: 'maker', password: PASSWORD }, expect: 201 })
  const ids = [await byNumber(admin, N1), await byNumber(admin, N2), await byNumber(admin, N3)].map((i) => i.id)
  await signInAs(page, name)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invoices' }).click()
  await expect(page.getByTestId('invoice-list')).toBeVisible()
  const text = await page.getByTestId('invoice-list').innerText()
  for (const n of [N1, N2, N3]) expect(text.includes(n), `the manufacturer's list shows ${n}`).toBe(false)
  for (const id of ids) {
    expect((await page.request.get(`/invoices/${id}`)).status()).toBe(404)
    await page.goto(`/app/invoices/${id}`)
    await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible()
    await expect(page.getByText(eur(TOTAL1))).toHaveCount(0)
  }
  await expectAccessible(page, "another partner's invoice")
  await admin.dispose()
})

test("the seller invoices its shipments in a finished plan, by the plan's number", async ({ page }) => {
  const admin = await adminApi()
  const planId = await fundedPlan(admin, () => userApi('planner'), BUNDLED_SCENARIO)
  const fromPlan = async () => (await allItems<Invoice & { plan_id: number | null; issue_date: string; currency: string }>(admin, '/invoices?seller_id=wholesale'))
    .filter((i) => i.plan_id === planId)
  expect(await fromPlan()).toEqual([])
  await signIn(page, 'partner2')
  await page.goto('/app/invoices/new')
  const form = page.getByTestId('plan-invoices-form')
  await form.getByLabel('Plan number').fill(String(planId))
  // a period the plan does not have: the API's 422 on the field
  await form.getByLabel(/^Periods/).fill('0, 9999')
  await form.getByRole('button', { name: 'Invoice the shipments' }).click()
  await expect(page.getByTestId('plan-periods-problem')).toContainText('period 9999')
  expect(await fromPlan()).toEqual([])
  // the first two periods, then all: those two already there
  await form.getByLabel(/^Periods/).fill('0, 1')
  await form.getByRole('button', { name: 'Invoice the shipments' }).click()
  const result = page.getByTestId('plan-invoices-result')
  await expect(result).toContainText('recorded')
  const two = await fromPlan()
  expect(two.length).toBeGreaterThan(0)
  await expect(result).toContainText(`${two.length} invoice${two.length === 1 ? '' : 's'} recorded.`)
  await form.getByLabel(/^Periods/).fill('')
  await form.getByRole('button', { name: 'Invoice the shipments' }).click()
  await expect(result).toContainText('already recorded')
  const all = await fromPlan()
  expect(all.length).toBeGreaterThan(two.length)
  await expect(result).toContainText(`${all.length - two.length} invoices recorded, ${two.length} already recorded with the same content.`)
  const rows = result.locator('tbody tr')
  await expect(rows).toHaveCount(all.length)
  for (const inv of all) {
    expect(inv.number).toBe(`PLAN${planId}-${inv.buyer_id}-${inv.issue_date}`)
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: inv.currency, minimumFractionDigits: inv.total.split('.')[1]?.length ?? 0 })
    await expect(rows.filter({ hasText: inv.number })).toContainText(fmt.format(Number(inv.total)))
  }
  await expectAccessible(page, "a plan's invoices")
  await admin.dispose()
})

test('the invoice pages by keyboard, and on a narrow screen (axe, no wider than a phone)', async ({ page }) => {
  await signIn(page, 'partner')
  // Tab from the top of the page reaches the main navigation's Invoices
  const seen: string[] = []
  for (let i = 0; i < 12 && seen.at(-1) !== 'Invoices'; i++) {
    await page.keyboard.press('Tab')
    seen.push((await page.evaluate(() => document.activeElement?.textContent ?? '')).trim())
  }
  expect(seen.at(-1)).toBe('Invoices')
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { level: 1, name: 'Invoices' })).toBeVisible()
  // the filters in order; Enter in one applies them
  await page.getByLabel('Side').focus()
  await page.keyboard.press('Tab')
  await expect(page.getByLabel('Status')).toBeFocused()
  await page.keyboard.press('Tab')
  await expect(page.getByLabel('Due before')).toBeFocused()
  await page.getByLabel('Due before').fill('2027-03-01')
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(/due_before=2027-03-01/)
  await expect(page.getByTestId('invoice-list').getByRole('link', { name: N1 })).toHaveCount(0) // due 2 March
  // an invoice by keyboard
  const link = page.getByTestId('invoice-list').getByRole('link', { name: N2 })
  await link.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('heading', { level: 1, name: `Invoice ${N2}` })).toBeVisible()
  for (const [what, url] of [['an invoice', page.url()], ['the invoices', '/app/invoices'], ['the invoice form', '/app/invoices/new']] as const) {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(url)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
    await expect(page.getByRole('status').filter({ hasText: 'Loading' })).toHaveCount(0)
    await expectAccessible(page, `${what} (narrow screen)`)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width, `${what} is wider than the screen`).toBeLessThanOrEqual(390)
  }
})
