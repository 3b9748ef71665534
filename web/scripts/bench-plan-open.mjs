// Opens plan pages in Chromium and times them (driven by benchmarks/web_plan_open.py, which starts
// the service): node scripts/bench-plan-open.mjs BASE_URL USER PASSWORD RUNS TIMEOUT_S PLAN_ID...
// For each plan and run, a fresh load of /app/plans/{id} (an empty query cache), then:
//   fetch_s   first to last byte of the plan's API requests (the plan, its tables, its scenario version)
//   render_s  from the last of those bytes to the page fully drawn: KPIs, every chart's SVG, the
//             first table's rows, no loading state left
//   total_s   from navigation start to fully drawn
// and, on the first run of each plan, the biggest table the charts read (inventory, else the
// first): switch the table picker to it, jump to its middle (unsorted), sort it by a number column.
// Progress goes to stderr, the figures (JSON) to stdout.
import { chromium } from '@playwright/test'

const [base, user, password, runsArg, timeoutArg, ...planArgs] = process.argv.slice(2)
const runs = Number(runsArg)
const timeout = Number(timeoutArg) * 1000
const plans = planArgs.map(Number)
const say = (msg) => process.stderr.write(`# ${new Date().toISOString().slice(11, 19)} ${msg}\n`)

const browser = await chromium.launch({ executablePath: process.env.JOINTPLAN_CHROMIUM ?? '/usr/bin/chromium' })
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
await context.addInitScript(() => performance.setResourceTimingBufferSize(1_000_000))
const page = await context.newPage()
page.setDefaultTimeout(timeout)

await page.goto(`${base}/app/`)
await page.getByLabel('Name').fill(user)
await page.getByLabel('Password').fill(password)
await page.getByRole('button', { name: 'Sign in' }).click()
await page.getByTestId('whoami').waitFor()
say(`signed in as ${user}`)

/** performance.now() once the plan page is fully drawn (polled every frame). */
function drawn() {
  const main = document.querySelector('main') ?? document.body
  if (main.querySelector('.state-loading')) return false
  if (!document.querySelector('[data-testid=objective]')?.textContent?.trim()) return false
  if (!document.querySelector('.kpis [data-kpi]')) return false
  const charts = [...document.querySelectorAll('figure.chart')]
  if (charts.length < 4 || charts.some((c) => !c.querySelector('.chart-canvas svg path'))) return false
  if (!document.querySelector('[data-testid=result-table] tbody tr:not(.spacer) td')) return false
  return performance.now()
}

function apiTimes(planId) {
  const entries = performance.getEntriesByType('resource').filter((e) =>
    e.name.includes(`/plans/${planId}`) || e.name.includes('/scenarios/'))
  return {
    requests: entries.length,
    start: Math.min(...entries.map((e) => e.startTime)),
    end: Math.max(...entries.map((e) => e.responseEnd)),
    bytes: entries.reduce((a, e) => a + (e.encodedBodySize || 0), 0),
  }
}

async function timed(action, condition, arg) {
  const t0 = await page.evaluate(action, arg)
  const t1 = await (await page.waitForFunction(condition, arg, { polling: 'raf', timeout })).jsonValue()
  return (t1 - t0) / 1000
}

// long loads say how far they are: API responses received so far
let responses = 0
page.on('requestfinished', (r) => { if (r.url().includes('/plans/')) responses++ })
let started = Date.now()
/** What the page still lacks (what drawn() waits for). */
function missing() {
  const out = []
  for (const s of document.querySelectorAll('.state-loading, .state-error')) out.push(s.textContent.trim().slice(0, 80))
  if (!document.querySelector('[data-testid=objective]')?.textContent?.trim()) out.push('objective')
  for (const c of document.querySelectorAll('figure.chart')) if (!c.querySelector('.chart-canvas svg path')) out.push(`empty ${c.dataset.testid}`)
  if (!document.querySelector('[data-testid=result-table] tbody tr:not(.spacer) td')) out.push('table rows')
  if (!document.querySelector('.kpis [data-kpi]')) out.push('KPI tiles')
  out.push(`${document.querySelectorAll('figure.chart').length} charts`)
  return out.join('; ')
}
const ticker = setInterval(() => {
  page.evaluate(missing).catch(() => '?').then((m) =>
    say(`  ... ${Math.round((Date.now() - started) / 1000)} s, ${responses} plan API responses so far; waiting for: ${m}`))
}, 15_000)

const out = []
for (const planId of plans) {
  for (let run = 0; run < runs; run++) {
    say(`plan ${planId}: run ${run + 1}/${runs}, opening /app/plans/${planId}`)
    started = Date.now()
    responses = 0
    await page.goto(`${base}/app/plans/${planId}`)
    const ready = await (await page.waitForFunction(drawn, undefined, { polling: 'raf', timeout })).jsonValue()
    const api = await page.evaluate(apiTimes, planId)
    const figures = {
      plan_id: planId, run: run + 1, requests: api.requests, bytes: api.bytes,
      fetch_s: (api.end - api.start) / 1000, render_s: (ready - api.end) / 1000, total_s: ready / 1000,
      charts: await page.locator('figure.chart').count(),
      chart_series: await page.evaluate(() => document.querySelectorAll('figure.chart .chart-canvas svg path').length),
    }
    if (run === 0) {
      const options = await page.locator('#table-select option').evaluateAll((os) => os.map((o) => o.value))
      const name = options.includes('inventory') ? 'inventory' : options[0]
      figures.table = name
      say(`plan ${planId}: drawn; switching the table to ${name}`)
      figures.table_switch_s = await timed((n) => {
        const sel = document.querySelector('#table-select')
        const t0 = performance.now()
        sel.value = n
        sel.dispatchEvent(new Event('change', { bubbles: true }))
        return t0
      }, (n) => {
        const cap = document.querySelector('[data-testid=result-table] caption')?.textContent ?? ''
        const row = document.querySelector('[data-testid=result-table] tbody tr:not(.spacer) td')
        return cap.toLowerCase().startsWith(n.replace('_', ' ')) && row ? performance.now() : false
      }, name)
      figures.table_rows = Number(await page.getByTestId('result-table').locator('table').getAttribute('aria-rowcount') ?? 0) - 1 // -1: not virtualised
      say(`plan ${planId}: turning to the middle of ${name}`)
      figures.page_turn_s = figures.table_rows < 0 ? null : await timed(() => {
        const box = document.querySelector('[data-testid=result-table]')
        const t0 = performance.now()
        box.scrollTop = box.scrollHeight / 2
        return t0
      }, () => {
        const box = document.querySelector('[data-testid=result-table]')
        const n = Number(box.querySelector('table').getAttribute('aria-rowcount'))
        const rows = [...box.querySelectorAll('tbody tr[aria-rowindex]')].map((r) => Number(r.getAttribute('aria-rowindex')))
        return rows.some((i) => Math.abs(i - n / 2) < 40) ? performance.now() : false
      })
      say(`plan ${planId}: sorting ${name}`)
      figures.sort_s = await timed(() => {
        const buttons = [...document.querySelectorAll('[data-testid=result-table] th.num button.sort')]
        const b = buttons.find((x) => x.textContent.startsWith('Inventory')) ?? buttons[buttons.length - 1]
        const t0 = performance.now()
        b.click()
        return t0
      }, () => {
        // the header's aria-sort and the sorted rows are committed to the page together
        return document.querySelector('[data-testid=result-table] th[aria-sort]') ? performance.now() : false
      })
    }
    say(`plan ${planId}: fetch ${figures.fetch_s.toFixed(2)} s, render ${figures.render_s.toFixed(2)} s, total ${figures.total_s.toFixed(2)} s`)
    out.push(figures)
  }
}
clearInterval(ticker)
await browser.close()
process.stdout.write(JSON.stringify(out) + '\n')
