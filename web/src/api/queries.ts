// Query definitions per API resource (mirroring api/routes/): keys and fetchers in one place, so
// views share cache entries and invalidate them consistently. Each fetcher is a generated SDK call.
import { queryOptions } from '@tanstack/react-query'

import {
  diffVersions,
  getOneVersion,
  getScenario,
  getPlan,
  getTableColumns,
  listPlans,
  listScenarios,
  listVersions,
} from '../client/sdk.gen'
import type { PlanPublic, TablePage } from '../client/types.gen'
import { rowsFromColumns } from '../lib/columnar'
import { data } from './client'

/** The page size the API allows at most (JOINTPLAN_MAX_PAGE_SIZE's default). */
export const MAX_PAGE = 200

export const keys = {
  scenarios: ['scenarios'] as const,
  scenarioList: (limit: number, offset: number) => ['scenarios', 'list', limit, offset] as const,
  versions: (scenarioId: number) => ['scenarios', scenarioId, 'versions'] as const,
  version: (scenarioId: number, version: number) => ['scenarios', scenarioId, 'version', version] as const,
  diff: (scenarioId: number, from: number, to: number) => ['scenarios', scenarioId, 'diff', from, to] as const,
  plans: ['plans'] as const,
  planList: (filters: { scenarioId?: number; status?: string; limit: number; offset: number }) => ['plans', 'list', filters] as const,
  plan: (planId: number) => ['plans', planId] as const,
  planTable: (planId: number, table: string) => ['plans', planId, 'table', table] as const,
}

/** Every item of a paged API list (limit/offset), read MAX_PAGE at a time, in order; at most
 *  `cap` items (the rest is reported as `more`). For views that filter or group a whole list. */
export async function fetchAllPages<T>(page: (limit: number, offset: number) => Promise<{ items: T[]; total: number }>,
  cap = 5000): Promise<{ items: T[]; total: number; more: boolean }> {
  const items: T[] = []
  let total = 0
  for (let offset = 0; offset < cap; offset += MAX_PAGE) {
    const p = await page(Math.min(MAX_PAGE, cap - offset), offset)
    items.push(...p.items)
    total = p.total
    if (p.items.length === 0 || items.length >= p.total) break
  }
  return { items, total, more: items.length < total }
}

export const scenarioListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: keys.scenarioList(limit, offset),
  queryFn: () => data(listScenarios({ query: { limit, offset } })),
})

/** A scenario's name: the API has it only in the list (GET /scenarios), so the list is read a
 *  page at a time until the scenario is found (null when it is not there). */
export const scenarioNameQuery = (scenarioId: number) => queryOptions({
  queryKey: ['scenarios', scenarioId, 'name'] as const,
  queryFn: async () => {
    for (let offset = 0; ; offset += MAX_PAGE) {
      const page = await data(listScenarios({ query: { limit: MAX_PAGE, offset } }))
      const found = page.items.find((s) => s.id === scenarioId)
      if (found) return found.name
      if (offset + page.items.length >= page.total || page.items.length === 0) return null
    }
  },
  staleTime: 5 * 60_000,
})

/** A scenario's latest version with its ETag (what an edit's If-Match must name). */
export const latestVersionQuery = (scenarioId: number) => queryOptions({
  queryKey: ['scenarios', scenarioId, 'latest'] as const,
  queryFn: () => data(getScenario({ path: { scenario_id: scenarioId } })),
  staleTime: 0,
})

export const versionsQuery = (scenarioId: number) => queryOptions({
  queryKey: keys.versions(scenarioId),
  queryFn: () => data(listVersions({ path: { scenario_id: scenarioId } })),
})

export const versionQuery = (scenarioId: number, version: number) => queryOptions({
  queryKey: keys.version(scenarioId, version),
  queryFn: () => data(getOneVersion({ path: { scenario_id: scenarioId, version } })),
  staleTime: Infinity, // a version never changes
})

export const diffQuery = (scenarioId: number, from: number, to: number) => queryOptions({
  queryKey: keys.diff(scenarioId, from, to),
  queryFn: () => data(diffVersions({ path: { scenario_id: scenarioId }, query: { from, to } })),
  staleTime: Infinity,
})

export type PlanStatus = PlanPublic['status']
export const planRunning = (status: PlanStatus | undefined) => status === 'queued' || status === 'running'

export const planListQuery = (filters: { scenarioId?: number; status?: PlanStatus; limit: number; offset: number }) => queryOptions({
  queryKey: keys.planList(filters),
  queryFn: () => data(listPlans({ query: {
    limit: filters.limit, offset: filters.offset,
    ...(filters.scenarioId ? { scenario_id: filters.scenarioId } : {}),
    ...(filters.status ? { status: filters.status } : {}),
  } })),
})

/** A plan; polled every second while its job is queued or running (live progress). */
export const planQuery = (planId: number) => queryOptions({
  queryKey: keys.plan(planId),
  queryFn: () => data(getPlan({ path: { plan_id: planId } })),
  refetchInterval: (q) => (planRunning(q.state.data?.status) ? 1000 : false),
  staleTime: (q) => (q.state.data?.status === 'done' ? Infinity : 0),
})

/** Most rows of a table the API sends in one columnar response (GET /plans/{id}/tables/{name}/columns). */
export const MAX_COLUMN_ROWS = 200_000

/** Every row of a plan's result table, read column by column (one request up to MAX_COLUMN_ROWS
 *  rows, the rest in further slices), as a TablePage holding the whole table. */
export async function fetchWholeTable(planId: number, table: string): Promise<TablePage> {
  const slice = (offset: number) => data(getTableColumns({ path: { plan_id: planId, table }, query: { limit: MAX_COLUMN_ROWS, offset } }))
  const first = await slice(0)
  const items = rowsFromColumns(first.columns, first.data)
  for (let offset = items.length; offset < first.total && items.length > 0; ) {
    const next = rowsFromColumns(first.columns, (await slice(offset)).data)
    if (next.length === 0) break
    for (const r of next) items.push(r)
    offset += next.length
  }
  return { plan_id: planId, table, columns: first.columns, items, total: first.total, limit: first.total, offset: 0 }
}

export const planTableQuery = (planId: number, table: string) => queryOptions({
  queryKey: keys.planTable(planId, table),
  queryFn: () => fetchWholeTable(planId, table),
  staleTime: Infinity, // a done plan's tables never change
})
