// Query definitions of the collaboration's resources (api/routes: uploads, history, submissions,
// forecast_runs, exceptions, consensus, fva): keys and fetchers in one place, each a generated
// SDK call. What a role gets is what the API returns to it (a partner: its own items only).
import { queryOptions } from '@tanstack/react-query'

import {
  getConsensus,
  getException,
  getForecasts,
  getAccuracy,
  getFva,
  getLineage,
  getRun,
  getSubmission,
  getUpload,
  listConsensus,
  exceptionFacets,
  listExceptions,
  listResolutions,
  listRuns,
  listSubmissions,
  listUploads,
} from '../client/sdk.gen'
import type { ForecastRunPublic } from '../client/types.gen'
import { type ExceptionFilter, exceptionListParams } from '../lib/exceptions'
import { data } from './client'
import { fetchAllPages, MAX_PAGE } from './queries'

export const cpfrKeys = {
  uploads: ['uploads'] as const,
  uploadList: (limit: number, offset: number) => ['uploads', 'list', limit, offset] as const,
  upload: (id: number) => ['uploads', id] as const,
  history: ['history'] as const,
  submissions: ['submissions'] as const,
  submissionList: (limit: number, offset: number) => ['submissions', 'list', limit, offset] as const,
  submission: (id: number) => ['submissions', id] as const,
  exceptions: ['exceptions'] as const,
  exception: (id: string) => ['exceptions', id] as const,
  resolutions: (id: string) => ['exceptions', id, 'resolutions'] as const,
  consensus: ['consensus'] as const,
  consensusList: (limit: number, offset: number) => ['consensus', 'list', limit, offset] as const,
  consensusVersion: (version: number) => ['consensus', version] as const,
  fva: (freq: string, lag: number | null) => ['fva', freq, lag] as const,
  runs: ['forecast-runs'] as const,
  runList: (limit: number, offset: number) => ['forecast-runs', 'list', limit, offset] as const,
  run: (id: number) => ['forecast-runs', id] as const,
}

export const uploadListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: cpfrKeys.uploadList(limit, offset),
  queryFn: () => data(listUploads({ query: { limit, offset } })),
})

export const uploadQuery = (id: number) => queryOptions({
  queryKey: cpfrKeys.upload(id),
  queryFn: () => data(getUpload({ path: { upload_id: id } })),
})

/** A series' values as every read of the history uses them (the current version of each date). */
export const currentHistoryQuery = (series: string) => queryOptions({
  queryKey: [...cpfrKeys.history, 'current', series] as const,
  queryFn: async () => {
    const all = await fetchAllPages((limit, offset) => data(getLineage({ query: { series, current: true, limit, offset } })), 50_000)
    return all.items.map((p) => ({ date: p.date, quantity: p.quantity }))
  },
})

export const submissionListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: cpfrKeys.submissionList(limit, offset),
  queryFn: () => data(listSubmissions({ query: { limit, offset } })),
})

export const submissionQuery = (id: number) => queryOptions({
  queryKey: cpfrKeys.submission(id),
  queryFn: () => data(getSubmission({ path: { submission_id: id } })),
  staleTime: Infinity, // a version never changes
})

/** One page of the exceptions the caller sees (a partner: those involving it), filtered, counted
 *  and ordered (most severe and open first) by the API. */
export const exceptionListQuery = (filter: ExceptionFilter, limit: number, offset: number) => queryOptions({
  queryKey: [...cpfrKeys.exceptions, 'list', exceptionListParams(filter), limit, offset] as const,
  queryFn: () => data(listExceptions({ query: { ...exceptionListParams(filter), limit, offset } })),
})

/** The exceptions inbox's filter choices with their counts (over what the caller sees). */
export const exceptionFacetsQuery = queryOptions({
  queryKey: [...cpfrKeys.exceptions, 'facets'] as const,
  queryFn: () => data(exceptionFacets()),
})

export const exceptionQuery = (id: string) => queryOptions({
  queryKey: cpfrKeys.exception(id),
  queryFn: () => data(getException({ path: { exception_id: id } })),
})

export const resolutionsQuery = (id: string) => queryOptions({
  queryKey: cpfrKeys.resolutions(id),
  queryFn: () => data(listResolutions({ path: { exception_id: id } })),
})

export const consensusListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: cpfrKeys.consensusList(limit, offset),
  queryFn: () => data(listConsensus({ query: { limit, offset } })),
})

export const consensusQuery = (version: number) => queryOptions({
  queryKey: cpfrKeys.consensusVersion(version),
  queryFn: () => data(getConsensus({ path: { version } })),
  staleTime: Infinity, // a version never changes
})

export const fvaQuery = (freq: 'W' | 'M', lag: number | null) => queryOptions({
  queryKey: cpfrKeys.fva(freq, lag),
  queryFn: () => data(getFva({ query: { freq, ...(lag ? { lag } : {}) } })),
})

export const runListQuery = (limit: number, offset: number) => queryOptions({
  queryKey: cpfrKeys.runList(limit, offset),
  queryFn: () => data(listRuns({ query: { limit, offset } })),
})

export const runActive = (run: ForecastRunPublic | undefined) => run?.status === 'queued' || run?.status === 'running'

/** A forecast run; polled every second while its job is queued or running. */
export const runQuery = (id: number) => queryOptions({
  queryKey: cpfrKeys.run(id),
  queryFn: () => data(getRun({ path: { run_id: id } })),
  refetchInterval: (q) => (runActive(q.state.data) ? 1000 : false),
})

/** A finished run's forecast of one series (every row). */
export const runForecastQuery = (id: number, uniqueId: string) => queryOptions({
  queryKey: [...cpfrKeys.run(id), 'forecasts', uniqueId] as const,
  queryFn: () => fetchAllPages((limit, offset) => data(getForecasts({ path: { run_id: id }, query: { unique_id: uniqueId, limit, offset } }))),
  staleTime: Infinity,
})

/** A finished run's backtest accuracy of one series. */
export const runAccuracyQuery = (id: number, uniqueId: string) => queryOptions({
  queryKey: [...cpfrKeys.run(id), 'accuracy', uniqueId] as const,
  queryFn: () => data(getAccuracy({ path: { run_id: id }, query: { unique_id: uniqueId, limit: MAX_PAGE } })),
  staleTime: Infinity,
})
