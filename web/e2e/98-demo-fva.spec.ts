// `jointplan serve --demo` on a database of its own (a SQLite file, or a new PostgreSQL database
// when JOINTPLAN_TEST_POSTGRES_URL is set), signed in with the passwords it prints: forecast
// value added shows real scores for the retailer and the wholesaler, whose demo forecasts were
// made before the periods they forecast (the other tests submit only forecasts of periods still
// ahead, which FVA cannot score yet). Every figure on the page, for the planner and for each
// partner's own user, is the one GET /fva returns to the same user, formatted as the page does.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Page } from '@playwright/test'

import { expect, expectAccessible, test } from './fixtures'
import { freePort, freshPostgres, python } from './global-setup'
import { REPO, WEB } from './stack'

interface DemoUser { name: string; role: string; partner: string | null; password: string }
interface PartnerFva {
  partner: string; n: number; wape_statistical: number | null; wape_partner: number | null; fva_wape: number | null
  fva_mae: number; series: number; series_improved: number; share_improved: number
}
interface SeriesFva { partner: string; unique_id: string; n: number; wape_statistical: number | null; wape_partner: number | null; fva_wape: number | null; improved: boolean }
interface FvaReport { by_partner: PartnerFva[]; by_series: SeriesFva[]; notes: string[] }

// the page's formatting (web/src/lib/format.ts: en-US, no "-0")
const fmt = (x: number, options: Intl.NumberFormatOptions, digits: number) =>
  new Intl.NumberFormat('en-US', options).format(Math.round(x * 10 ** digits) === 0 ? 0 : x)
const pct = (x: number | null, d = 1) => (x === null ? '—'
  : fmt(x, { style: 'percent', minimumFractionDigits: d, maximumFractionDigits: d }, d + 2))
const num = (x: number, d = 0) => fmt(x, { minimumFractionDigits: d, maximumFractionDigits: d }, d)
// a gain has its sign, unless it rounds to zero
const signedPct = (x: number | null) => (x === null ? '—' : `${x > 0 && pct(x) !== pct(0) ? '+' : ''}${pct(x)}`)
const signedNum = (x: number, d: number) => `${x > 0 && num(x, d) !== num(0, d) ? '+' : ''}${num(x, d)}`

/** The demo's users as `serve --demo` prints them (user, role, [partner,] password). */
function parseUsers(out: string): DemoUser[] {
  const lines = out.replace(/\x1b\[[0-9;]*m/g, '').split('\n') // (without colours, should the console add them)
  const header = lines.findIndex((l) => /^\s*user\s+role\s+partner\s+password\s*$/.test(l))
  if (header < 0) return []
  const users: DemoUser[] = []
  for (const line of lines.slice(header + 1)) {
    const cells = line.trim().split(/\s+/)
    if (cells.length === 3) users.push({ name: cells[0]!, role: cells[1]!, partner: null, password: cells[2]! })
    else if (cells.length === 4) users.push({ name: cells[0]!, role: cells[1]!, partner: cells[2]!, password: cells[3]! })
    else break
  }
  return users
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.pid === undefined) return
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  try {
    process.kill(-proc.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = setTimeout(() => { try { process.kill(-proc.pid!, 'SIGKILL') } catch { /* gone */ } }, 15_000)
  await gone
  clearTimeout(timer)
}

async function signInAs(page: Page, user: DemoUser): Promise<void> {
  await page.goto('/app/')
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  await page.getByLabel('Name').fill(user.name)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('whoami')).toContainText(user.name)
}

async function fvaOf(page: Page): Promise<FvaReport> {
  const r = await page.request.get('/fva')
  expect(r.status(), await r.text()).toBe(200)
  return (await r.json()) as FvaReport
}

/** The FVA page shows exactly the rows and figures of `report`. */
async function expectPageShows(page: Page, report: FvaReport): Promise<void> {
  await page.goto('/app/fva')
  await expect(page.getByRole('heading', { level: 1, name: 'Forecast value added' })).toBeVisible()
  const rows = page.getByTestId('fva-partners').locator('tbody tr')
  await expect(rows).toHaveCount(report.by_partner.length)
  for (const [i, r] of report.by_partner.entries()) { // sorted by partner, as the API returns them
    await expect(rows.nth(i).locator('td')).toHaveText([
      r.partner, num(r.n), pct(r.wape_statistical), pct(r.wape_partner), signedPct(r.fva_wape), signedNum(r.fva_mae, 1),
      `${r.series_improved} of ${r.series} (${pct(r.share_improved, 0)})`,
    ])
  }
  const series = page.getByTestId('fva-series').locator('tbody tr')
  await expect(series).toHaveCount(report.by_series.length)
  for (const [i, r] of report.by_series.entries()) {
    await expect(series.nth(i).locator('td')).toHaveText([
      r.partner, r.unique_id, String(r.n), pct(r.wape_statistical), pct(r.wape_partner), signedPct(r.fva_wape), r.improved ? 'yes' : 'no',
    ])
  }
  await expect(page.getByTestId('fva-notes')).toHaveCount(report.notes.length ? 1 : 0)
  const chart = page.getByTestId('chart-fva')
  await expect(chart.locator('svg path').first()).toBeAttached()
  for (const r of report.by_partner) {
    const verb = r.fva_wape! > 0 ? 'improved on' : r.fva_wape! < 0 ? 'was worse than' : 'matched'
    await expect(chart.locator('.chart-canvas')).toHaveAttribute('aria-label',
      new RegExp(`${r.partner} ${verb} the statistical forecast by ${pct(Math.abs(r.fva_wape!)).replace('.', '\\.')} WAPE`))
  }
}

test('serve --demo: forecast value added shows real scores per partner, as GET /fva gives them', async ({ browser }) => {
  test.setTimeout(180_000)
  const py = python()
  const tmp = mkdtempSync(join(tmpdir(), 'jointplan-e2e-demo-'))
  const env: NodeJS.ProcessEnv = {
    ...process.env, PYTHONPATH: [REPO, process.env.PYTHONPATH].filter(Boolean).join(':'),
    JOINTPLAN_WEB_DIST: join(WEB, 'dist'), COLUMNS: '200',
  }
  let databaseUrl = `sqlite:///${join(tmp, 'jointplan-demo.db')}`
  let dropDatabase: string | null = null
  if (process.env.JOINTPLAN_TEST_POSTGRES_URL) {
    const pg = freshPostgres(py, env, process.env.JOINTPLAN_TEST_POSTGRES_URL)
    databaseUrl = pg.url
    dropDatabase = pg.name
  }
  const port = await freePort()
  const baseURL = `http://127.0.0.1:${port}`
  let out = ''
  const serve = spawn(py, ['-m', 'jointplan', 'serve', '--demo', '--database-url', databaseUrl, '--port', String(port),
    '--workers', '1', '--no-access-log', '--no-job-worker'], { cwd: tmp, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  serve.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  serve.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const context = await browser.newContext({ baseURL })
  try {
    await expect.poll(async () => {
      if (serve.exitCode !== null) throw new Error(`serve --demo exited (${serve.exitCode}):\n${out}`)
      return fetch(`${baseURL}/health`).then((r) => r.ok, () => false)
    }, { timeout: 90_000, intervals: [250] }).toBe(true)
    expect(out.replace(/\s+/g, ' ')).toContain("the retailer's and the wholesaler's forecast rounds")
    const users = parseUsers(out)
    const who = (key: string) => {
      const u = users.find((x) => x.partner === key || (x.partner === null && x.role === key))
      expect(u, `${key} in the printed users:\n${out}`).toBeTruthy()
      return u!
    }

    const page = await context.newPage()
    // the planner: every partner that submitted, scored against the statistical forecast
    await signInAs(page, who('planner'))
    const all = await fvaOf(page)
    expect(all.by_partner.map((r) => r.partner)).toEqual(['shops', 'wholesale'])
    expect(all.notes).toEqual([])
    for (const r of all.by_partner) {
      for (const v of [r.wape_statistical, r.wape_partner, r.fva_wape, r.fva_mae]) expect(Number.isFinite(v)).toBe(true)
      expect(r.n).toBeGreaterThan(0)
    }
    await expectPageShows(page, all)
    await expectAccessible(page, 'forecast value added on the demo')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()

    // each partner's own user: its own row, the same figures as the planner's
    for (const partner of ['shops', 'wholesale']) {
      await signInAs(page, who(partner))
      const own = await fvaOf(page)
      expect(own.by_partner).toEqual(all.by_partner.filter((r) => r.partner === partner))
      await expectPageShows(page, own)
      await page.goto('/app/') // its start page: the same value added
      const tile = page.locator('[data-kpi="fva"]')
      const fva = own.by_partner[0]!.fva_wape!
      await expect(tile.locator('.kpi-value')).toHaveText(`${fva > 0 ? '+' : ''}${pct(fva)}`)
      await expect(tile).toHaveAttribute('data-value', String(own.by_partner[0]!.fva_wape))
      await page.getByRole('button', { name: 'Sign out' }).click()
      await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
    }
  } finally {
    await context.close()
    await stop(serve)
    if (dropDatabase) {
      execFileSync(py, ['-c', `
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
admin = create_engine(make_url(sys.argv[1]).set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    c.execute(text('DROP DATABASE IF EXISTS "' + sys.argv[2] + '" WITH (FORCE)'))
admin.dispose()
`, process.env.JOINTPLAN_TEST_POSTGRES_URL!, dropDatabase], { cwd: REPO, stdio: 'inherit' })
    }
    rmSync(tmp, { recursive: true, force: true })
  }
})
