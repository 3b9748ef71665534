// A partner user (of the retailer, `shops`) shares its sales history and forecast, and never
// reaches another partner's (the wholesaler's) data: not by URL (the API's "not found"), and no
// figure of the other partner appears on its pages. What the API holds is read with the admin's
// bearer token, independently of the pages.
import { adminApi, allItems, fundedPlan, userApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { BUNDLED_SCENARIO } from './stack'

const HEADER = 'product,site,date,quantity'
// a series of its own for this file (store-east), so that retracting its upload changes nothing else
const GOOD = [HEADER, 'widget,store-east,2026-01-01,512', 'widget,store-east,2026-02-01,533', 'gadget,store-east,2026-01-01,244'].join('\n') + '\n'
const BAD = [HEADER,
  'widget,store-east,2026-03-01,540',
  'widget,store-east,2026-02-30,551', // row 2: no such date
  'widget,store-east,2026-04-01,560',
  'gadget,store-east,2026-02-01,-12', // row 4: negative quantity
].join('\n') + '\n'

interface Upload { id: number; partner_id: string; row_count: number; retracted_at: string | null }
interface UploadDetail extends Upload { rows: { product: string; site: string; quantity: number }[] }
interface Submission { id: number; partner_id: string; version: number }
interface SubmissionDetail extends Submission { rows: { unique_id: string; value: number }[] }

test('a partner uploads a history file: two bad rows refused, nothing stored; then a good file is stored and retracted', async ({ page }) => {
  const admin = await adminApi()
  const before = await allItems<Upload>(admin, '/uploads?partner_id=shops')
  const seriesBefore = (await admin.call<{ total: number }>('GET', '/history/series')).total

  await signIn(page, 'partner')
  await expect(page.getByRole('heading', { level: 1, name: /^Welcome, / })).toBeVisible()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sales history' }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Sales history' })).toBeVisible()

  // the bad file: both bad rows listed, each with its reason, the rest not
  const file = page.getByLabel('Sales history file (CSV)')
  await file.setInputFiles({ name: 'pos-bad.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD) })
  await expect(page.getByTestId('picked-file')).toContainText('4 data rows')
  await page.getByRole('button', { name: 'Check and upload' }).click()
  const refused = page.getByTestId('refused')
  await expect(refused).toContainText('Nothing was stored')
  await expect(refused).toContainText('2 rows refused')
  const rows = page.getByTestId('refused-rows').locator('tbody tr')
  await expect(rows).toHaveCount(2)
  await expect(rows.nth(0)).toHaveAttribute('data-row', '2')
  await expect(rows.nth(0)).toContainText('widget,store-east,2026-02-30,551')
  await expect(rows.nth(0)).toContainText('date: unparseable or missing date')
  await expect(rows.nth(0).locator('td').nth(1)).toHaveText('3') // line 3 of the file
  await expect(rows.nth(1)).toHaveAttribute('data-row', '4')
  await expect(rows.nth(1)).toContainText('gadget,store-east,2026-02-01,-12')
  await expect(rows.nth(1)).toContainText('quantity: negative quantity')
  await expectAccessible(page, 'a refused upload')

  // nothing stored: the same uploads and series as before
  expect((await allItems<Upload>(admin, '/uploads?partner_id=shops')).map((u) => u.id)).toEqual(before.map((u) => u.id))
  expect((await admin.call<{ total: number }>('GET', '/history/series')).total).toBe(seriesBefore)

  // the good file: stored, listed
  await file.setInputFiles({ name: 'pos-good.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD) })
  await expect(page.getByTestId('refused')).toHaveCount(0)
  await page.getByRole('button', { name: 'Check and upload' }).click()
  await expect(page.getByTestId('upload-stored')).toContainText('3 rows of product, site')
  const after = await allItems<Upload>(admin, '/uploads?partner_id=shops')
  const added = after.filter((u) => !before.some((b) => b.id === u.id))
  expect(added.map((u) => [u.partner_id, u.row_count])).toEqual([['shops', 3]])
  const uploadId = added[0]!.id
  const listed = page.getByTestId('upload-list').getByRole('row').filter({ hasText: `Upload ${uploadId}` })
  await expect(listed).toContainText('Counts')

  // its page: the rows as stored; retract
  await listed.getByRole('link', { name: `Upload ${uploadId}` }).click()
  await expect(page.getByRole('heading', { level: 1, name: `Upload ${uploadId}` })).toBeVisible()
  await expect(page.getByTestId('upload-rows').locator('tbody tr')).toHaveCount(3)
  await expect(page.getByTestId('upload-rows')).toContainText('512.00')
  await page.getByRole('button', { name: 'Retract…' }).click()
  await page.getByRole('button', { name: `Retract upload ${uploadId}` }).click()
  await expect(page.getByTestId('upload-state')).toContainText('Retracted')
  expect((await admin.call<Upload>('GET', `/uploads/${uploadId}`)).retracted_at).not.toBeNull()
  await expectAccessible(page, 'an upload')
  await admin.dispose()
})

// the wholesaler's own series and figures (four digits, none of them the retailer's)
const OTHER_HISTORY = [HEADER, 'widget,dc-central,2026-10-01,7345', 'widget,dc-central,2026-11-01,8261', 'widget,dc-central,2026-12-01,9173'].join('\n') + '\n'
const OTHER_FORECAST = ['product,site,date,value', 'widget,dc-central,2027-01-01,6487', 'widget,dc-central,2027-02-01,6919'].join('\n') + '\n'
const OWN_FORECAST = ['product,site,date,value', 'widget,store-north,2027-01-01,813', 'widget,store-north,2027-02-01,880'].join('\n') + '\n'

const eur = (x: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(x)

/** Every way the page could write a number: 7345, 7,345, 7,345.00. */
const spellings = (x: number) => [String(x), x.toLocaleString('en-US'), x.toLocaleString('en-US', { minimumFractionDigits: 2 })]

test("a partner never reaches another partner's objects or figures", async ({ page }) => {
  const admin = await adminApi()
  const other = await userApi('partner2')
  const mine = await userApi('partner')
  const otherUpload = await other.call<Upload>('POST', '/uploads', { csv: OTHER_HISTORY, headers: { 'Idempotency-Key': 'e2e-wholesale-dc' } })
  const otherSub = await other.call<Submission>('POST', '/submissions?note=wholesale%20plan', { csv: OTHER_FORECAST, expect: 201 })
  const ownSub = await mine.call<Submission>('POST', '/submissions?note=my%20plan', { csv: OWN_FORECAST, expect: 201 })

  // the other partner's figures, as the API holds them (the admin's token): those of the series
  // the partner does not see (an exception on a series both forecast rightly shows both values),
  // less any that are also the partner's own figures
  const visible = new Set((await allItems<{ series: string }>(mine, '/history/series')).map((s) => s.series))
  const figures = async (partner: string, seriesFilter: (series: string) => boolean): Promise<Set<number>> => {
    const out = new Set<number>()
    for (const u of await allItems<Upload>(admin, `/uploads?partner_id=${partner}`)) {
      for (const r of (await admin.call<UploadDetail>('GET', `/uploads/${u.id}`)).rows) if (seriesFilter(`${r.product}/${r.site}`)) out.add(r.quantity)
    }
    for (const s of await allItems<Submission>(admin, `/submissions?partner_id=${partner}`)) {
      for (const r of (await admin.call<SubmissionDetail>('GET', `/submissions/${s.id}`)).rows) if (seriesFilter(r.unique_id)) out.add(r.value)
    }
    return out
  }
  const own = await figures('shops', () => true)
  const theirs = [...await figures('wholesale', (series) => !visible.has(series))].filter((x) => !own.has(x) && x >= 1000)
  expect(theirs).toEqual(expect.arrayContaining([7345, 8261, 9173, 6487, 6919]))

  // a finished plan's funding: the other partner's cash, period by period (whole euros), is its own
  const planId = await fundedPlan(admin, () => userApi('planner'), BUNDLED_SCENARIO)
  type Cash = { closing_cash: number; cash_before_financing: number }
  const cashOf = async (partner: string) => (await admin.call<{ tables: { cash: Cash[] } }>('GET', `/plans/${planId}/funding/${partner}`)).tables.cash
    .flatMap((r) => [r.closing_cash, r.cash_before_financing]).map((x) => Math.round(x))
  const ownCash = new Set(await cashOf('shops'))
  const theirCash = [...new Set(await cashOf('wholesale'))].filter((x) => !ownCash.has(x) && Math.abs(x) >= 1000)
  expect(theirCash.length).toBeGreaterThan(5)

  await signIn(page, 'partner')
  // by URL: the other partner's upload and forecast are "not found", in the API's words
  for (const [url, words] of [
    [`/app/uploads/${otherUpload.id}`, `upload ${otherUpload.id} not found`],
    [`/app/submissions/${otherSub.id}`, `submission ${otherSub.id} not found`],
    [`/app/plans/${planId}/funding?partner=wholesale`, 'funding of partner wholesale not found'],
  ] as const) {
    await page.goto(url)
    await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible()
    await expect(page.getByText(words)).toBeVisible()
  }

  // its pages: its own data, none of the other partner's figures
  const pages: [string, () => Promise<void>][] = [
    ['/app/', async () => { await expect(page.locator('[data-kpi="forecast"] .kpi-value')).not.toHaveText('…') }],
    ['/app/uploads', async () => { await expect(page.getByTestId('upload-list')).toBeVisible() }],
    ['/app/submissions', async () => { await expect(page.getByTestId('submission-list')).toContainText(`shops v${ownSub.version}`) }],
    [`/app/submissions/${ownSub.id}`, async () => { await expect(page.getByTestId('submission-rows')).toContainText('813') }],
    ['/app/exceptions', async () => { await expect(page.getByTestId('exception-list')).toBeVisible() }],
    ['/app/consensus', async () => { await expect(page.getByTestId('consensus-list')).toBeVisible() }],
    ['/app/fva', async () => { await expect(page.getByText('Scoring the forecasts')).toHaveCount(0) }],
    [`/app/plans/${planId}/funding`, async () => {
      await expect(page.getByTestId('funding-shops')).toBeVisible()
      await expect(page.getByRole('group', { name: 'Partner' }).getByRole('button')).toHaveText(['shops'])
      await page.getByTestId('chart-funding-cash').getByText('Data as a table').click()
    }],
  ]
  for (const [url, ready] of pages) {
    await page.goto(url)
    await ready()
    await expect(page.getByRole('status').filter({ hasText: 'Loading' })).toHaveCount(0)
    const text = await page.locator('body').innerText()
    for (const x of theirs) for (const s of spellings(x)) expect(text.includes(s), `${url} shows ${s}, a figure of another partner`).toBe(false)
    for (const x of theirCash) expect(text.includes(eur(x)), `${url} shows ${eur(x)}, another partner's cash`).toBe(false)
    await expectAccessible(page, `the partner page ${url}`)
  }
  // the partner's own menu: nothing about scenarios or plans (they hold every partner's costs)
  const nav = page.getByRole('navigation', { name: 'Main' })
  await expect(nav.getByRole('link', { name: 'Scenarios' })).toHaveCount(0)
  await expect(nav.getByRole('link', { name: 'Plans' })).toHaveCount(0)

  await page.goto('/app/')
  await expect(page.locator('[data-kpi="forecast"] .kpi-value')).toHaveText(/\d/)
  await screenshot(page, 'workbench-partner.png')
  for (const api of [admin, other, mine]) await api.dispose()
})
