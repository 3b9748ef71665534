// Start the service under test: a fresh database (a SQLite file in a temporary directory, or a
// new PostgreSQL database on the server of JOINTPLAN_TEST_POSTGRES_URL), `jointplan serve` on a
// free port serving web/dist, one `jointplan worker`; then one user per role with a password
// (`jointplan users create --password-stdin`), the chain's partners and the bundled scenario.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { BUNDLED_SCENARIO, PASSWORD, REPO, STATE, type StackState, USERS, WEB } from './stack'

export function python(): string {
  if (process.env.JOINTPLAN_PYTHON) return process.env.JOINTPLAN_PYTHON
  const venv = join(REPO, '.venv', 'bin', 'python')
  return existsSync(venv) ? venv : 'python3'
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** A fresh PostgreSQL database next to the one JOINTPLAN_TEST_POSTGRES_URL names. */
export function freshPostgres(py: string, env: NodeJS.ProcessEnv, serverUrl: string): { url: string; name: string } {
  const name = `jp_e2e_${process.pid}_${Date.now()}`
  const url = execFileSync(py, ['-c', `
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    c.execute(text('CREATE DATABASE "' + sys.argv[2] + '"'))
admin.dispose()
print(url.set(database=sys.argv[2]).render_as_string(hide_password=False))
`, serverUrl, name], { cwd: REPO, env, encoding: 'utf8' }).trim()
  return { url, name }
}

async function waitHealthy(baseURL: string, proc: ChildProcess, log: string): Promise<void> {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`jointplan serve exited (${proc.exitCode}); see ${log}`)
    try {
      const r = await fetch(`${baseURL}/health`)
      if (r.ok) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`jointplan serve did not answer /health within 60 s; see ${log}`)
}

/** fetch, once more when the connection was closed under it (a kept-alive connection the
 *  service closed while a CLI call ran: the request never reached it). */
async function fetchRetry(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch {
    return fetch(url, init)
  }
}

/** A browser-like session of a user (cookie and CSRF token), for setting up data through the API. */
async function signedIn(baseURL: string, name: string) {
  const login = await fetchRetry(`${baseURL}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password: PASSWORD }) })
  if (!login.ok) throw new Error(`sign-in of ${name} failed: ${login.status} ${await login.text()}`)
  const { csrf_token } = (await login.json()) as { csrf_token: string }
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
  return {
    async call(method: string, path: string, body: unknown, expected: number): Promise<any> {
      const r = await fetchRetry(`${baseURL}${path}`, { method, headers: {
        'X-CSRF-Token': csrf_token, Cookie: cookie, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body) })
      if (r.status !== expected) throw new Error(`${method} ${path} as ${name}: ${r.status} ${await r.text()}`)
      return r.status === 204 ? null : r.json()
    },
  }
}

export default async function globalSetup(): Promise<void> {
  if (!existsSync(join(WEB, 'dist', 'index.html'))) {
    throw new Error('web/dist is not built: run `npm run build` in web/ (or `make web`) before the end-to-end tests')
  }
  const py = python()
  const tmp = mkdtempSync(join(tmpdir(), 'jointplan-e2e-'))
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: [REPO, process.env.PYTHONPATH].filter(Boolean).join(':') }
  let databaseUrl = `sqlite:///${join(tmp, 'jointplan.db')}`
  let dropDatabase: string | null = null
  if (process.env.JOINTPLAN_TEST_POSTGRES_URL) {
    const pg = freshPostgres(py, env, process.env.JOINTPLAN_TEST_POSTGRES_URL)
    databaseUrl = pg.url
    dropDatabase = pg.name
  }
  Object.assign(env, {
    JOINTPLAN_DATABASE_URL: databaseUrl,
    JOINTPLAN_WEB_DIST: join(WEB, 'dist'),
    JOINTPLAN_JOB_LEASE_SECONDS: '10',
  })
  const port = await freePort()
  const baseURL = `http://127.0.0.1:${port}`
  const cli = (args: string[], input?: string) =>
    execFileSync(py, ['-m', 'jointplan', ...args], { cwd: REPO, env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })

  const serveLog = join(tmp, 'serve.log')
  const serve = spawn(py, ['-m', 'jointplan', 'serve', '--port', String(port), '--workers', '1', '--no-access-log'],
    { cwd: REPO, env, detached: true, stdio: ['ignore', openSync(serveLog, 'a'), openSync(serveLog, 'a')] })
  const state: StackState = { baseURL, databaseUrl: databaseUrl.replace(/:[^:@/]*@/, ':***@'), dropDatabase, tmp, pids: [serve.pid!], python: py, adminToken: '' }
  mkdirSync(dirname(STATE), { recursive: true })
  writeFileSync(STATE, JSON.stringify(state, null, 2))
  await waitHealthy(baseURL, serve, serveLog) // it migrates the database first

  const workerLog = join(tmp, 'worker.log')
  const worker = spawn(py, ['-m', 'jointplan', 'worker'],
    { cwd: REPO, env, detached: true, stdio: ['ignore', openSync(workerLog, 'a'), openSync(workerLog, 'a')] })
  state.pids.push(worker.pid!)
  writeFileSync(STATE, JSON.stringify(state, null, 2))

  // users with passwords by the CLI; the chain's partners and the bundled scenario through the
  // API, as an admin and a planner would (a CLI call costs a Python start-up, seconds on 2 cores)
  const createUser = (u: { name: string; role: string; partner?: string }) =>
    cli(['users', 'create', u.name, '--role', u.role, ...(u.partner ? ['--partner', u.partner] : []), '--password-stdin'], `${PASSWORD}\n`)
  createUser(USERS.admin)
  const admin = await signedIn(baseURL, USERS.admin.name)
  const roles: Record<string, string> = { maker: 'manufacturer', wholesale: 'wholesaler', haul: 'transporter', shops: 'retailer' }
  for (const [id, role] of Object.entries(roles)) {
    await admin.call('POST', '/partners', { id, name: id, role }, 201)
  }
  // the second partner's user through the API (POST /users with a password), and the admin's
  // bearer token, with which the tests read what the API holds
  const p2 = USERS.partner2
  await admin.call('POST', '/users', { name: p2.name, role: p2.role, partner_id: p2.partner, password: PASSWORD }, 201)
  const me = (await admin.call('GET', '/auth/me', undefined, 200)) as { user: { id: number } }
  state.adminToken = ((await admin.call('POST', `/users/${me.user.id}/tokens`, undefined, 201)) as { token: string }).token
  writeFileSync(STATE, JSON.stringify(state, null, 2))
  await admin.call('POST', '/auth/logout', undefined, 204)
  for (const u of [USERS.planner, USERS.finance, USERS.partner]) createUser(u)

  const content = execFileSync(py, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))',
    join(REPO, 'scenarios', 'examples', `${BUNDLED_SCENARIO}.yaml`)], { cwd: REPO, env, encoding: 'utf8' })
  const planner = await signedIn(baseURL, USERS.planner.name)
  await planner.call('POST', '/scenarios', { name: BUNDLED_SCENARIO, content: JSON.parse(content), comment: 'the bundled example' }, 201)
  await planner.call('POST', '/auth/logout', undefined, 204)

  process.env.E2E_BASE_URL = baseURL
  console.log(`e2e: jointplan on ${baseURL} (${state.databaseUrl}); logs in ${tmp} (JOINTPLAN_E2E_KEEP=1 keeps them)`)
}
