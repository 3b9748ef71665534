import { chromium } from '@playwright/test'
const [base, id] = process.argv.slice(2)
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' })
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
page.on('console', (m) => console.log('console:', m.text()))
await page.goto(`${base}/app/`)
await page.getByLabel('Name').fill('bench-planner')
await page.getByLabel('Password').fill('bench planner passphrase')
await page.getByRole('button', { name: 'Sign in' }).click()
await page.getByTestId('whoami').waitFor()
await page.goto(`${base}/app/plans/${id}`)
await page.waitForTimeout(10000)
console.log(await page.evaluate(() => {
  const main = document.querySelector('main') ?? document.body
  const charts = [...document.querySelectorAll('figure.chart')]
  return { loading: !!main.querySelector('.state-loading'), obj: document.querySelector('[data-testid=objective]')?.textContent,
    kpi: !!document.querySelector('.kpis [data-kpi]'), charts: charts.map(c => [c.dataset.testid, c.querySelectorAll('.chart-canvas svg path').length]),
    td: !!document.querySelector('[data-testid=result-table] tbody tr:not(.spacer) td'), raf: 0 }
}))
console.log('raf', await page.evaluate(() => new Promise((r) => { const t = setTimeout(() => r('no raf in 3 s'), 3000); requestAnimationFrame(() => { clearTimeout(t); r('raf ok') }) })))
await browser.close()
