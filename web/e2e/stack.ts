// The service under test: where it runs and who may sign in (shared by global setup and tests).
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO = resolve(WEB, '..')
export const STATE = join(WEB, 'e2e', '.state', 'stack.json')

export const PASSWORD = 'correct horse battery staple'

/** One user per role (the partner user belongs to the retailer, `shops`), and a user of a second
 *  partner (the wholesaler) whose data the first must never see. */
export const USERS = {
  admin: { name: 'ada', role: 'admin' },
  planner: { name: 'pia', role: 'planner' },
  finance: { name: 'finn', role: 'finance' },
  partner: { name: 'shopper', role: 'partner', partner: 'shops' },
  partner2: { name: 'wholly', role: 'partner', partner: 'wholesale' },
} as const

export const BUNDLED_SCENARIO = 'small_chain'

export interface StackState {
  baseURL: string
  databaseUrl: string
  dropDatabase: string | null
  tmp: string
  pids: number[]
  python: string
  /** A bearer token of the admin user (POST /users/{id}/tokens): the tests' view of the truth. */
  adminToken: string
}

export function readState(): StackState {
  return JSON.parse(readFileSync(STATE, 'utf8')) as StackState
}
