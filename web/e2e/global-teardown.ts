// Stop the service and worker of the run (their process groups), drop the PostgreSQL database
// made for it and remove the temporary directory (logs, the SQLite file), unless
// JOINTPLAN_E2E_KEEP=1 keeps it for a look after a failure.
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'

import { readState, REPO, STATE } from './stack'

async function stop(pid: number): Promise<void> {
  try {
    process.kill(-pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(-pid, 0)
    } catch {
      return
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // gone
  }
}

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE)) return
  const state = readState()
  for (const pid of [...state.pids].reverse()) await stop(pid)
  if (state.dropDatabase && process.env.JOINTPLAN_TEST_POSTGRES_URL) {
    execFileSync(state.python, ['-c', `
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
admin = create_engine(make_url(sys.argv[1]).set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    c.execute(text('DROP DATABASE IF EXISTS "' + sys.argv[2] + '" WITH (FORCE)'))
admin.dispose()
`, process.env.JOINTPLAN_TEST_POSTGRES_URL, state.dropDatabase], { cwd: REPO, stdio: 'inherit' })
  }
  if (process.env.JOINTPLAN_E2E_KEEP !== '1') rmSync(state.tmp, { recursive: true, force: true })
  else console.log(`e2e: logs and database kept in ${state.tmp}`)
  rmSync(STATE)
}
